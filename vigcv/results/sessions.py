"""A processed session read for display: the review page and the exports.

The files come through :mod:`vigcv.results.folder`. Everything here only reads; missing or
damaged files give empty tables and a line in ``problems``, never an exception, so one broken
session does not hide the others.

A session of more than two people also holds the moments of each more parent-child pair
(``pairs/<parent>-<child>/``): ``load_session(out, name, pair="<parent>-<child>")`` reads one as
a :class:`Session` of its own whose decisions are kept apart from the session's own
(``pair`` of :mod:`vigcv.results.decisions`); :func:`vigcv.results.people.session_pairs` names
them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vigcv.config import setting
from vigcv.errors import VigcvError
from vigcv.results.decisions import Decision, ReviewStore
from vigcv.results.folder import (
    MOMENTS_JSON,
    RUN_FILE,
    SPEECH_FILE,
    TIMELINE_FILE,
    WINDOWS_FILE,
    list_pairs,
    list_sessions,
    pair_dir,
    pair_key,
    parse_pair_key,
    read_moments,
    read_run,
    read_speech,
    read_timeline,
    recording,
)
from vigcv.scoring.components import COMPONENT_NAMES
from vigcv.types import Segment

TIMELINE_CURVES = ("mutual_gaze", "parent_smile", "child_smile")
MIN_CLIP_S = 0.2  # seconds: shorter trimmed bounds fall back to the moment's own


@dataclass(frozen=True)
class Session:
    """One processed session folder, read."""

    name: str
    folder: Path
    run: dict[str, Any]
    moments: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)
    pair: str = ""  # "" the session's own moments; "<parent>-<child>" one more pair's

    @property
    def moments_folder(self) -> Path:
        """Where these moments, their windows and timeline are: the session folder, or
        ``pairs/<parent>-<child>/`` in it."""
        ids = parse_pair_key(self.pair) if self.pair else None
        return self.folder if ids is None else pair_dir(self.folder, *ids)

    @property
    def status(self) -> str:
        return str(self.run.get("status", "unknown"))

    @property
    def duration(self) -> float:
        media = self.run.get("media") or {}
        value = media.get("duration_s", 0.0)
        try:
            return float(value)
        except (TypeError, ValueError):
            return 0.0

    @property
    def has_video(self) -> bool:
        return bool((self.run.get("media") or {}).get("has_video", False))

    @property
    def input(self) -> Path | None:
        """The recording the session was made from (absolute), if run.json names one."""
        value = self.run.get("input")
        return Path(value) if isinstance(value, str) and value else None

    @property
    def media(self) -> Path | None:
        """The recording, when it is still where run.json says (else None)."""
        return recording(self.run)

    @property
    def roles_swapped(self) -> bool:
        return bool(self.run.get("roles_swapped", False))

    def segments(self) -> list[Segment]:
        return [moment_segment(m) for m in self.moments]


def moment_segment(moment: dict[str, Any]) -> Segment:
    start = float(moment["start"])
    return Segment(start, max(start, float(moment["end"])))


def pair_keys(out: Path, name: str) -> list[str]:
    """The keys (``"<parent>-<child>"``) of the session's more pairs that have moments."""
    return [pair_key(a, b) for a, b in list_pairs(Path(out) / name)]


def load_session(out: Path, name: str, *, pair: str = "") -> Session:
    """Read ``out/<name>``, its own moments or (``pair`` ``"<parent>-<child>"``) those of one
    more pair; raises KeyError when it is not a session of ``out`` or has no such pair."""
    if name not in list_sessions(out):
        raise KeyError(name)
    folder = out / name
    if pair and pair not in pair_keys(out, name):
        raise KeyError(f"{name} {pair}")
    problems: list[str] = []
    run = read_run(folder, missing_ok=True)
    if not run:
        problems.append(f"{RUN_FILE} cannot be read")
    session = Session(name=name, folder=folder, run=run, moments=[], pair=pair)
    where = session.moments_folder
    try:
        moments = [m.to_dict() for m in read_moments(where)]
    except VigcvError:
        problems.append(f"{MOMENTS_JSON} cannot be read; run `vigcv score` on this session")
        moments = []
    if run.get("status") == "ok" and not (where / MOMENTS_JSON).is_file():
        problems.append(f"no {MOMENTS_JSON} yet; run `vigcv score` on this session")
    return Session(name=name, folder=folder, run=run, moments=moments, problems=problems, pair=pair)


def reviewed_moments(session: Session, store: ReviewStore) -> list[dict[str, Any]]:
    """The session's (or its pair's) moments, each with ``decision`` (dict or None) attached by
    temporal IoU to the decisions of the same pair."""
    attached = store.attach(session.name, session.segments(), pair=session.pair)
    out = []
    for i, m in enumerate(session.moments):
        d: Decision | None = attached.get(i)
        item = dict(m)
        item["decision"] = d.to_dict() if d is not None else None
        own = [float(m["start"]), float(m["end"])]
        item["bounds"] = own
        if d is not None:
            start, end = d.bounds()
            # trims from two tabs can cross; a clip needs a positive length
            item["bounds"] = [start, end] if end - start >= MIN_CLIP_S else own
        out.append(item)
    return out


def orphaned_decisions(session: Session, store: ReviewStore) -> list[Decision]:
    """Stored decisions of ``session`` (of its pair) that no current moment matches (after a
    re-score)."""
    pair = session.pair
    attached = {d.id for d in store.attach(session.name, session.segments(), pair=pair).values()}
    return [d for d in store.decisions(session.name, pair=pair) if d.id not in attached]


def _thin(table: pd.DataFrame, *, max_points: int) -> pd.DataFrame:
    """At most ``max_points`` rows, averaging runs of neighbouring rows (keeps peaks visible)."""
    n = len(table)
    if n <= max_points or max_points <= 0:
        return table
    groups = np.floor(np.arange(n) * max_points / n).astype(int)
    return table.groupby(groups).mean(numeric_only=True).reset_index(drop=True)


def _clean(values: Any) -> list[float | None]:
    out: list[float | None] = []
    for v in np.asarray(values, dtype=float).tolist():
        out.append(None if not math.isfinite(v) else round(v, 3))
    return out


def timeline_data(session: Session, *, max_points: int | None = None) -> dict[str, Any]:
    """What the page's timeline draws: component curves, gaze/smile curves, speech, moments.

    Returns
    -------
    dict
        ``duration`` (s); ``windows`` = {"t": centres (s), "<component>": values 0..1,
        "score": 0..1}; ``signals`` = {"t": s, "mutual_gaze" | "parent_smile" | "child_smile":
        0..1}; ``speech`` = [{"start", "end", "speaker"}]; ``problems``: lines for the guider.
    """
    max_points = int(setting("review", "timeline_points", max_points))
    problems: list[str] = []
    folder = session.folder
    here = session.moments_folder  # a pair's windows and timeline; the session's speech
    windows: dict[str, Any] = {"t": []}
    path = here / WINDOWS_FILE
    if path.is_file():
        try:
            table = pd.read_parquet(path)
            if {"start", "end"} <= set(table.columns) and len(table):
                table = table.sort_values("start")
                cols = [c for c in (*COMPONENT_NAMES, "score") if c in table.columns]
                small = table[["start", "end", *cols]].astype(float)
                small = small.assign(t=0.5 * (small["start"] + small["end"]))
                small = _thin(small, max_points=max_points)
                windows = {"t": _clean(small["t"])}
                windows.update({c: _clean(small[c]) for c in cols})
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"{WINDOWS_FILE} cannot be read ({exc.__class__.__name__})")
    signals: dict[str, Any] = {"t": []}
    if (here / TIMELINE_FILE).is_file():
        try:
            table = read_timeline(here)
            cols = [c for c in TIMELINE_CURVES if c in table.columns]
            if "t" in table.columns and len(table):
                small = _thin(table[["t", *cols]].astype(float), max_points=max_points)
                signals = {"t": _clean(small["t"])}
                signals.update({c: _clean(small[c]) for c in cols})
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"{TIMELINE_FILE} cannot be read ({exc.__class__.__name__})")
    speech: list[dict[str, Any]] = []
    if (folder / SPEECH_FILE).is_file():
        try:
            table = read_speech(folder)
            for row in table.itertuples(index=False):
                start, end = float(row.start), float(row.end)
                if math.isfinite(start) and math.isfinite(end) and end > start:
                    speech.append(
                        {
                            "start": round(start, 3),
                            "end": round(end, 3),
                            "speaker": str(row.speaker),
                        }
                    )
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            problems.append(f"{SPEECH_FILE} cannot be read ({exc.__class__.__name__})")
    duration = session.duration
    for seq in (windows["t"], signals["t"]):
        last = seq[-1] if seq else None
        if isinstance(last, int | float):
            duration = max(duration, float(last))
    if speech:
        duration = max(duration, max(float(s["end"]) for s in speech))
    return {
        "duration": round(duration, 3),
        "windows": windows,
        "signals": signals,
        "speech": speech,
        "problems": problems,
    }
