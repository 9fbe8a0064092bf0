"""Exports of reviewed sessions: clips, ELAN files, a decisions CSV and static HTML reports.

``export_out(OUT)`` writes, into ``OUT/exports/`` (or ``to``)::

    decisions.csv                      every decision of every session (when exporting all)
    <session>/decisions.csv            that session's decisions
    <session>/report.html              self-contained report (opens without the server)
    <session>/<session>.eaf            ELAN tiers: moments, mutual gaze, smiles, speech per role
    <session>/clips/<session>-m01-00m12s.mp4   one clip per moment the guider kept

Every file is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vigcv.config import section_values
from vigcv.errors import VigcvError
from vigcv.export.clips import ClipResult, clock, write_clip
from vigcv.export.eaf import build_eaf, write_eaf
from vigcv.export.report import report_html
from vigcv.hooks import Hook, no_hook
from vigcv.io.frames import thumbnail_jpeg
from vigcv.io.store import write_csv, write_text
from vigcv.results import EXPORTS_FOLDER, SPEECH_FILE, TIMELINE_FILE, list_sessions
from vigcv.results.decisions import open_store
from vigcv.results.sessions import (
    load_session,
    orphaned_decisions,
    reviewed_moments,
    timeline_data,
)

DECISION_COLUMNS = (
    "session",
    "rank",
    "moment_start",
    "moment_end",
    "status",
    "clip_start",
    "clip_end",
    "clip_start_mmss",
    "clip_end_mmss",
    "note",
    "reviewer",
    "updated_at",
    "score",
    "reasons",
)


@dataclass(frozen=True)
class ExportSettings:
    """The [export] section of the config (and ``[review] match_iou``), typed; build it with
    :meth:`from_config` (the defaults are those of configs/default.toml)."""

    caption: bool
    crf: int
    max_side: int
    audio_bitrate: int
    thumb_width: int
    match_iou: float

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> ExportSettings:
        """The settings of ``config``; the keys it lacks (all, for None) from the default file."""
        known = section_values(config, "export", cls.__dataclass_fields__)
        known.update(section_values(config, "review", ["match_iou"]))
        return cls(**known)


@dataclass
class ExportResult:
    """What :func:`export_out` wrote."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    clips: int = 0
    sessions: int = 0
    warnings: list[str] = field(default_factory=list)


def _nan_none(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def decisions_rows(session: str, moments: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of decisions.csv for one session's moments (``decision`` and ``bounds`` attached)."""
    rows = []
    for m in moments:
        d = m.get("decision") or {}
        start, end = m.get("bounds") or (m["start"], m["end"])
        rows.append(
            {
                "session": session,
                "rank": m.get("rank"),
                "moment_start": float(m["start"]),
                "moment_end": float(m["end"]),
                "status": d.get("status", ""),
                "clip_start": float(start),
                "clip_end": float(end),
                "clip_start_mmss": clock(start),
                "clip_end_mmss": clock(end),
                "note": d.get("note", ""),
                "reviewer": d.get("reviewer", ""),
                "updated_at": d.get("updated_at", ""),
                "score": float(m.get("score", 0.0)),
                "reasons": " | ".join(str(r) for r in m.get("reasons", [])),
            }
        )
    return rows


def clip_name(session: str, rank: int, start: float) -> str:
    m, s = divmod(int(start), 60)
    return f"{session}-m{rank:02d}-{m:02d}m{s:02d}s.mp4"


def export_out(
    out: str | Path,
    *,
    to: str | Path | None = None,
    confirmed: bool = False,
    sessions: Sequence[str] | None = None,
    config: dict[str, Any] | None = None,
    hook: Hook | None = None,
) -> ExportResult:
    """Export the reviewed sessions of ``out``.

    Parameters
    ----------
    out : path
        The OUT folder of `vigcv run` (with ``reviews.sqlite`` when reviewed).
    to : path, optional
        Where to write (default ``OUT/exports``).
    confirmed : bool
        Only the moments the guider kept go into the reports, ELAN files and CSV (clips are made
        for kept moments either way).
    sessions : sequence of str, optional
        Only these sessions (default: all in ``out``).
    config : dict, optional
        Its ``[export]`` section tunes clips and thumbnails.
    hook : callable, optional
        ``hook(step, artifact)`` after each file ("clip", "eaf", "report", "csv").
    """
    out = Path(out)
    if not out.is_dir():
        raise VigcvError(f"{out}: no such output folder; give the --out folder of `vigcv run`")
    settings = ExportSettings.from_config(config)
    folder = Path(to) if to is not None else out / EXPORTS_FOLDER
    names = list(sessions) if sessions is not None else list_sessions(out)
    known = set(list_sessions(out))
    for name in names:
        if name not in known:
            raise VigcvError(f"{out / name}: not a processed session (no run.json)")
    notify = hook or no_hook
    result = ExportResult(folder=folder)
    all_rows: list[dict[str, Any]] = []
    with open_store(out, min_iou=settings.match_iou) as store:
        for name in names:
            session = load_session(out, name)
            moments = reviewed_moments(session, store)
            kept = [m for m in moments if (m["decision"] or {}).get("status") == "accepted"]
            shown = kept if confirmed else moments
            rows = decisions_rows(name, shown)
            if not confirmed:
                for d in orphaned_decisions(session, store):
                    start, end = d.bounds()
                    orphan: dict[str, Any] = {
                        "rank": None, "start": d.start, "end": d.end, "score": math.nan,
                        "decision": d.to_dict(), "bounds": [start, end], "reasons": [],
                    }  # fmt: skip
                    rows.extend(decisions_rows(name, [orphan]))
            all_rows.extend(rows)
            target = folder / name
            session_csv = target / "decisions.csv"
            write_csv(session_csv, _table(rows), float_format="%.3f")
            result.files.append(session_csv)
            media = session.media
            if media is None:
                result.warnings.append(f"{name}: the recording is not found; no clips, thumbnails")
            if media is not None and kept and not session.has_video:
                result.warnings.append(f"{name}: audio only, so no video clips")
            if media is not None and session.has_video:
                for m in kept:
                    start, end = m["bounds"]
                    path = target / "clips" / clip_name(name, int(m["rank"]), start)
                    try:
                        clip: ClipResult = write_clip(
                            media,
                            path,
                            start=float(start),
                            end=float(end),
                            caption=settings.caption,
                            crf=settings.crf,
                            max_side=settings.max_side,
                            audio_bitrate=settings.audio_bitrate,
                        )
                    except VigcvError as exc:
                        result.warnings.append(f"{name}: no clip of moment {m['rank']} ({exc})")
                        continue
                    result.files.append(clip.path)
                    result.clips += 1
                    notify("clip", clip)
            timeline_path = session.folder / TIMELINE_FILE
            speech_path = session.folder / SPEECH_FILE
            eaf = build_eaf(
                moments=shown,
                timeline=_read_csv(timeline_path),
                speech=_read_csv(speech_path),
                media=media,
            )
            eaf_path = write_eaf(eaf, target / f"{name}.eaf")
            result.files.append(eaf_path)
            notify("eaf", eaf_path)
            thumbs: dict[int, bytes] = {}
            if media is not None and session.has_video:
                for m in shown:
                    t = 0.5 * (float(m["start"]) + float(m["end"]))
                    try:
                        thumbs[int(m["rank"])] = thumbnail_jpeg(
                            media, t, width=settings.thumb_width
                        )
                    except VigcvError as exc:
                        result.warnings.append(f"{name}: no thumbnail at {clock(t)} ({exc})")
            page = report_html(
                session=name,
                duration=session.duration,
                moments=shown,
                thumbs=thumbs,
                timeline=timeline_data(session),
                confirmed_only=confirmed,
            )
            report_path = target / "report.html"
            write_text(report_path, page)
            result.files.append(report_path)
            notify("report", report_path)
            result.sessions += 1
    if sessions is None:
        csv_path = folder / "decisions.csv"
        write_csv(csv_path, _table(all_rows), float_format="%.3f")
        result.files.append(csv_path)
        notify("csv", csv_path)
    return result


def _table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    table = pd.DataFrame(
        [{k: _nan_none(v) for k, v in r.items()} for r in rows], columns=DECISION_COLUMNS
    )
    table["rank"] = table["rank"].astype("Int64")  # empty for decisions of vanished moments
    return table


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except (OSError, ValueError):
        return None


__all__ = ["ExportResult", "ExportSettings", "decisions_rows", "export_out", "write_clip"]
