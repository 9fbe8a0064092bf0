"""The same few indicators for every visit, computed from its session folder alone.

Each number is read from the files `vigcv run` wrote (timeline.csv, turns.csv, speech.csv,
moments.json, run.json), with fixed thresholds, so a visit gives the same indicators whether it
was run alone or with its family, and two visits are measured the same way:

- ``mutual_gaze_min_per_10min``: minutes with mutual gaze (``mutual_gaze`` >= 0.5) per 10
  minutes of film;
- ``initiatives``, ``answered_2s``, ``answered_share``: the child's initiatives (turns.csv rows
  from the child to the parent: a vocal turn, a look at the parent, a smile; one listed twice
  counted once), those the parent answered within 2 s (turns.csv's ``latency_s``) or met
  already looking at the child (timeline.csv's ``parent_looks_at_child`` >= 0.5 within
  :data:`ATTENDING_S` of it: a look met by a look is answered), and their share;
- ``shared_smiles_per_10min``: stretches where both smile (both >= 0.5 for 0.5 s or more;
  gaps under 1 s joined) and shared laughter (overlapping laughter of both, when speech.csv
  tells laughter), per 10 minutes of film;
- ``turns_per_min``: changes of speaker between parent and child per minute;
- ``moments_above``: suggested moments scoring at least :data:`MOMENT_SCORE`.

Measurement quality: ``both_faces_share`` is the share of the film where both faces were
measured (``parent_visible`` and ``child_visible`` >= 0.5), ``child_face_share`` the child's
alone. Below :data:`QUALITY_MIN`, the visit's gaze and smile figures are marked not comparable
(``comparable`` false, and a plain-English ``quality_note``): few faces seen is not a drop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vigcv.errors import VigcvError
from vigcv.family.dates import visit_dates
from vigcv.intervals import true_runs
from vigcv.io import store
from vigcv.results.folder import (
    PROGRESS_FILE,
    read_moments,
    read_run,
    read_speech,
    read_timeline,
    read_turns,
    session_name,
)

ANSWER_WITHIN_S = 2.0  # seconds: an initiative answered this fast counts as answered
ATTENDING_S = 0.5  # seconds: the parent looking at the child this soon after it: answered
MOMENT_SCORE = 0.5  # a suggested moment at least this strong is counted
SIGNAL_MIN = 0.5  # a probability at least this high counts as yes (gaze, smile, face seen)
SMILE_MIN_S = 0.5  # seconds: shortest shared smile counted
SMILE_GAP_S = 1.0  # seconds: shared smiles closer than this are one
QUALITY_MIN = 0.6  # below this share of the film with both faces measured: not comparable

# (column, plain-English name, unit, depends on the faces being seen)
INDICATORS: tuple[tuple[str, str, str, bool], ...] = (
    ("mutual_gaze_min_per_10min", "Mutual gaze", "minutes per 10 minutes", True),
    ("answered_share", "Child's initiatives answered within 2 s", "share", True),
    ("answered_2s", "Child's initiatives answered within 2 s", "count", True),
    ("shared_smiles_per_10min", "Shared smiles and laughter", "per 10 minutes", True),
    ("turns_per_min", "Turns between parent and child", "per minute", False),
    ("moments_above", "Strong moments suggested", "count", False),
)
PROGRESS_COLUMNS = (
    "visit",
    "session",
    "date",
    "date_source",
    "film_min",
    "both_faces_share",
    "child_face_share",
    "comparable",
    "quality_note",
    "mutual_gaze_min_per_10min",
    "initiatives",
    "answered_2s",
    "answered_share",
    "shared_smiles_per_10min",
    "turns_per_min",
    "moments_above",
)


def _step_lengths(t: np.ndarray, duration: float) -> np.ndarray:
    """Seconds each timeline row stands for (the gap to the next row; the last: the median)."""
    if len(t) == 0:
        return np.zeros(0)
    gaps = np.diff(t)
    typical = float(np.median(gaps)) if len(gaps) else max(duration, 0.0)
    gaps = np.append(gaps, typical)
    return np.clip(gaps, 0.0, 4 * typical if typical > 0 else np.inf)


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    if name not in table:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)


def _shared_runs(both: np.ndarray, t: np.ndarray, steps: np.ndarray) -> int:
    """Stretches of ``both`` (bool per row) lasting SMILE_MIN_S, gaps under SMILE_GAP_S joined."""
    spans = [(float(t[a]), float(t[b - 1] + steps[b - 1])) for a, b in true_runs(both)]
    joined: list[list[float]] = []
    for start, end in spans:
        if joined and start - joined[-1][1] < SMILE_GAP_S:
            joined[-1][1] = end
        else:
            joined.append([start, end])
    return sum(1 for start, end in joined if end - start >= SMILE_MIN_S)


def _shared_laughs(folder: Path) -> int:
    """Overlapping laughter of parent and child, when speech.csv tells laughter."""
    try:
        speech = read_speech(folder)
    except (FileNotFoundError, OSError, ValueError, pd.errors.ParserError):
        return 0
    if "laughter" not in speech or len(speech) == 0:
        return 0
    laugh = speech[pd.to_numeric(speech["laughter"], errors="coerce").fillna(0) >= SIGNAL_MIN]
    parent = laugh[laugh["speaker"].astype(str) == "parent"]
    child = laugh[laugh["speaker"].astype(str) == "child"]
    return sum(
        1
        for _, p in parent.iterrows()
        if ((child["start"] < p["end"]) & (child["end"] > p["start"])).any()
    )


def visit_indicators(folder: Path) -> dict[str, Any]:
    """The indicators of one session folder (see the module notes); NaN where not measured.

    Raises :class:`VigcvError` when the folder has no timeline (not processed).
    """
    folder = Path(folder)
    try:
        timeline = read_timeline(folder)
    except FileNotFoundError:
        raise VigcvError(f"{folder}: no timeline yet; run `vigcv run` on this visit") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise VigcvError(
            f"{folder}: its timeline cannot be read ({exc.__class__.__name__}); "
            "run `vigcv run --force` on this visit"
        ) from None
    run = read_run(folder, missing_ok=True)
    t = _column(timeline, "t")
    media = run.get("media") if isinstance(run.get("media"), dict) else {}
    try:
        duration = float((media or {}).get("duration_s") or 0.0)
    except (TypeError, ValueError):
        duration = 0.0
    steps = _step_lengths(t, duration)
    if duration <= 0:
        duration = float(steps.sum())
    per10 = 600.0 / duration if duration > 0 else math.nan
    seen = np.nan_to_num(_column(timeline, "parent_visible")) >= SIGNAL_MIN
    child_seen = np.nan_to_num(_column(timeline, "child_visible")) >= SIGNAL_MIN
    total = float(steps.sum()) or math.nan
    both_share = float(steps[seen & child_seen].sum()) / total
    child_share = float(steps[child_seen].sum()) / total

    mutual = np.nan_to_num(_column(timeline, "mutual_gaze")) >= SIGNAL_MIN
    gaze_min = float(steps[mutual].sum()) / 60.0
    both_smile = np.fmin(_column(timeline, "parent_smile"), _column(timeline, "child_smile"))
    shared = _shared_runs(np.nan_to_num(both_smile) >= SIGNAL_MIN, t, steps)
    shared += _shared_laughs(folder)

    try:
        turns = read_turns(folder)
    except (FileNotFoundError, OSError, ValueError, pd.errors.ParserError):
        turns = pd.DataFrame(columns=["time", "from", "to", "latency_s", "event"])
    sides = turns["from"].astype(str) + ">" + turns["to"].astype(str)
    child_starts = turns[sides == "child>parent"].copy()
    # one initiative can be listed twice (as a switch and as an initiative answered by a look)
    child_starts["latency"] = pd.to_numeric(child_starts["latency_s"], errors="coerce")
    child_starts["key"] = pd.to_numeric(child_starts["time"], errors="coerce").round(2).astype(
        str
    ) + child_starts.get("kind", pd.Series("", index=child_starts.index)).astype(str)
    first = child_starts.sort_values("latency", na_position="last").drop_duplicates("key")
    initiatives = len(first)
    looks = np.nan_to_num(_column(timeline, "parent_looks_at_child")) >= SIGNAL_MIN
    times = pd.to_numeric(first["time"], errors="coerce").to_numpy(dtype=float)
    attending = np.array(
        [bool(looks[(t >= when) & (t <= when + ATTENDING_S)].any()) for when in times], dtype=bool
    )
    answered = int(((first["latency"] <= ANSWER_WITHIN_S).to_numpy() | attending).sum())
    switch = turns["event"].astype(str) == "switch" if "event" in turns else sides != ""
    turn_count = int((switch & sides.isin(["child>parent", "parent>child"])).sum())

    try:
        moments = read_moments(folder)
    except VigcvError:
        moments = []
    comparable = bool(both_share >= QUALITY_MIN)
    note = ""
    if not comparable:
        who = "the child's face" if child_share < both_share + 0.1 else "both faces"
        seen_share = child_share if who == "the child's face" else both_share
        note = (
            f"{who} seen in only {seen_share:.0%} of the film: this visit's gaze and smile "
            "figures are not comparable with the others"
        )
    return {
        "film_min": duration / 60.0,
        "both_faces_share": both_share,
        "child_face_share": child_share,
        "comparable": comparable,
        "quality_note": note,
        "mutual_gaze_min_per_10min": gaze_min * per10,
        "initiatives": initiatives,
        "answered_2s": answered,
        "answered_share": answered / initiatives if initiatives else math.nan,
        "shared_smiles_per_10min": shared * per10,
        "turns_per_min": turn_count / (duration / 60.0) if duration > 0 else math.nan,
        "moments_above": sum(1 for m in moments if m.score >= MOMENT_SCORE),
    }


def progress_table(family: Path) -> pd.DataFrame:
    """One row per processed visit of a family folder, in date order (then by name); a visit
    not analysed yet (no timeline: failed or interrupted) has no row."""
    family = Path(family)
    rows = []
    for visit, (date, source) in visit_dates(family).items():
        row: dict[str, Any] = {
            "visit": visit,
            "session": session_name(family / visit),
            "date": date.isoformat(),
            "date_source": source,
        }
        try:
            row.update(visit_indicators(family / visit))
        except VigcvError:
            continue
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(PROGRESS_COLUMNS))
    return table.sort_values(["date", "visit"], kind="stable").reset_index(drop=True)


def write_progress(family: Path) -> pd.DataFrame:
    """Write ``progress.csv`` (and return its table)."""
    table = progress_table(family)
    store.write_csv(Path(family) / PROGRESS_FILE, table, float_format="%.4f")
    return table


def rising(values: Sequence[float]) -> bool:
    """Whether the last comparable value is clearly above the first (by 10% and more than a
    rounding step): what a summary may call growth."""
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if len(finite) < 2:
        return False
    first, last = finite[0], finite[-1]
    return last > first + 0.01 and last >= first * 1.1
