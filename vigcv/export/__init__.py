"""Exports of reviewed sessions, for one of two audiences: the parent or the guider.

``export_out(OUT, audience=...)`` writes each session into a new dated folder of ``OUT/exports``
(or ``to``), never replacing an earlier export::

    <session>/<YYYY-MM-DD_HHMMSS>-parent/     what a guider shares with the family
        report.html                           only the kept moments, their clips playable in it
        clips/<session>-moment1-00m12s.mp4    one clip per kept moment, numbered in film order
    <session>/<YYYY-MM-DD_HHMMSS>-guider/     the guider's own record, not for sharing
        report.html                           every suggested moment, decisions, both notes
        clips/<session>-m01-00m12s.mp4        one clip per kept moment, named by rank
        <session>.eaf                         ELAN tiers: moments, mutual gaze, smiles, speech
        decisions.csv                         that session's decisions (private notes too)
    decisions-<YYYY-MM-DD_HHMMSS>.csv         (guider, all sessions at once) every decision

A session of more than two people also holds the moments of its other parent-child pairs
(``OUT/<session>/pairs/<parent>-<child>/``, reviewed on the review page like the session's own):
they go into the same folder and report, each moment captioned with whose it is ("Mum and Sam"),
and once an export holds another pair's moments every clip's name ends with its pair
(``<session>-moment2-00m09s-mum-and-sam.mp4``). The ELAN file and the report's timeline hold the
session's own pair's moments only.

The parent's version holds no private note, score, decision, set-aside or undecided moment, in
no file, file name or metadata. In both versions the clips and stills show only the people who
may be shown (by default those whose ``may_show`` is true: the parent figures and the index
child; ``keep`` names others by role, name or id): every other face, a bystander never tracked
included, is blurred (:mod:`vigcv.privacy`), and no clip carries the recording's metadata (GPS
location, camera, creation time). Each session's folder is built under a hidden ``.part`` name and
renamed into place, so an interrupted export leaves no half-written folder; a second export in
the same second gets ``-2``, ``-3``... appended.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import tempfile
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from vigcv.config import section_values
from vigcv.errors import VigcvError
from vigcv.export.clips import ClipResult, clock, write_clip
from vigcv.export.eaf import build_eaf, write_eaf
from vigcv.export.report import AUDIENCES, guider_report_html, moment_key, parent_report_html
from vigcv.hooks import Hook, no_hook
from vigcv.io.store import output_error, write_csv, write_text
from vigcv.privacy import BlurPlan, blur_plan, blurred_still
from vigcv.results import EXPORTS_FOLDER, SPEECH_FILE, TIMELINE_FILE, file_stem, list_sessions
from vigcv.results.decisions import ReviewStore, open_store
from vigcv.results.people import Pair, session_pairs
from vigcv.results.relink import relink_hint
from vigcv.results.sessions import (
    Session,
    load_session,
    orphaned_decisions,
    reviewed_moments,
    timeline_data,
)

DECISION_COLUMNS = (
    "session",
    "pair",  # "" the session's own moments, "<parent>-<child>" (person ids) another pair's
    "pair_names",  # whose moment: "Mum and Sam"
    "rank",
    "moment_start",
    "moment_end",
    "status",
    "clip_start",
    "clip_end",
    "clip_start_mmss",
    "clip_end_mmss",
    "note",
    "parent_note",
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
    # faces blurred in clips and stills (vigcv.privacy.BlurSettings reads these keys)
    blur_margin: float
    blur_hold_s: float
    blur_bridge_s: float
    blur_detect_every: int
    blur_detect_width: int
    blur_detect_threshold: float
    blur_match_iou: float
    blur_cells: int
    blur_threads: int
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

    folder: Path  # the exports folder (OUT/exports, or ``to``)
    audience: str = "parent"
    folders: list[Path] = field(default_factory=list)  # each exported session's new folder
    files: list[Path] = field(default_factory=list)
    clips: int = 0
    sessions: int = 0
    warnings: list[str] = field(default_factory=list)
    # kept moments left without a clip because their film was moved (`vigcv relink`)
    missing_clips: int = 0


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
                "pair": str(m.get("pair") or ""),
                "pair_names": str(m.get("pair_label") or ""),
                "rank": m.get("rank"),
                "moment_start": float(m["start"]),
                "moment_end": float(m["end"]),
                "status": d.get("status", ""),
                "clip_start": float(start),
                "clip_end": float(end),
                "clip_start_mmss": clock(start),
                "clip_end_mmss": clock(end),
                "note": d.get("note", ""),
                "parent_note": d.get("parent_note", ""),
                "reviewer": d.get("reviewer", ""),
                "updated_at": d.get("updated_at", ""),
                "score": float(m.get("score", 0.0)),
                "reasons": " | ".join(str(r) for r in m.get("reasons", [])),
            }
        )
    return rows


def pair_slug(label: str) -> str:
    """Whose moment in a file name: ``"Mum and Sam"`` -> ``"mum-and-sam"`` (letters and digits
    kept, any other run of characters one dash)."""
    words = "".join(c if c.isalnum() else " " for c in label.casefold()).split()
    return "-".join(words)[:60].strip("-")


def _suffix(pair: str) -> str:
    slug = pair_slug(pair) if pair else ""
    return f"-{slug}" if slug else ""


def clip_name(session: str, rank: int, start: float, *, pair: str = "") -> str:
    """The guider's name of a clip: the session, the moment's rank and start (``-m03-01m12s``),
    then whose moment when ``pair`` names it (``-m03-01m12s-mum-and-sam``)."""
    m, s = divmod(int(start), 60)
    return f"{file_stem(session)}-m{rank:02d}-{m:02d}m{s:02d}s{_suffix(pair)}.mp4"


def parent_clip_name(session: str, number: int, start: float, *, pair: str = "") -> str:
    """The parent's name of a clip: numbered 1..n in film order, so no gap in the numbers shows
    that a moment was left out (``-moment2-01m12s``), then whose moment when ``pair`` names it
    (``-moment2-01m12s-mum-and-sam``)."""
    m, s = divmod(int(start), 60)
    return f"{file_stem(session)}-moment{number}-{m:02d}m{s:02d}s{_suffix(pair)}.mp4"


def export_stamp(now: datetime | None = None) -> str:
    """The local date and time that names an export folder (``2025-03-07_141502``)."""
    return (now or datetime.now()).strftime("%Y-%m-%d_%H%M%S")


def export_out(
    out: str | Path,
    *,
    audience: str = "parent",
    to: str | Path | None = None,
    sessions: Sequence[str] | None = None,
    config: dict[str, Any] | None = None,
    hook: Hook | None = None,
    keep: Sequence[str] | None = None,
) -> ExportResult:
    """Export the reviewed sessions of ``out`` for the parent or for the guider.

    Parameters
    ----------
    out : path
        The OUT folder of `vigcv run` (with ``reviews.sqlite`` when reviewed).
    audience : {"parent", "guider"}
        ``parent``: a report to share holding only the kept moments (their clips, stills,
        reasons and the note for the parent); a session with nothing kept is left out, with a
        warning. ``guider``: every suggested moment with its decision and both notes, the ELAN
        file and the decisions CSV, marked "not for sharing".
    to : path, optional
        Where to write (default ``OUT/exports``); each session goes into a new dated folder of
        ``<to>/<session>/``.
    sessions : sequence of str, optional
        Only these sessions (default: all in ``out``).
    config : dict, optional
        Its ``[export]`` section tunes clips and thumbnails.
    hook : callable, optional
        ``hook(step, artifact)`` for each file once its session's folder is in place: "clip"
        (a :class:`ClipResult`), "eaf", "report", "csv" (a path).
    keep : sequence of str, optional
        Whose faces the clips and stills show (``--blur-all-except``): roles ``parent`` and
        ``child``, names given on the review page, person ids
        (:func:`vigcv.privacy.resolve_keep`). Default: everyone whose ``may_show`` is true.
        Every other face is blurred.

    Raises
    ------
    VigcvError
        A bad ``audience`` or session, a name in ``keep`` that is nobody of a session, an
        unwritable folder, or (parent) nothing to share: no session has a kept moment with its
        recording at hand.
    """
    if audience not in AUDIENCES:
        raise VigcvError(f"audience must be one of {', '.join(AUDIENCES)}, got {audience!r}")
    out = Path(out)
    if not out.is_dir():
        raise VigcvError(f"{out}: no such output folder; give the --out folder of `vigcv run`")
    settings = ExportSettings.from_config(config)
    folder = Path(to) if to is not None else out / EXPORTS_FOLDER
    known = list_sessions(out)
    names = list(sessions) if sessions is not None else known
    for name in names:
        if name not in known:
            raise VigcvError(f"{out / name}: not a processed session (no run.json)")
    if not names:
        raise VigcvError(f"{out}: no processed sessions to export; run `vigcv run` first")
    notify = hook or no_hook
    stamp = export_stamp()
    result = ExportResult(folder=folder, audience=audience)
    all_rows: list[dict[str, Any]] = []
    notes: list[str] = []  # sessions without face tracks, told after the export
    plans = {name: _blur_plan(out, name, keep, config, notes) for name in names}
    with open_store(out, min_iou=settings.match_iou) as store:
        for name in names:
            session = load_session(out, name)
            plan = plans[name]
            pairs = _pairs(out, session, config)
            if audience == "parent":
                made = _export_parent(out, session, settings=settings, store=store,
                                      folder=folder, stamp=stamp, result=result,
                                      plan=plan, pairs=pairs)  # fmt: skip
            else:
                made = _export_guider(session, settings=settings, store=store, folder=folder,
                                      stamp=stamp, result=result, rows=all_rows,
                                      plan=plan, pairs=pairs)  # fmt: skip
            if made is None:
                continue
            result.folders.append(made[0])
            result.sessions += 1
            for step, artifact in made[1]:
                notify(step, artifact)
    if audience == "parent" and result.sessions == 0:
        more = len(result.warnings) - 1
        raise VigcvError(
            "nothing to share: "
            + result.warnings[0]
            + (f" (and {more} more session(s) alike)" if more > 0 else "")
        )
    result.warnings.extend(notes)
    if audience == "guider" and sessions is None:
        csv_path = _place_csv(folder, f"decisions-{stamp}", _table(all_rows))
        result.files.append(csv_path)
        notify("csv", csv_path)
    return result


Made = tuple[Path, list[tuple[str, Any]]]  # a session's placed folder and its hook calls


def _blur_plan(
    out: Path,
    name: str,
    keep: Sequence[str] | None,
    config: dict[str, Any] | None,
    notes: list[str],
) -> BlurPlan:
    """Whose faces a session's clips and stills show (checked before anything is written)."""
    plan = blur_plan(out / name, keep, config=config)
    if plan.tracks is None:
        notes.append(
            f"{name}: no face tracks (features.parquet), so every face in its clips is "
            "blurred; run `vigcv run --force` on its film to show the people who may be shown"
        )
    return plan


def _kept(moments: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in moments if (m.get("decision") or {}).get("status") == "accepted"]


# The session's own moments and those of each more pair: (that pair's session, its names).
Units = list[tuple[Session, Pair]]


def _pairs(out: Path, session: Session, config: dict[str, Any] | None) -> Units:
    """The session with its own pair's names, then each more pair of the session."""
    units: Units = []
    for pair in session_pairs(out, session.name, config=config):
        if not pair.key:
            units.append((session, pair))
            continue
        try:
            units.append((load_session(out, session.name, pair=pair.key), pair))
        except KeyError:
            continue  # gone since listed
    if not units or units[0][1].key:  # a session without people: its own pair, unnamed
        units.insert(0, (session, Pair("", None, None, "the parent and the child", True)))
    return units


def _reviewed(units: Units, store: ReviewStore, *, named: bool | None) -> list[dict[str, Any]]:
    """Every unit's moments with decisions, each marked with its ``pair`` and, when the pairs
    are ``named`` (None: whenever there is more than one unit), ``pair_label`` and a ``key``
    unique in the session (ranks repeat across pairs)."""
    moments: list[dict[str, Any]] = []
    for session, pair in units:
        for m in reviewed_moments(session, store):
            moments.append({**m, "pair": pair.key, "_label": pair.label})
    if named is None:
        named = len(units) > 1
    for key, m in enumerate(moments, start=1):
        label = m.pop("_label")
        if named:
            m["pair_label"] = label
            m["key"] = key
    return moments


def _export_parent(
    out: Path,
    session: Session,
    *,
    settings: ExportSettings,
    store: ReviewStore,
    folder: Path,
    stamp: str,
    result: ExportResult,
    plan: BlurPlan,
    pairs: Units,
) -> Made | None:
    name = session.name
    everything = _reviewed(pairs, store, named=False)
    # the pairs are named once another pair's moment is kept
    named = any(m["pair"] for m in _kept(everything))
    kept = _kept(_reviewed(pairs, store, named=True) if named else everything)
    kept.sort(key=lambda m: float(m["bounds"][0]))
    if not kept:
        result.warnings.append(
            f"{name}: no moment is kept for the parent yet; keep moments on the review page "
            f"(`vigcv review {out}`) first"
        )
        return None
    if session.media is None:
        result.warnings.append(f"{name}: {_missing(session)}, so no clips can be cut to share")
        result.missing_clips += len(kept) if session.has_video else 0
        return None
    if not session.has_video:
        result.warnings.append(f"{name}: the recording has no video, so no clips to share")
        return None
    names = {
        moment_key(m): parent_clip_name(
            name, k, float(m["bounds"][0]), pair=str(m.get("pair_label") or "")
        )
        for k, m in enumerate(kept, start=1)
    }
    with _Staging(folder / name, f"{stamp}-parent") as stage:
        clips = _cut_clips(
            session, kept, names, stage.part, settings=settings, result=result, plan=plan
        )
        thumbs = _stills(session, kept, settings=settings, result=result, plan=plan)
        page = parent_report_html(
            session=name, moments=kept, thumbs=thumbs, clips=_clip_links(clips)
        )
        write_text(stage.part / "report.html", page)
        return _placed(stage, clips, [("report", "report.html")], result)


def _export_guider(
    session: Session,
    *,
    settings: ExportSettings,
    store: ReviewStore,
    folder: Path,
    stamp: str,
    result: ExportResult,
    rows: list[dict[str, Any]],
    plan: BlurPlan,
    pairs: Units,
) -> Made:
    name = session.name
    moments = _reviewed(pairs, store, named=None)
    kept = _kept(moments)
    session_rows = decisions_rows(name, moments)
    # decisions no current moment matches (after a re-score), also of a pair no longer found
    here = {pair.key for _, pair in pairs}
    gone = [d for d in store.decisions(name, pair=None) if d.pair not in here]
    orphans = [(d, pair) for unit, pair in pairs for d in orphaned_decisions(unit, store)]
    for d, pair in [*orphans, *((d, None) for d in gone)]:
        start, end = d.bounds()
        label = pair.label if pair is not None and len(pairs) > 1 else ""
        orphan: dict[str, Any] = {
            "rank": None, "start": d.start, "end": d.end, "score": math.nan,
            "decision": d.to_dict(), "bounds": [start, end], "reasons": [],
            "pair": d.pair, "pair_label": label,
        }  # fmt: skip
        session_rows.extend(decisions_rows(name, [orphan]))
    rows.extend(session_rows)
    media = session.media
    if media is None:
        result.warnings.append(f"{name}: {_missing(session)}; no clips or stills")
        result.missing_clips += len(kept) if session.has_video else 0
    elif kept and not session.has_video:
        result.warnings.append(f"{name}: audio only, so no video clips")
    names = {
        moment_key(m): clip_name(
            name, int(m["rank"]), float(m["bounds"][0]), pair=str(m.get("pair_label") or "")
        )
        for m in kept
    }
    with _Staging(folder / name, f"{stamp}-guider") as stage:
        part = stage.part
        clips = _cut_clips(session, kept, names, part, settings=settings, result=result, plan=plan)
        thumbs = _stills(session, moments, settings=settings, result=result, plan=plan)
        write_csv(part / "decisions.csv", _table(session_rows), float_format="%.3f")
        eaf = build_eaf(
            moments=[m for m in moments if not m["pair"]],  # the session's own pair's
            timeline=_read_csv(session.folder / TIMELINE_FILE),
            speech=_read_csv(session.folder / SPEECH_FILE),
            media=media,
        )
        write_eaf(eaf, part / f"{file_stem(name)}.eaf")
        page = guider_report_html(
            session=name,
            duration=session.duration,
            moments=moments,
            thumbs=thumbs,
            clips=_clip_links(clips),
            timeline=timeline_data(session),
        )
        write_text(part / "report.html", page)
        written = [
            ("csv", "decisions.csv"),
            ("eaf", f"{file_stem(name)}.eaf"),
            ("report", "report.html"),
        ]
        return _placed(stage, clips, written, result)


def _missing(session: Session) -> str:
    where = session.input or "its recorded place"
    return f"the recording is not found at {where}: {relink_hint(session.folder.parent)}"


def _cut_clips(
    session: Session,
    moments: Sequence[dict[str, Any]],
    names: dict[int, str],
    part: Path,
    *,
    settings: ExportSettings,
    result: ExportResult,
    plan: BlurPlan,
) -> dict[int, ClipResult]:
    """Cut each moment's clip (its trimmed bounds) into ``part/clips``: its rank (its
    :func:`~vigcv.export.report.moment_key`) -> what was cut."""
    media = session.media
    if media is None or not session.has_video:
        return {}
    clips: dict[int, ClipResult] = {}
    for m in moments:
        rank, key = int(m["rank"]), moment_key(m)
        start, end = m["bounds"]
        try:
            clips[key] = write_clip(
                media,
                part / "clips" / names[key],
                start=float(start),
                end=float(end),
                caption=settings.caption,
                crf=settings.crf,
                max_side=settings.max_side,
                audio_bitrate=settings.audio_bitrate,
                blur=plan,
            )
        except VigcvError as exc:
            result.warnings.append(f"{session.name}: no clip of moment {rank} ({exc})")
    return clips


def _clip_links(clips: dict[int, ClipResult]) -> dict[int, str]:
    """rank -> the clip's URL relative to the report (``clips/<quoted name>``)."""
    return {rank: "clips/" + urllib.parse.quote(c.path.name) for rank, c in clips.items()}


def _stills(
    session: Session,
    moments: Sequence[dict[str, Any]],
    *,
    settings: ExportSettings,
    result: ExportResult,
    plan: BlurPlan,
) -> dict[int, bytes]:
    """rank (:func:`~vigcv.export.report.moment_key`) -> a JPEG of the picture in the middle of
    the moment (none without the film), with the faces ``plan`` does not keep blurred."""
    media = session.media
    if media is None or not session.has_video:
        return {}
    thumbs: dict[int, bytes] = {}
    for m in moments:
        t = 0.5 * (float(m["start"]) + float(m["end"]))
        try:
            thumbs[moment_key(m)] = blurred_still(media, t, width=settings.thumb_width, plan=plan)
        except VigcvError as exc:
            result.warnings.append(f"{session.name}: no still at {clock(t)} ({exc})")
    return thumbs


class _Staging:
    """``with _Staging(parent, stem) as stage``: a hidden folder ``stage.part`` to write one
    export into; ``stage.place()`` renames it to ``parent/stem`` (``stem-2``, ``stem-3``... when
    taken) and returns that path. Left unplaced (an error), the hidden folder is removed."""

    def __init__(self, parent: Path, stem: str) -> None:
        self.parent, self.stem = parent, stem
        self.part = parent / f".{stem}.part"

    def __enter__(self) -> _Staging:
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
            self.part = Path(
                tempfile.mkdtemp(dir=self.parent, prefix=f".{self.stem}.", suffix=".part")
            )
        except OSError as exc:
            raise output_error(self.parent, exc) from None
        return self

    def place(self) -> Path:
        for k in range(1, 1000):
            final = self.parent / (self.stem if k == 1 else f"{self.stem}-{k}")
            if final.exists():
                continue
            try:
                os.rename(self.part, final)  # refused onto a folder with files: never overwrites
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    continue
                raise output_error(final, exc) from None
            return final
        raise VigcvError(f"{self.parent}: too many exports named {self.stem}; remove some")

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.part, ignore_errors=True)  # already gone when placed


def _placed(
    stage: _Staging,
    clips: dict[int, ClipResult],
    written: list[tuple[str, str]],
    result: ExportResult,
) -> Made:
    """Place the staged folder; record its files in ``result``; the hook calls to make."""
    final = stage.place()
    steps: list[tuple[str, Any]] = []
    for clip in clips.values():
        moved = replace(clip, path=final / clip.path.relative_to(stage.part))
        result.files.append(moved.path)
        result.clips += 1
        steps.append(("clip", moved))
    for step, name in written:
        result.files.append(final / name)
        steps.append((step, final / name))
    return final, steps


def _place_csv(folder: Path, stem: str, table: pd.DataFrame) -> Path:
    """Write ``table`` to ``folder/<stem>.csv`` (``<stem>-2.csv``...: never over a file)."""
    with _Staging(folder, stem) as stage:
        tmp = stage.part / "table.csv"
        write_csv(tmp, table, float_format="%.3f")
        for k in range(1, 1000):
            final = folder / (f"{stem}.csv" if k == 1 else f"{stem}-{k}.csv")
            try:
                os.link(tmp, final)  # refused when the name is taken
            except FileExistsError:
                continue
            except OSError as exc:  # a file system without hard links (FAT, some shares)
                if final.exists():
                    continue
                try:
                    os.replace(tmp, final)
                except OSError:
                    raise output_error(final, exc) from None
            return final
    raise VigcvError(f"{folder}: too many exports named {stem}; remove some")


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


__all__ = [
    "AUDIENCES",
    "ExportResult",
    "ExportSettings",
    "decisions_rows",
    "export_out",
    "export_stamp",
    "pair_slug",
    "write_clip",
]
