"""When each visit of a family was filmed.

A visit's date comes, in this order, from: the guider's correction (``vigcv family date``); a
``visit_date`` column of the sessions CSV; the recording's metadata (``creation_time`` of the
container or a stream, as phones and cameras write it); a date ``YYYY-MM-DD`` in the file's name;
the file's modification time. It is found once, when the visit is first run, and kept in the
family's ``family.json`` (a re-run never replaces a date, and never a correction).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vigcv.errors import VigcvError
from vigcv.results.folder import (
    FAMILY_FILE,
    family_sessions,
    is_family,
    read_family,
    read_run,
    recording,
    write_family,
)

DATE_PATTERN = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
SOURCES = ("guider", "sessions csv", "recording metadata", "file name", "file modified")


def name_date(text: str) -> dt.date | None:
    """The first valid date ``YYYY-MM-DD`` in ``text``, else None."""
    for match in DATE_PATTERN.finditer(text):
        try:
            return dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            continue
    return None


def parse_date(text: str, *, what: str) -> dt.date:
    """``YYYY-MM-DD`` as a date; a :class:`VigcvError` naming ``what`` otherwise."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise VigcvError(f"{what}: {text!r} is not a date; write it as YYYY-MM-DD") from None


def metadata_date(path: Path) -> dt.date | None:
    """The ``creation_time`` a recording's container or streams carry, else None."""
    import av

    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            values = [container.metadata.get("creation_time")]
            values += [s.metadata.get("creation_time") for s in container.streams]
    except (OSError, ValueError, av.error.FFmpegError):
        return None
    for value in values:
        if not value:
            continue
        try:
            stamp = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            continue
        if stamp.year > 1971:  # 1970-01-01: a camera that did not know the time
            return stamp.date()
    return None


def recording_date(path: Path) -> tuple[dt.date, str]:
    """A recording's date and where it came from (metadata, file name, modification time)."""
    path = Path(path)
    found = metadata_date(path)
    if found is not None:
        return found, "recording metadata"
    found = name_date(path.stem)
    if found is not None:
        return found, "file name"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise VigcvError(f"{path}: cannot be read to date this visit; check the file") from None
    return dt.datetime.fromtimestamp(mtime).date(), "file modified"


def split_session(session: str) -> tuple[str, str] | None:
    """``(family, visit)`` of a family's session name ``<family>/<visit>``, else None."""
    family, sep, visit = session.partition("/")
    return (family, visit) if sep and family and visit and "/" not in visit else None


def record_visits(
    out: Path,
    visits: Iterable[tuple[str, Path]],
    *,
    dates: Mapping[str, str] | None = None,
) -> None:
    """Write each family's ``family.json`` with the date of each new visit.

    Parameters
    ----------
    out : Path
        The results folder.
    visits : iterable of (session name, recording)
        Sessions named ``<family>/<visit>`` (others are left out).
    dates : mapping, optional
        Session name -> ``YYYY-MM-DD`` from a sessions CSV: replaces a date found before, never a
        guider's correction.
    """
    dates = dates or {}
    by_family: dict[str, list[tuple[str, str, Path]]] = {}
    for session, media in visits:
        parts = split_session(session)
        if parts is not None:
            by_family.setdefault(parts[0], []).append((session, parts[1], Path(media)))
    for family, items in by_family.items():
        folder = Path(out) / family
        doc = read_family(folder)
        before = repr(doc)
        records: dict[str, Any] = doc["visits"]
        for session, visit, media in items:
            old = records.get(visit) if isinstance(records.get(visit), dict) else None
            if old is not None and old.get("source") == "guider":
                continue
            if session in dates:
                when = parse_date(dates[session], what=f"visit_date of {session}")
                records[visit] = {"date": when.isoformat(), "source": "sessions csv"}
            elif old is None or not old.get("date"):
                when, source = recording_date(media)
                records[visit] = {"date": when.isoformat(), "source": source}
        if repr(doc) != before or not (folder / FAMILY_FILE).exists():
            write_family(folder, doc)


def correct_date(family: Path, visit: str, date: str) -> dict[str, str]:
    """The guider's correction of a visit's date, kept in ``family.json`` (never replaced by a
    re-run). Returns the visit's record."""
    family = Path(family)
    if not is_family(family):
        raise VigcvError(
            f"{family}: not a family folder (no family.json); give OUT/<family> of `vigcv run`"
        )
    visits = family_sessions(family)
    if visit not in visits:
        raise VigcvError(
            f"{family / visit}: no such visit; the visits are {', '.join(visits) or 'none yet'}"
        )
    when = parse_date(date, what=f"the date of {visit}")
    doc = read_family(family)
    doc["visits"][visit] = {"date": when.isoformat(), "source": "guider"}
    write_family(family, doc)
    return dict(doc["visits"][visit])


def visit_dates(family: Path) -> dict[str, tuple[dt.date, str]]:
    """``{visit: (date, source)}`` of every visit of a family folder: its record in
    family.json, else found now from its recording (a visit run by a library call)."""
    family = Path(family)
    records = read_family(family)["visits"]
    result: dict[str, tuple[dt.date, str]] = {}
    for visit in family_sessions(family):
        record = records.get(visit)
        if isinstance(record, dict) and record.get("date"):
            try:
                result[visit] = (dt.date.fromisoformat(str(record["date"])), str(record["source"]))
                continue
            except ValueError:
                pass
        run = read_run(family / visit, missing_ok=True)
        media = recording(run)
        if media is not None:
            result[visit] = recording_date(media)
        else:
            named = name_date(visit)
            result[visit] = (named, "file name") if named else (dt.date.min, "unknown")
    return result
