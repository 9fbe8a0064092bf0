"""Synthetic family sessions with known answers (video, voices and ground truth).

>>> from vigcv.synth import generate_session, cached_session
>>> result = generate_session(Path("demo.mp4"), script=Path("configs/synth/textbook.toml"), seed=1)
>>> result.labels, result.rttm          # ground truth next to the video
>>> session = cached_session("mixed")   # generated once into a cache folder, then reused

Shipped scripts (``configs/synth/``, each described in its ``README.md``): ``textbook``,
``missed``, ``long_latency``, ``parallel_play`` and the two-minute ``mixed`` demo session; the
harder scenes ``back_turned``, ``over_shoulder``, ``profile``, ``held_toy``, ``shaky`` and
``leaves``; a family's three visits ``family_visit1`` to ``family_visit3``; and families of
three, ``siblings`` (roles parent, child, sibling) and ``two_parents`` (parent, child,
parent2), and ``older_child`` (a teenager nearly the parent's size). The script language is
documented in :mod:`vigcv.synth.script`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from vigcv.synth.generate import (
    GENERATOR_VERSION,
    SynthResult,
    generate_session,
    load_result,
    shipped_script,
    sidecar_paths,
)
from vigcv.synth.script import Script, ScriptError, load_script, parse_script

__all__ = [
    "Script",
    "ScriptError",
    "SynthResult",
    "cache_root",
    "cached_session",
    "generate_session",
    "load_result",
    "load_script",
    "parse_script",
    "shipped_script",
]


def cache_root() -> Path:
    """Where :func:`cached_session` keeps sessions: ``$VIGCV_SYNTH_CACHE``, else
    ``~/.cache/vigcv/synth``."""
    env = os.environ.get("VIGCV_SYNTH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "vigcv" / "synth"


def cached_session(name: str, *, seed: int = 0, cache_dir: Path | None = None) -> SynthResult:
    """A shipped script generated once (at 640x480, 25 fps) and reused afterwards.

    The file name holds the script name, the seed and a hash of the script text and of the
    generator's source code, so an edited script or generator makes a new session. Safe when
    several processes ask at once: the first to ask generates it while the others wait on a lock
    file beside it (then find it made), and the files are written to temporary names and renamed
    into place (the video last).

    Parameters
    ----------
    name : str
        A shipped script (a file name of ``configs/synth/`` without ``.toml``, e.g. ``textbook``
        or ``mixed``).
    seed : int
        Generator seed.
    cache_dir : Path, optional
        Folder to use instead of :func:`cache_root`.
    """
    path = shipped_script(name)
    digest = hashlib.sha256(path.read_bytes() + GENERATOR_VERSION.encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    key = digest.hexdigest()[:10]
    folder = Path(cache_dir) if cache_dir is not None else cache_root()
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}-seed{seed}-{key}.mp4"
    if all(p.is_file() for p in sidecar_paths(out).values()):
        return load_result(out)
    with out.with_suffix(".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if all(p.is_file() for p in sidecar_paths(out).values()):
            return load_result(out)  # another process made it while this one waited
        return generate_session(out, script=path, seed=seed)
