"""Forget a family: delete everything vigcv keeps about some sessions of an OUT folder.

What goes, per session: its session folder (results, the extraction cache, the overlay), its
decisions in ``OUT/reviews.sqlite`` (current state and history, in every table with a
``session`` column; the file is vacuumed and its write-ahead log emptied so deleted notes do not
linger in it), its exports (``OUT/exports/<session>/``) and its rows in ``summary.csv`` and in the
other tables of OUT and ``OUT/exports`` that have a ``session`` column (the all-sessions
decisions CSV, ``evaluation.csv``).

What never goes: the original recordings. A video or audio file found inside a session folder
(other than vigcv's own ``overlay.mp4``) is left where it is and reported, and so is the folder
holding it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from vigcv.errors import VigcvError
from vigcv.io import store
from vigcv.io.media import MEDIA_EXTENSIONS
from vigcv.results.decisions import DB_NAME
from vigcv.results.folder import (
    EXPORTS_FOLDER,
    OVERLAY_FILE,
    SUMMARY_FILE,
    is_session,
    list_sessions,
    read_summary,
)


@dataclass
class Forgotten:
    """What :func:`forget` removed for one session, and what it left (and why)."""

    session: str
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _sqlite_sessions(db: Path) -> set[str]:
    if not db.is_file():
        return set()
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30.0) as conn:
            tables = _session_tables(conn)
            names: set[str] = set()
            for table in tables:
                names |= {
                    str(r[0]) for r in conn.execute(f'SELECT DISTINCT session FROM "{table}"')
                }
        conn.close()
    except sqlite3.Error:
        return set()
    return names


def _session_tables(conn: sqlite3.Connection) -> list[str]:
    tables = [
        str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    ]
    return [
        t
        for t in tables
        if not t.startswith("sqlite_")
        and "session" in {str(c[1]) for c in conn.execute(f'PRAGMA table_info("{t}")')}
    ]


def known_sessions(out: Path) -> list[str]:
    """Every session name ``out`` holds something of: folders, summary rows, decisions, exports."""
    out = Path(out)
    names = set(list_sessions(out))
    names |= {str(s) for s in read_summary(out).get("session", []) if str(s)}
    names |= _sqlite_sessions(out / DB_NAME)
    exports = out / EXPORTS_FOLDER
    if exports.is_dir():
        names |= {p.name for p in exports.iterdir() if p.is_dir() and not p.name.startswith(".")}
    return sorted(names)


def _remove_session_folder(folder: Path, item: Forgotten) -> None:
    """Everything in a session folder except recordings (media files other than the overlay)."""
    if folder.is_symlink() or not folder.is_dir():
        return
    kept: list[Path] = []
    for here, dirs, files in os.walk(folder, topdown=False):
        for name in files:
            path = Path(here) / name
            recording = path.suffix.lower() in MEDIA_EXTENSIONS and not (
                name == OVERLAY_FILE and Path(here) == folder
            )
            if recording and not path.is_symlink():
                kept.append(path)
                continue
            path.unlink(missing_ok=True)
        for name in dirs:
            sub = Path(here) / name
            if sub.is_symlink():
                sub.unlink()
            else:
                with contextlib.suppress(OSError):  # it holds a recording that was kept
                    sub.rmdir()
    try:
        folder.rmdir()
        item.removed.append(f"{folder} (results, cache and overlay)")
    except OSError:
        item.removed.append(f"{folder}: results, cache and overlay")
        item.kept += [f"{p} (a recording; vigcv never deletes recordings)" for p in kept]


def _filter_tables(paths: Sequence[Path], names: set[str], items: dict[str, Forgotten]) -> None:
    """Drop the rows of ``names`` from CSV tables that have a ``session`` column."""
    for path in paths:
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, ValueError, pd.errors.ParserError):
            continue
        if "session" not in table.columns:
            continue
        gone = table["session"].isin(names)
        if not gone.any():
            continue
        for name in sorted(set(table.loc[gone, "session"])):
            items[name].removed.append(f"its rows in {path}")
        store.write_csv(path, table[~gone])


def _forget_decisions(db: Path, names: set[str], items: dict[str, Forgotten]) -> list[str]:
    """Delete the sessions' rows from every table with a ``session`` column, then vacuum and
    empty the write-ahead log. Returns warnings (the database busy in another program)."""
    if not db.is_file():
        return []
    warnings = []
    try:
        conn = sqlite3.connect(db, timeout=30.0, isolation_level=None)
        try:
            conn.execute("PRAGMA secure_delete = ON")
            counts: dict[str, dict[str, int]] = {name: {} for name in names}
            conn.execute("BEGIN IMMEDIATE")
            for table in _session_tables(conn):
                for name in sorted(names):
                    cur = conn.execute(f'DELETE FROM "{table}" WHERE session = ?', (name,))
                    if cur.rowcount > 0:
                        counts[name][table] = cur.rowcount
            conn.execute("COMMIT")
            conn.execute("VACUUM")
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy and busy[0]:
                warnings.append(
                    f"{db}: the review page holds it open, so deleted text may stay in "
                    f"{db.name}-wal until it stops; stop `vigcv review` and forget again"
                )
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise VigcvError(
            f"{db}: cannot delete the decisions ({exc}); stop `vigcv review` and try again"
        ) from None
    for name, tables in counts.items():
        if tables:
            rows = ", ".join(f"{table}: {n} row(s)" for table, n in sorted(tables.items()))
            items[name].removed.append(f"its decisions and notes in {db} ({rows})")
    return warnings


def forget(out: Path, names: Sequence[str]) -> tuple[list[Forgotten], list[str]]:
    """Delete everything ``out`` keeps of the sessions ``names`` (see the module's docstring).

    Returns what was removed per session, and warnings. Raises :class:`VigcvError` for a name
    ``out`` holds nothing of (before anything is deleted).
    """
    out = Path(out)
    known = set(known_sessions(out))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise VigcvError(
            f"{out}: no session named {', '.join(map(repr, unknown))}; "
            "`vigcv forget OUT --all` or the names `vigcv review` shows"
        )
    chosen = list(dict.fromkeys(names))
    items = {name: Forgotten(name) for name in chosen}
    for name in chosen:
        folder = out / name
        inside = folder.resolve().parent == out.resolve() and name != EXPORTS_FOLDER
        if inside and not name.startswith(".") and (is_session(folder) or folder.is_dir()):
            _remove_session_folder(folder, items[name])  # a failed run's folder too
        exported = out / EXPORTS_FOLDER / name
        if exported.is_dir() and not exported.is_symlink():
            shutil.rmtree(exported)
            items[name].removed.append(f"{exported} (clips, reports, ELAN files)")
    warnings = _forget_decisions(out / DB_NAME, set(chosen), items)
    tables = [out / SUMMARY_FILE, *sorted(p for p in out.glob("*.csv") if p.name != SUMMARY_FILE)]
    exports = out / EXPORTS_FOLDER
    if exports.is_dir():
        tables += sorted(exports.rglob("*.csv"))
    _filter_tables([p for p in tables if p.is_file()], set(chosen), items)
    return [items[n] for n in chosen], warnings


__all__ = ["Forgotten", "forget", "known_sessions"]
