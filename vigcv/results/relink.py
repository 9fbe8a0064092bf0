"""A session's recording, found again after it was moved.

A session's ``run.json`` names its recording (``input``) and records its content
(``input_sha256``, ``input_size``, ``input_mtime_ns``). When the film is moved, the path no longer
leads anywhere; the content still identifies it. :func:`find_recordings` looks for it under the
folders given (recursively): only files of the recorded size are hashed, each at most once.
:func:`update_recording` writes the new place into ``run.json`` without re-analysing anything.

`vigcv relink`, `vigcv run` (a recording met at a new place), the review page and the export
all use these functions, so they agree on what "moved" and "found" mean.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigcv.errors import VigcvError
from vigcv.io.media import MEDIA_EXTENSIONS
from vigcv.models import sha256_file
from vigcv.results.folder import read_run, recording, session_dirs, session_name, write_run


def relink_hint(out: Path | str) -> str:
    """The one-line instruction for a session whose recording is not where run.json says."""
    return (
        f"if it was moved, run `vigcv relink {out} /folder/it/is/in/now` (nothing is re-analysed)"
    )


def recording_state(out: Path | str, run: dict[str, Any]) -> dict[str, Any]:
    """``{"found": bool, "path": str, "hint": str}`` of a session's recording (for display).

    ``hint`` is empty when the recording is found, else the one line that says what to do.
    """
    found = recording(run)
    named = run.get("input")
    path = str(found) if found is not None else (named if isinstance(named, str) else "")
    hint = (
        ""
        if found
        else f"The film is no longer at {path or 'its recorded place'}: {relink_hint(out)}"
    )
    return {"found": found is not None, "path": path, "hint": hint}


def is_missing(run: dict[str, Any]) -> bool:
    """Whether a session's run.json names a recording (by content) that is not at its place."""
    return bool(run.get("input_sha256")) and recording(run) is None


def missing_recordings(out: Path) -> dict[str, dict[str, Any]]:
    """``{session: run}`` of the sessions of ``out`` whose recording is missing."""
    missing = {}
    for folder in session_dirs(out) if Path(out).is_dir() else []:
        run = read_run(folder, missing_ok=True)
        if is_missing(run):
            missing[session_name(folder)] = run
    return missing


def media_files(folders: Iterable[Path]) -> Iterator[Path]:
    """Every media file under ``folders`` (files given are taken as they are; hidden skipped)."""
    for root in folders:
        root = Path(root)
        if root.is_file():
            if root.suffix.lower() in MEDIA_EXTENSIONS:
                yield root
            continue
        for here, dirs, files in os.walk(root, onerror=None):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                path = Path(here) / name
                if not name.startswith(".") and path.suffix.lower() in MEDIA_EXTENSIONS:
                    yield path


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size if path.is_file() else None
    except OSError:
        return None


@dataclass
class ContentIndex:
    """Media files by size, hashed only when a wanted recording has their size, at most once."""

    by_size: dict[int, list[Path]] = field(default_factory=lambda: defaultdict(list))
    hashes: dict[Path, str] = field(default_factory=dict)

    @classmethod
    def of(cls, paths: Iterable[Path]) -> ContentIndex:
        index = cls()
        seen: set[Path] = set()
        for path in paths:
            real = path.resolve()
            size = _size(real)
            if size is not None and real not in seen:
                seen.add(real)
                index.by_size[size].append(real)
        return index

    def sha256(self, path: Path) -> str | None:
        if path not in self.hashes:
            try:
                self.hashes[path] = sha256_file(path)
            except OSError:
                return None
        return self.hashes[path]

    def find(self, sha256: str, size: int | None, *, taken: set[Path] | None = None) -> Path | None:
        """A file with this content (``size`` known: only files of that size are hashed)."""
        if size is not None:
            candidates = self.by_size.get(int(size), [])
        else:
            candidates = [p for paths in self.by_size.values() for p in paths]
        for path in candidates:
            if taken and path in taken:
                continue
            if self.sha256(path) == sha256:
                return path
        return None


def _recorded_size(run: dict[str, Any]) -> int | None:
    size = run.get("input_size")
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def find_recordings(
    runs: dict[str, dict[str, Any]], folders: Sequence[Path] | ContentIndex
) -> dict[str, Path | None]:
    """``{session: the file with its recording's content, or None}`` under ``folders``."""
    index = folders if isinstance(folders, ContentIndex) else ContentIndex.of(media_files(folders))
    found: dict[str, Path | None] = {}
    taken: set[Path] = set()
    for name, run in runs.items():
        path = index.find(str(run.get("input_sha256", "")), _recorded_size(run), taken=taken)
        found[name] = path
        if path is not None:
            taken.add(path)
    return found


def update_recording(session_dir: Path, path: Path, *, sha256: str | None = None) -> dict[str, Any]:
    """Write ``path`` into the session's run.json as its recording; nothing is re-analysed.

    With ``sha256`` (the content already hashed), it must be the recorded one: a different film
    is never linked to a session.
    """
    run = read_run(session_dir)
    if sha256 is not None and sha256 != run.get("input_sha256"):
        raise VigcvError(
            f"{path}: is not the recording of {session_dir.name} (different content); "
            "give the folder that holds the moved film"
        )
    real = Path(path).resolve()
    try:
        stat = real.stat()
    except OSError as exc:
        raise VigcvError(f"{path}: cannot be read ({exc.strerror}); check the path") from None
    previous = run.get("input")
    run["input"] = str(real)
    run["input_size"] = stat.st_size
    run["input_mtime_ns"] = stat.st_mtime_ns
    if isinstance(previous, str) and previous and previous != str(real):
        run["moved_from"] = previous
    write_run(session_dir, run)
    return run


@dataclass(frozen=True)
class Relinked:
    """What :func:`relink` did for one session whose recording was missing."""

    session: str
    old: str
    new: Path | None  # None: not found under the folders given


def relink(out: Path, folders: Sequence[Path]) -> list[Relinked]:
    """Find every missing recording of ``out`` under ``folders`` and update its run.json."""
    out = Path(out)
    missing = missing_recordings(out)
    if not missing:
        return []
    found = find_recordings(missing, folders)
    done = []
    for name, run in missing.items():
        path = found[name]
        if path is not None:
            update_recording(out / name, path)
        done.append(Relinked(name, str(run.get("input", "")), path))
    return done


__all__ = [
    "ContentIndex",
    "Relinked",
    "find_recordings",
    "is_missing",
    "media_files",
    "missing_recordings",
    "recording_state",
    "relink",
    "relink_hint",
    "update_recording",
]
