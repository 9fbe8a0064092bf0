"""What the review server lets through: tokens, origins, and files that may be served.

The server listens on 127.0.0.1 only; every request needs the private link's token (``?token=`` on
the first visit, then an HttpOnly SameSite=Strict cookie); state-changing requests also need the
page's CSRF token in a header and a same-origin ``Origin``. Files are served only from inside OUT
(after resolving symlinks) or, for the player, the one recording a session's run.json names.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path, PurePosixPath

from vigcv.results.decisions import DB_NAME

COOKIE = "vigcv_review"


def cookie_name(port: int) -> str:
    """The token cookie of the server on ``port`` (browsers share cookies across ports, so two
    review pages open at once must not overwrite each other's)."""
    return f"{COOKIE}_{port}"


CSRF_HEADER = "X-Vigcv-Csrf"
# Nothing from another origin: scripts, styles, fonts, media and connections from this server only.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Exported documents (reports) served from OUT: their inline styles and data: pictures, no
# scripts at all, no forms; their clips from this server only (a sandbox would give the page an
# opaque origin, whose clip requests carry no cookie and so could not play).
DOCUMENT_CSP = (
    "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "media-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Files inside OUT that are never served (the decisions database and its journals).
PRIVATE_NAMES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm")


def new_token() -> str:
    """A random URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison; False for a missing token."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


def allowed_hosts(port: int) -> frozenset[str]:
    """``Host`` header values this server answers (guards against DNS rebinding)."""
    return frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})


def same_origin(origin: str | None, *, port: int) -> bool:
    """Whether a request's ``Origin`` is this server."""
    return origin in {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}


def resolve_inside(root: Path, relative: str) -> Path | None:
    """The file ``relative`` names inside ``root``, or None if it is not a servable file there.

    ``relative`` is the already percent-decoded path (decoded once; a second layer of encoding
    stays literal). Rejected: absolute paths, ``..`` parts, NUL bytes, backslashes, hidden names,
    the review database, and anything whose real path (symlinks resolved) leaves ``root``.
    """
    if not relative or "\x00" in relative or "\\" in relative:
        return None
    pure = PurePosixPath(relative)
    if pure.is_absolute() or relative.startswith("/"):
        return None
    parts = pure.parts
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    if parts and parts[-1] in PRIVATE_NAMES:
        return None
    try:
        base = root.resolve(strict=True)
        candidate = (base / pure).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    if candidate.name in PRIVATE_NAMES:
        return None
    return candidate


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """An HTTP ``Range: bytes=...`` header as ``(first, last)`` inclusive byte offsets.

    Returns None when there is no (usable) single range -- serve the whole file -- and
    ``"unsatisfiable"`` when the range lies outside a file of ``size`` bytes.
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    spec = header[len("bytes=") :].strip()
    first_s, sep, last_s = spec.partition("-")
    if not sep:
        return None
    try:
        if first_s == "":
            n = int(last_s)
            if n <= 0:
                return "unsatisfiable"
            return (max(0, size - n), size - 1) if size else "unsatisfiable"
        first = int(first_s)
        last = int(last_s) if last_s else size - 1
    except ValueError:
        return None
    if first < 0 or first >= size or last < first:
        return "unsatisfiable"
    return first, min(last, size - 1)
