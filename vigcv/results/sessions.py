"""Read the processed sessions of an OUT folder for the review page and the exports.

A session is a folder ``OUT/<session>/`` with ``run.json`` (and, when processing went well,
``moments.json``, ``windows.parquet``, ``timeline.csv`` and ``speech.csv``). Everything here only
reads; missing or damaged files give empty tables and a line in ``problems``, never an exception,
so one broken session does not hide the others.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vigcv.review.store import Decision, ReviewStore
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
    def roles_swapped(self) -> bool:
        return bool(self.run.get("roles_swapped", False))

    def segments(self) -> list[Segment]:
        return [moment_segment(m) for m in self.moments]


def moment_segment(moment: dict[str, Any]) -> Segment:
    start = float(moment["start"])
    return Segment(start, max(start, float(moment["end"])))


def _read_json(path: Path, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        problems.append(f"{path.name} cannot be read ({exc.__class__.__name__})")
        return None


def is_session(folder: Path) -> bool:
    return folder.is_dir() and not folder.is_symlink() and (folder / "run.json").is_file()


def list_sessions(out: Path) -> list[str]:
    """Names of the session folders in ``out`` (those with a run.json), sorted."""
    if not out.is_dir():
        return []
    return sorted(p.name for p in out.iterdir() if not p.name.startswith(".") and is_session(p))


def failed_sessions(out: Path) -> list[dict[str, str]]:
    """Sessions that `vigcv run` could not process: rows of ``OUT/summary.csv`` with status
    ``failed`` and no finished session folder (``{"name", "reason", "input"}``)."""
    path = out / "summary.csv"
    if not path.is_file():
        return []
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError):
        return []
    if not {"session", "status"} <= set(table.columns):
        return []
    done = set(list_sessions(out))
    rows = []
    for row in table.to_dict("records"):
        name = str(row.get("session", ""))
        if row.get("status") == "failed" and name and name not in done:
            rows.append(
                {
                    "name": name,
                    "reason": str(row.get("reason", "")),
                    "input": str(row.get("input", "")),
                }
            )
    return rows


def load_session(out: Path, name: str) -> Session:
    """Read ``out/<name>``; raises KeyError when it is not a session of ``out``."""
    if name not in list_sessions(out):
        raise KeyError(name)
    folder = out / name
    problems: list[str] = []
    run = _read_json(folder / "run.json", problems) or {}
    doc = _read_json(folder / "moments.json", problems) or {}
    moments = []
    for m in doc.get("moments", []) if isinstance(doc, dict) else []:
        try:
            moment_segment(m)
            float(m.get("score", 0.0))
        except (KeyError, TypeError, ValueError):
            problems.append("moments.json has a moment without valid start/end")
            continue
        moments.append(m)
    moments.sort(key=lambda m: (int(m.get("rank", 0)), float(m["start"])))
    if run.get("status") == "ok" and not (folder / "moments.json").is_file():
        problems.append("no moments.json yet; run `vigcv score` on this session")
    return Session(name=name, folder=folder, run=run, moments=moments, problems=problems)


def reviewed_moments(session: Session, store: ReviewStore) -> list[dict[str, Any]]:
    """The session's moments, each with ``decision`` (dict or None) attached by temporal IoU."""
    attached = store.attach(session.name, session.segments())
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
    """Stored decisions of ``session`` that no current moment matches (after a re-score)."""
    attached = {d.id for d in store.attach(session.name, session.segments()).values()}
    return [d for d in store.decisions(session.name) if d.id not in attached]


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


def timeline_data(session: Session, *, max_points: int = 1500) -> dict[str, Any]:
    """What the page's timeline draws: component curves, gaze/smile curves, speech, moments.

    Returns
    -------
    dict
        ``duration`` (s); ``windows`` = {"t": centres (s), "<component>": values 0..1,
        "score": 0..1}; ``signals`` = {"t": s, "mutual_gaze" | "parent_smile" | "child_smile":
        0..1}; ``speech`` = [{"start", "end", "speaker"}]; ``problems``: lines for the guider.
    """
    problems: list[str] = []
    folder = session.folder
    windows: dict[str, Any] = {"t": []}
    path = folder / "windows.parquet"
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
            problems.append(f"windows.parquet cannot be read ({exc.__class__.__name__})")
    signals: dict[str, Any] = {"t": []}
    path = folder / "timeline.csv"
    if path.is_file():
        try:
            table = pd.read_csv(path)
            cols = [c for c in TIMELINE_CURVES if c in table.columns]
            if "t" in table.columns and len(table):
                small = _thin(table[["t", *cols]].astype(float), max_points=max_points)
                signals = {"t": _clean(small["t"])}
                signals.update({c: _clean(small[c]) for c in cols})
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"timeline.csv cannot be read ({exc.__class__.__name__})")
    speech: list[dict[str, Any]] = []
    path = folder / "speech.csv"
    if path.is_file():
        try:
            table = pd.read_csv(path)
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
            problems.append(f"speech.csv cannot be read ({exc.__class__.__name__})")
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
