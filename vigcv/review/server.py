"""The review web app: a standard-library HTTP server on 127.0.0.1 over one OUT folder.

Routes (every one needs the token; see :mod:`vigcv.review.security`):

- ``GET /`` the page (``/?token=...`` sets the cookie and redirects to ``/``)
- ``GET /static/<file>`` the page's own JS and CSS (vigcv/review/static)
- ``GET /api/sessions`` the sessions with their status and counts of decisions
- ``GET /api/sessions/<s>`` a session's moments with their decisions attached, whose moments
  they are (``pair_label``) and the session's pairs (``pairs``: its own, then each more
  parent-child pair of a session of more than two people); ``?pair=<parent>-<child>`` gives one
  more pair's moments instead (so do the timeline and thumbnails below)
- ``GET /api/sessions/<s>/timeline`` curves, speech and duration for the timeline
- ``GET /api/sessions/<s>/thumb/<rank>.jpg`` a moment's thumbnail
- ``GET /media/<s>`` the session's recording (HTTP Range), the only file served from outside OUT
- ``GET /files/<path>`` a file inside OUT (exported clips and reports)
- ``POST /api/sessions/<s>/decision`` ``{"start", "end", "field", "value", "reviewer", "pair"}``
  (``pair`` ``""`` or absent: the session's own moments; ``"<parent>-<child>"``: that pair's,
  whose decisions are kept apart)
- ``POST /api/sessions/<s>/swap`` swap parent and child (re-derives outputs from the cache)
- ``GET /api/sessions/<s>/people`` the session's people: names, roles, who may be shown
- ``POST /api/sessions/<s>/people`` ``{"person", "name", "parent_figure", "index_child",
  "may_show", "reviewer", "version"}``: the guider names a person (remembered for the family)
- ``POST /api/sessions/<s>/people-decline`` ``{"person", "name"}``: "no, this is not <name>"
- ``POST /api/sessions/<s>/pair``: score the parent figure and index child the names give
- ``POST /api/sessions/<s>/export`` ``{"audience": "parent"|"guider"}`` (default parent): export
  this session into a new dated folder (the parent's version: kept moments only)
"""

from __future__ import annotations

import json
import mimetypes
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from vigcv.config import section_values
from vigcv.errors import VigcvError
from vigcv.family.dates import correct_date, split_session, visit_dates
from vigcv.io.frames import thumbnail_jpeg
from vigcv.results import failed_sessions, is_session, list_sessions, thumbnail_name
from vigcv.results.decisions import ReviewStore, StoreError, open_store
from vigcv.results.people import (
    PeopleConflict,
    apply_pair,
    current_pair,
    decline_name,
    family_names,
    name_person,
    named_pair,
    session_pairs,
    session_people,
)
from vigcv.results.relink import recording_state
from vigcv.results.sessions import (
    COMPONENT_NAMES,
    load_session,
    orphaned_decisions,
    pair_keys,
    reviewed_moments,
    timeline_data,
)
from vigcv.review import security

# ``exporter(out, sessions=[name], config=config, audience="parent"|"guider")`` -> an object with
# ``folder`` (Path), ``folders`` (the new dated folder of each session), ``files`` (list of Path)
# and ``clips`` (int): what the page's export button runs (vigcv.export.export_out, given by
# `vigcv review`; the review package does not import the exports).
Exporter = Callable[..., Any]

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_BODY = 64 * 1024  # bytes accepted in a POST body
CHUNK = 256 * 1024  # bytes per write when streaming a file


@dataclass(frozen=True)
class ReviewSettings:
    """The [review] section of the config, typed; build it with :meth:`from_config` (the
    defaults are those of configs/default.toml)."""

    match_iou: float
    context_s: float
    nudge_s: float
    thumb_width: int
    timeline_points: int
    thumb_cache: int

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> ReviewSettings:
        """The settings of ``config``; the keys it lacks (all, for None) from the default file."""
        return cls(**section_values(config, "review", cls.__dataclass_fields__))


@dataclass
class ReviewApp:
    """The state shared by all request threads of one server."""

    out: Path
    token: str
    csrf: str
    settings: ReviewSettings
    config: dict[str, Any] | None = None
    exporter: Exporter | None = None
    port: int = 0
    thumbs: OrderedDict[tuple[str, str, int, float], bytes] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    session_locks: dict[str, threading.Lock] = field(default_factory=dict)

    def store(self) -> ReviewStore:
        return open_store(self.out, min_iou=self.settings.match_iou)

    def session_lock(self, name: str) -> threading.Lock:
        with self.lock:
            return self.session_locks.setdefault(name, threading.Lock())


class _Reply(Exception):
    """Stop handling and answer with this status and message (JSON for the API)."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ReviewHandler(BaseHTTPRequestHandler):
    """One request. ``self.server.app`` is the :class:`ReviewApp`."""

    server_version = "vigcv-review"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    @property
    def app(self) -> ReviewApp:
        return self.server.app  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        return None  # quiet; the CLI prints only the URL

    # -- plumbing ---------------------------------------------------------------------------------

    def _headers(self, status: HTTPStatus, ctype: str, length: int, extra: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in security.SECURITY_HEADERS.items():
            if k not in extra:
                self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        ctype: str,
        *,
        extra: dict[str, str] | None = None,
    ) -> None:
        headers = {"Cache-Control": "no-store"}
        headers.update(extra or {})
        self._headers(status, ctype, len(body), headers)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        body = json.dumps(data, allow_nan=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _error(self, status: HTTPStatus, message: str) -> None:
        if self.path.startswith("/api/"):
            self._json({"error": message}, status)
        else:
            text = f"{status.value} {status.phrase}: {message}\n".encode()
            self._send(status, text, "text/plain; charset=utf-8")

    def _cookie_token(self) -> str | None:
        raw = self.headers.get("Cookie")
        if not raw:
            return None
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(raw)
        except Exception:
            return None
        morsel = jar.get(security.cookie_name(self.app.port))
        return morsel.value if morsel is not None else None

    def _check_host(self) -> None:
        if self.headers.get("Host") not in security.allowed_hosts(self.app.port):
            raise _Reply(HTTPStatus.FORBIDDEN, "unknown host; open the link vigcv review printed")

    def _authorised(self, query: dict[str, list[str]]) -> bool:
        if security.same_token(self._cookie_token(), self.app.token):
            return True
        given = query.get("token", [None])[0]
        return security.same_token(given, self.app.token)

    # -- dispatch ---------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch(post=False)

    def do_HEAD(self) -> None:
        self._dispatch(post=False)

    def do_POST(self) -> None:
        self._dispatch(post=True)

    def _dispatch(self, *, post: bool) -> None:
        try:
            self._check_host()
            parsed = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(parsed.query)
            if not self._authorised(query):
                raise _Reply(
                    HTTPStatus.FORBIDDEN,
                    "this page needs the link with its token that `vigcv review` printed",
                )
            path = urllib.parse.unquote(parsed.path, errors="strict")
            # split before unquoting: a family's session name "<family>/<visit>" is one part
            parts = [urllib.parse.unquote(p, errors="strict") for p in parsed.path.split("/")[1:]]
            if post:
                self._post(path, parts)
            else:
                self._get(path, parts, query)
        except _Reply as reply:
            self._error(reply.status, reply.message)
        except UnicodeDecodeError:
            self._error(HTTPStatus.BAD_REQUEST, "bad characters in the address")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away (e.g. the player seeks)

    def _get(self, path: str, parts: list[str], query: dict[str, list[str]]) -> None:
        if path == "/":
            if "token" in query:  # first visit: keep the token in a cookie, hide it from the URL
                name = security.cookie_name(self.app.port)
                cookie = f"{name}={self.app.token}; HttpOnly; SameSite=Strict; Path=/"
                self._send(
                    HTTPStatus.SEE_OTHER,
                    b"",
                    "text/plain",
                    extra={"Location": "/", "Set-Cookie": cookie},
                )
                return
            self._page()
        elif len(parts) == 2 and parts[0] == "static":
            self._static(parts[1])
        elif path == "/api/sessions":
            self._json(self._sessions())
        elif len(parts) == 3 and parts[:2] == ["api", "sessions"]:
            self._json(self._session(parts[2], _pair(query)))
        elif len(parts) == 4 and parts[:2] == ["api", "sessions"] and parts[3] == "timeline":
            session = self._load(parts[2], _pair(query))
            self._json(timeline_data(session, max_points=self.app.settings.timeline_points))
        elif len(parts) == 4 and parts[:2] == ["api", "sessions"] and parts[3] == "people":
            self._load(parts[2])
            self._json(self._people(parts[2]))
        elif len(parts) == 5 and parts[:2] == ["api", "sessions"] and parts[3] == "thumb":
            self._thumb(parts[2], parts[4], _pair(query))
        elif len(parts) == 2 and parts[0] == "media":
            session = self._load(parts[1])
            media = session.media
            if media is None:
                raise _Reply(HTTPStatus.NOT_FOUND, "the recording of this session is not found")
            self._file(media)
        elif len(parts) >= 2 and parts[0] == "files":
            target = security.resolve_inside(self.app.out, "/".join(parts[1:]))
            if target is None:
                raise _Reply(HTTPStatus.NOT_FOUND, "no such file in the output folder")
            self._file(target)
        else:
            raise _Reply(HTTPStatus.NOT_FOUND, "no such page")

    def _post(self, path: str, parts: list[str]) -> None:
        origin = self.headers.get("Origin")
        if not security.same_origin(origin, port=self.app.port):
            raise _Reply(HTTPStatus.FORBIDDEN, "cross-site request refused")
        site = self.headers.get("Sec-Fetch-Site")
        if site not in (None, "same-origin"):
            raise _Reply(HTTPStatus.FORBIDDEN, "cross-site request refused")
        if not security.same_token(self.headers.get(security.CSRF_HEADER), self.app.csrf):
            raise _Reply(HTTPStatus.FORBIDDEN, "missing or wrong CSRF token; reload the page")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/json":
            raise _Reply(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise _Reply(HTTPStatus.BAD_REQUEST, "bad Content-Length") from None
        if length > MAX_BODY or length < 0:
            raise _Reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request too large")
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            raise _Reply(HTTPStatus.BAD_REQUEST, "the request is not valid JSON") from None
        if not isinstance(body, dict):
            raise _Reply(HTTPStatus.BAD_REQUEST, "the request must be a JSON object")
        if len(parts) != 4 or parts[:2] != ["api", "sessions"]:
            raise _Reply(HTTPStatus.NOT_FOUND, "no such action")
        name, action = parts[2], parts[3]
        if action == "decision":
            self._json(self._decide(name, body))
        elif action == "swap":
            self._json(self._swap(name))
        elif action == "export":
            self._json(self._export(name, body))
        elif action == "visit-date":
            self._json(self._correct_visit_date(name, body))
        elif action == "people":
            self._json(self._name_person(name, body))
        elif action == "people-decline":
            self._json(self._decline_name(name, body))
        elif action == "pair":
            self._json(self._use_named_pair(name))
        else:
            raise _Reply(HTTPStatus.NOT_FOUND, "no such action")

    # -- pages and files --------------------------------------------------------------------------

    def _page(self) -> None:
        html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        settings = self.app.settings
        page_config = {
            "context_s": settings.context_s,
            "nudge_s": settings.nudge_s,
            "components": COMPONENT_NAMES,
        }
        html = html.replace("{{csrf}}", self.app.csrf).replace(
            "{{config}}", _attr(json.dumps(page_config))
        )
        self._send(HTTPStatus.OK, html.encode("utf-8"), "text/html; charset=utf-8")

    def _static(self, name: str) -> None:
        allowed = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}
        if name not in allowed or name == "index.html":
            raise _Reply(HTTPStatus.NOT_FOUND, "no such file")
        ctype = _content_type(allowed[name])
        self._send(HTTPStatus.OK, allowed[name].read_bytes(), ctype)

    def _file(self, path: Path) -> None:
        size = path.stat().st_size
        ctype = _content_type(path)
        wanted = security.parse_range(self.headers.get("Range"), size)
        extra = {"Accept-Ranges": "bytes", "Cache-Control": "no-store"}
        if path.suffix.lower() in (".html", ".htm", ".svg"):
            extra["Content-Security-Policy"] = security.DOCUMENT_CSP
        if wanted == "unsatisfiable":
            extra["Content-Range"] = f"bytes */{size}"
            self._headers(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, "text/plain", 0, extra)
            return
        if isinstance(wanted, tuple):
            first, last = wanted
            status = HTTPStatus.PARTIAL_CONTENT
            extra["Content-Range"] = f"bytes {first}-{last}/{size}"
        else:
            first, last, status = 0, size - 1, HTTPStatus.OK
        length = max(0, last - first + 1)
        self._headers(status, ctype, length, extra)
        if self.command == "HEAD":
            return
        with path.open("rb") as fh:
            fh.seek(first)
            left = length
            while left > 0:
                block = fh.read(min(CHUNK, left))
                if not block:
                    break
                self.wfile.write(block)
                left -= len(block)

    # -- API --------------------------------------------------------------------------------------

    def _load(self, name: str, pair: str = "") -> Any:
        try:
            session = load_session(self.app.out, name)
        except KeyError:
            raise _Reply(HTTPStatus.NOT_FOUND, f"no session named {name!r} here") from None
        if not pair:
            return session
        try:
            return load_session(self.app.out, name, pair=pair)
        except KeyError:
            raise _Reply(
                HTTPStatus.NOT_FOUND, f"no moments of the pair {pair!r} in this session"
            ) from None

    def _sessions(self) -> dict[str, Any]:
        rows = []
        with self.app.store() as store:
            for name in list_sessions(self.app.out):
                session = load_session(self.app.out, name)
                moments = reviewed_moments(session, store)
                statuses = [(m["decision"] or {}).get("status", "") for m in moments]
                more = [
                    reviewed_moments(load_session(self.app.out, name, pair=key), store)
                    for key in pair_keys(self.app.out, name)
                ]
                more_statuses = [(m["decision"] or {}).get("status", "") for p in more for m in p]
                rows.append(
                    {
                        "name": name,
                        "status": session.status,
                        "reason": str(session.run.get("reason", "")),
                        "duration": session.duration,
                        "moments": len(moments),
                        "accepted": statuses.count("accepted"),
                        "rejected": statuses.count("rejected"),
                        "warnings": list(session.run.get("warnings", []) or []),
                        "problems": session.problems,
                        "recording_found": session.media is not None,
                        # the moments of the session's more pairs (more than two people)
                        "pairs": len(more),
                        "pair_moments": len(more_statuses),
                        "pair_accepted": more_statuses.count("accepted"),
                    }
                )
        for failed in failed_sessions(self.app.out):
            rows.append(
                {
                    "name": failed["name"],
                    "status": "failed",
                    "reason": failed["reason"],
                    "duration": 0.0,
                    "moments": 0,
                    "accepted": 0,
                    "rejected": 0,
                    "warnings": [],
                    "problems": [],
                    "recording_found": False,
                    "pairs": 0,
                    "pair_moments": 0,
                    "pair_accepted": 0,
                }
            )
        return {"out": str(self.app.out), "sessions": rows}

    def _session(self, name: str, pair: str = "") -> dict[str, Any]:
        session = self._load(name, pair)
        pairs = []
        with self.app.store() as store:
            moments = reviewed_moments(session, store)
            orphans = [d.to_dict() for d in orphaned_decisions(session, store)]
            for each in session_pairs(self.app.out, name, config=self.app.config):
                if each.key == pair:
                    theirs = moments
                else:
                    try:
                        other = load_session(self.app.out, name, pair=each.key)
                    except KeyError:
                        continue  # gone since listed (a re-score)
                    theirs = reviewed_moments(other, store)
                statuses = [(m["decision"] or {}).get("status", "") for m in theirs]
                pairs.append(
                    {
                        **each.to_dict(),
                        "moments": len(theirs),
                        "accepted": statuses.count("accepted"),
                        "rejected": statuses.count("rejected"),
                    }
                )
        label = next((p["label"] for p in pairs if p["pair"] == pair), "")
        return {
            "name": session.name,
            "pair": pair,
            "pair_label": label,
            "pairs": pairs,
            "status": session.status,
            "duration": session.duration,
            "has_video": session.has_video,
            "has_media": session.media is not None,
            "recording": recording_state(self.app.out, session.run),
            "visit": self._visit(name),
            "roles_swapped": session.roles_swapped,
            "warnings": list(session.run.get("warnings", []) or []),
            "problems": session.problems,
            "moments": moments,
            "orphaned": orphans,
        }

    def _visit(self, name: str) -> dict[str, str] | None:
        """A family visit's date and where it came from (None for a session of no family)."""
        parts = split_session(name)
        if parts is None:
            return None
        family, visit = parts
        found = visit_dates(self.app.out / family).get(visit)
        if found is None:
            return None
        date, source = found
        return {"family": family, "visit": visit, "date": date.isoformat(), "source": source}

    def _correct_visit_date(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """The guider's correction of a family visit's date (kept in the family's family.json;
        a re-run never replaces it)."""
        self._load(name)
        parts = split_session(name)
        if parts is None:
            raise _Reply(HTTPStatus.BAD_REQUEST, "this session is not a visit of a family")
        date = body.get("date")
        if not isinstance(date, str):
            raise _Reply(HTTPStatus.BAD_REQUEST, "give the date as YYYY-MM-DD")
        try:
            correct_date(self.app.out / parts[0], parts[1], date)
        except VigcvError as exc:
            raise _Reply(HTTPStatus.BAD_REQUEST, str(exc)) from None
        return {"visit": self._visit(name)}

    # -- people -----------------------------------------------------------------------------------

    def _people(self, name: str) -> dict[str, Any]:
        """The session's people for the page (see :func:`vigcv.results.people.session_people`),
        the named people of its family, and the pair its moments are for and the one the names
        give."""
        config = self.app.config
        table = session_people(self.app.out, name, config=config)
        known = family_names(self.app.out, name)
        flags = {n["name"].casefold(): n for n in known}
        rows = []
        for row in table.to_dict("records"):
            thumb = str(row["thumbnail"] or "") or thumbnail_name(int(row["person"]))
            url = None
            if thumb and security.resolve_inside(self.app.out, f"{name}/{thumb}") is not None:
                url = "/files/" + urllib.parse.quote(f"{name}/{thumb}")
            distance = float(row["match_distance"])
            suggestion = flags.get(str(row["suggested_name"]).casefold())
            rows.append(
                {
                    "person": int(row["person"]),
                    "role_guess": str(row["role_guess"] or "unknown"),
                    "confidence": _number(row["confidence"]),
                    "seconds_visible": _number(row["seconds_visible"]),
                    "pair_role": str(row["pair_role"] or ""),
                    "thumbnail": url,
                    "name": str(row["name"]),
                    "parent_figure": bool(row["parent_figure"]),
                    "index_child": bool(row["index_child"]),
                    "may_show": bool(row["may_show"]),
                    "named_by": str(row["named_by"]),
                    "match_distance": distance if distance == distance else None,
                    "uncertain": bool(row["uncertain"]),
                    "suggested_name": str(row["suggested_name"]),
                    "suggestion": suggestion if row["uncertain"] else None,
                    "version": str(row["version"]),
                }
            )
        now, named = current_pair(self.app.out, name, table), named_pair(table)
        family = name.split("/", 1)[0] if "/" in name else None
        return {
            "family": family,
            "people": rows,
            "known": known,
            "pair": {
                "current": list(now) if now else None,
                "named": list(named) if named else None,
            },
        }

    def _rescore_pair(self, name: str) -> dict[str, Any]:
        """Make the names' parent figure and index child the session's pair and re-score it."""
        session = self._load(name)
        lock = self.app.session_lock(name)
        if not lock.acquire(timeout=120):
            raise _Reply(HTTPStatus.CONFLICT, "this session is busy; try again in a moment")
        try:
            if not apply_pair(self.app.out, name, config=self.app.config):
                return {"pair_changed": False, "rescored": False, "message": ""}
            from vigcv.pipeline import rescore

            try:
                rescore(session.folder, config=self.app.config)
            except VigcvError as exc:
                return {"pair_changed": True, "rescored": False, "message": str(exc)}
        finally:
            lock.release()
        return {"pair_changed": True, "rescored": True, "message": ""}

    def _name_person(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        self._load(name)
        person = _person(body)
        flags = {}
        for flag in ("parent_figure", "index_child", "may_show"):
            if not isinstance(body.get(flag), bool):
                raise _Reply(HTTPStatus.BAD_REQUEST, f"{flag} must be true or false")
            flags[flag] = body[flag]
        text = body.get("name", "")
        version = body.get("version")
        if not isinstance(text, str) or not (version is None or isinstance(version, str)):
            raise _Reply(HTTPStatus.BAD_REQUEST, "name and version must be text")
        try:
            name_person(
                self.app.out,
                name,
                person,
                name=text,
                **flags,
                reviewer=str(body.get("reviewer") or "")[:100],
                version=version,
                config=self.app.config,
            )
        except PeopleConflict as exc:
            raise _Reply(HTTPStatus.CONFLICT, str(exc)) from None
        except StoreError as exc:
            raise _Reply(HTTPStatus.BAD_REQUEST, str(exc)) from None
        pair = self._rescore_pair(name)
        return {**self._people(name), **pair}

    def _decline_name(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        self._load(name)
        person = _person(body)
        text = body.get("name")
        if not isinstance(text, str) or not text.strip():
            raise _Reply(HTTPStatus.BAD_REQUEST, "name (the name this person is not) is needed")
        try:
            decline_name(
                self.app.out,
                name,
                person,
                name=text,
                reviewer=str(body.get("reviewer") or "")[:100],
                config=self.app.config,
            )
        except StoreError as exc:
            raise _Reply(HTTPStatus.BAD_REQUEST, str(exc)) from None
        return self._people(name)

    def _use_named_pair(self, name: str) -> dict[str, Any]:
        pair = self._rescore_pair(name)
        return {**self._people(name), **pair}

    def _thumb(self, name: str, file: str, pair: str = "") -> None:
        session = self._load(name, pair)
        if not file.endswith(".jpg") or not file[:-4].isdigit():
            raise _Reply(HTTPStatus.NOT_FOUND, "no such picture")
        rank = int(file[:-4])
        match = [m for m in session.moments if int(m.get("rank", -1)) == rank]
        media = session.media
        if not match or media is None or not session.has_video:
            raise _Reply(HTTPStatus.NOT_FOUND, "no picture for this moment")
        t = 0.5 * (float(match[0]["start"]) + float(match[0]["end"]))
        key = (name, pair, rank, round(t, 3))
        with self.app.lock:
            jpeg = self.app.thumbs.get(key)
        if jpeg is None:
            try:
                jpeg = thumbnail_jpeg(media, t, width=self.app.settings.thumb_width)
            except VigcvError as exc:
                raise _Reply(HTTPStatus.NOT_FOUND, str(exc)) from None
            with self.app.lock:
                self.app.thumbs[key] = jpeg
                while len(self.app.thumbs) > self.app.settings.thumb_cache:
                    self.app.thumbs.popitem(last=False)
        self._send(
            HTTPStatus.OK, jpeg, "image/jpeg", extra={"Cache-Control": "private, max-age=300"}
        )

    def _decide(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        pair = body.get("pair") or ""
        if not isinstance(pair, str):
            raise _Reply(HTTPStatus.BAD_REQUEST, "pair must be <parent>-<child> or empty")
        session = self._load(name, pair)
        try:
            start, end = float(body["start"]), float(body["end"])
        except (KeyError, TypeError, ValueError):
            raise _Reply(HTTPStatus.BAD_REQUEST, "start and end (seconds) are needed") from None
        segments = session.segments()
        current = [s for s in segments if abs(s.start - start) < 1e-3 and abs(s.end - end) < 1e-3]
        if not current:
            raise _Reply(HTTPStatus.CONFLICT, "the moments of this session changed; reload")
        reviewer = str(body.get("reviewer") or "")[:100]
        try:
            with self.app.store() as store:
                decision = store.set_field(
                    name,
                    start=current[0].start,
                    end=current[0].end,
                    field=str(body.get("field", "")),
                    value=body.get("value"),
                    reviewer=reviewer,
                    others=segments,
                    pair=session.pair,
                )
        except StoreError as exc:
            raise _Reply(HTTPStatus.BAD_REQUEST, str(exc)) from None
        return {"decision": decision.to_dict()}

    def _swap(self, name: str) -> dict[str, Any]:
        session = self._load(name)
        lock = self.app.session_lock(name)
        if not lock.acquire(blocking=False):
            raise _Reply(HTTPStatus.CONFLICT, "this session is busy; try again in a moment")
        try:
            from vigcv.pipeline import swap_roles

            swapped = swap_roles(session.folder)
        except VigcvError as exc:
            raise _Reply(HTTPStatus.CONFLICT, str(exc)) from None
        finally:
            lock.release()
        return {"roles_swapped": swapped}

    def _export(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        self._load(name)
        audience = body.get("audience", "parent")
        if audience not in ("parent", "guider"):
            raise _Reply(HTTPStatus.BAD_REQUEST, "audience must be parent or guider")
        if self.app.exporter is None:
            raise _Reply(HTTPStatus.NOT_IMPLEMENTED, "exporting is not available on this page")
        lock = self.app.session_lock(name)
        if not lock.acquire(blocking=False):
            raise _Reply(HTTPStatus.CONFLICT, "this session is busy; try again in a moment")
        try:
            result = self.app.exporter(
                self.app.out, sessions=[name], config=self.app.config, audience=audience
            )
        except VigcvError as exc:
            raise _Reply(HTTPStatus.CONFLICT, str(exc)) from None
        finally:
            lock.release()
        links = []
        base = self.app.out.resolve()
        for path in result.files:
            try:
                rel = path.resolve().relative_to(base)
            except ValueError:
                continue
            links.append({"name": path.name, "url": "/files/" + urllib.parse.quote(str(rel))})
        folders = getattr(result, "folders", None) or [result.folder]
        return {
            "folder": str(folders[0]),
            "files": links,
            "clips": result.clips,
            "audience": audience,
        }


def _pair(query: dict[str, list[str]]) -> str:
    """The ``?pair=<parent>-<child>`` of a request ("" for the session's own moments)."""
    return (query.get("pair") or [""])[0]


def _person(body: dict[str, Any]) -> int:
    value = body.get("person")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Reply(HTTPStatus.BAD_REQUEST, "person (a person's number) is needed")
    return value


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _attr(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def _content_type(path: Path) -> str:
    special = {
        ".js": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".html": "text/html; charset=utf-8",
        ".svg": "image/svg+xml",
        ".eaf": "application/xml",
        ".csv": "text/csv; charset=utf-8",
        ".mp4": "video/mp4",
        ".m4v": "video/mp4",
        ".mov": "video/quicktime",
        ".webm": "video/webm",
        ".m4a": "audio/mp4",
    }
    suffix = path.suffix.lower()
    if suffix in special:
        return special[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


class ReviewServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer bound to 127.0.0.1 that carries the :class:`ReviewApp`."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, app: ReviewApp, *, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), ReviewHandler)
        self.app = app
        app.port = int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser closing its connection (the player seeking, a tab closed) is not an error."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        """The address to open: a private link whose token lets anyone with it on this computer
        open the page (the first visit moves it into a cookie and out of the address bar)."""
        return f"http://127.0.0.1:{self.app.port}/?token={self.app.token}"


class NoResultsError(VigcvError):
    """The folder given holds no results of `vigcv run` (a usage error: `vigcv review` exits 2)."""


def check_results(out: Path) -> None:
    """Raise :class:`NoResultsError` unless ``out`` holds a session folder (with run.json) or a
    session `vigcv run` recorded as failed; reads only, so a wrong folder is left untouched."""
    if list_sessions(out) or failed_sessions(out):
        return
    if is_session(out):
        raise NoResultsError(
            f"{out} is one session's folder; give the folder that holds it: "
            f"vigcv review {out.parent}"
        )
    raise NoResultsError(
        f"{out}: no results of `vigcv run` here (no session folder with a run.json); "
        "give the --out folder of `vigcv run`"
    )


def make_server(
    out: str | Path,
    *,
    port: int = 0,
    config: dict[str, Any] | None = None,
    exporter: Exporter | None = None,
) -> ReviewServer:
    """A review server over ``out`` on 127.0.0.1 (``port=0``: a free port). Call
    ``serve_forever()`` on it (or run that in a thread) and open ``server.url``.

    ``exporter`` runs the page's export button (``vigcv review`` gives
    :func:`vigcv.export.export_out`); without one the button answers that it is not available.
    """
    out = Path(out)
    if not out.is_dir():
        raise NoResultsError(f"{out}: no such output folder; give the --out folder of `vigcv run`")
    check_results(out)
    settings = ReviewSettings.from_config(config)
    app = ReviewApp(
        out=out.resolve(),
        token=security.new_token(),
        csrf=security.new_token(),
        settings=settings,
        config=config,
        exporter=exporter,
    )
    with app.store():
        pass  # create OUT/reviews.sqlite now, so an unwritable folder fails at start
    return ReviewServer(app, port=port)
