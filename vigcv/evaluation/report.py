"""Evaluate processed sessions against human coding: frame, event and moment level.

The rules are those of ``docs/labels.md`` (and of the evaluation data's README):

- **frame level**: the system's value at each label time (nearest analysed frame within 0.25 s)
  thresholded at 0.5, null labels skipped; precision, recall and F1 per signal
  (:func:`vigcv.evaluation.frames.frame_scores`).
- **event level**: on the same label grid, an *event* is a maximal run of consecutive label times
  where the signal is yes (a null label breaks a run on both sides), covering
  ``[t_first - step/2, t_last + step/2]``. System and labelled events are matched one to one, best
  temporal IoU first, and a pair with IoU >= 0.5 is a hit: precision = hits / system events,
  recall = hits / labelled events, F1 their harmonic mean.
- **moments**, ranked over the session: a suggestion's gain is the strength of the best labelled
  moment it hits (>= 1 s overlap or its centre inside); precision@k counts gains >= 2 among the
  first k; nDCG@5 uses the gains against the labelled strengths in the best order; recall@10 is
  the share of labelled moments of strength >= 2 hit by any of the first 10 suggestions; clip
  recall@5 averages, over clips with such moments, the share hit by the clip's own first 5
  suggestions. The **random** baseline scores 10 random 4 s windows (uniform starts, seeded) the
  same way, averaged over many draws.

Pooled figures over several sessions add up the frame and event counts and average the moment
figures.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vigcv import results as session_folder
from vigcv.errors import VigcvError
from vigcv.evaluation.coding import EAF_STEP_S, Coding, read_coding, sessions_with_coding
from vigcv.evaluation.frames import FRAME_SIGNALS, frame_scores, values_at
from vigcv.evaluation.moments import (
    LabelledMoment,
    clip_recall,
    hit_matrix,
    moment_gains,
    ndcg_at_k,
    precision_at_k,
)
from vigcv.intervals import true_runs
from vigcv.io import store
from vigcv.types import Segment

MOMENT_METRICS = (
    "precision_at_3",
    "precision_at_5",
    "ndcg_at_5",
    "recall_at_10",
    "clip_recall_at_5",
)
PRF = ("precision", "recall", "f1")


class EvaluationError(VigcvError):
    """Nothing to evaluate (no processed sessions, no matching coding)."""


# -- events ---------------------------------------------------------------------------------------


def grid_events(times: np.ndarray, yes: np.ndarray, *, step: float) -> list[Segment]:
    """Maximal runs of consecutive ``yes`` samples, as ``[t_first - step/2, t_last + step/2]``.

    Parameters
    ----------
    times : ndarray, shape (n,)
        Sample times in seconds, increasing, one ``step`` apart where consecutive.
    yes : ndarray of bool, shape (n,)
        Whether the signal is yes at each sample (False where unknown).
    step : float
        Sample spacing in seconds.
    """
    on = np.asarray(yes, dtype=bool)
    if on.size == 0 or not on.any():
        return []
    half = 0.5 * step
    return [
        Segment(max(0.0, float(times[a]) - half), float(times[b - 1]) + half)
        for a, b in true_runs(on)
    ]


def match_events(
    system: Sequence[Segment], truth: Sequence[Segment], *, min_iou: float = 0.5
) -> list[tuple[int, int, float]]:
    """One-to-one pairs ``(i_system, j_truth, iou)`` with IoU >= ``min_iou``, best pairs first."""
    pairs = sorted(
        (
            (s.iou(t), i, j)
            for i, s in enumerate(system)
            for j, t in enumerate(truth)
            if s.overlap(t) > 0
        ),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    used_s: set[int] = set()
    used_t: set[int] = set()
    out = []
    for iou, i, j in pairs:
        if iou < min_iou - 1e-12:
            break
        if i in used_s or j in used_t:
            continue
        used_s.add(i)
        used_t.add(j)
        out.append((i, j, iou))
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def event_scores(
    timeline: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    step_s: float,
    signals: Sequence[str] = FRAME_SIGNALS,
    threshold: float = 0.5,
    tolerance_s: float = 0.25,
    min_iou: float = 0.5,
) -> pd.DataFrame:
    """Event-level precision, recall and F1 of each signal (see the module docstring).

    Parameters
    ----------
    timeline : DataFrame
        The system's per-frame signals: ``t`` (seconds) and one column per signal (0..1).
    labels : DataFrame
        Per-frame labels: ``t`` and the signals as 1 / 0 / NaN, every ``step_s`` seconds.
    step_s : float
        Label spacing, seconds.

    Returns
    -------
    DataFrame
        Indexed by signal; ``tp`` (matched pairs), ``system`` and ``labelled`` (event counts),
        ``precision``, ``recall``, ``f1`` (NaN when undefined).
    """
    times = labels["t"].to_numpy(dtype=float)
    rows = []
    for name in signals:
        truth = (
            labels[name].to_numpy(dtype=float) if name in labels else np.full(times.size, np.nan)
        )
        known = ~np.isnan(truth)
        system = values_at(timeline, times, name, tolerance_s=tolerance_s)
        said = known & (np.nan_to_num(system, nan=-np.inf) >= threshold)
        sys_ev = grid_events(times, said, step=step_s)
        true_ev = grid_events(times, known & (np.nan_to_num(truth) >= 0.5), step=step_s)
        tp = len(match_events(sys_ev, true_ev, min_iou=min_iou))
        precision, recall = _ratio(tp, len(sys_ev)), _ratio(tp, len(true_ev))
        rows.append(
            {
                "signal": name,
                "tp": tp,
                "system": len(sys_ev),
                "labelled": len(true_ev),
                "precision": precision,
                "recall": recall,
                "f1": _ratio(2 * tp, len(sys_ev) + len(true_ev)),
            }
        )
    return pd.DataFrame(rows).set_index("signal")


# -- moments --------------------------------------------------------------------------------------


def moment_scores(
    suggestions: Sequence[Segment],
    moments: Sequence[LabelledMoment],
    *,
    clips: Sequence[tuple[str, Segment]] = (),
    recall_k: int = 10,
) -> dict[str, float]:
    """The moment figures of one ranking (rank order) against the labelled moments.

    Returns
    -------
    dict
        :data:`MOMENT_METRICS` -> value (``clip_recall_at_5`` NaN when no clip has a labelled
        moment of strength >= 2; ``recall_at_10`` NaN when the session has none).
    """
    gains = moment_gains(list(suggestions), list(moments))
    strengths = [m.strength for m in moments]
    wanted = [m for m in moments if m.strength >= 2]
    first = list(suggestions)[:recall_k]
    if wanted and first:
        recall = float(hit_matrix(first, wanted).any(axis=0).mean())
    else:
        recall = 0.0 if wanted else math.nan
    per_clip = clip_recall(list(suggestions), list(moments), list(clips)) if clips else {}
    return {
        "precision_at_3": precision_at_k(gains, k=3),
        "precision_at_5": precision_at_k(gains, k=5),
        "ndcg_at_5": ndcg_at_k(gains, strengths, k=5),
        "recall_at_10": recall,
        "clip_recall_at_5": float(np.mean(list(per_clip.values()))) if per_clip else math.nan,
    }


def random_moment_scores(
    moments: Sequence[LabelledMoment],
    *,
    duration: float,
    clips: Sequence[tuple[str, Segment]] = (),
    n: int = 10,
    length_s: float = 4.0,
    draws: int = 500,
    seed: int = 0,
) -> dict[str, float]:
    """:func:`moment_scores` of ``n`` random ``length_s`` windows, averaged over ``draws`` draws.

    Window starts are uniform on ``[0, duration - length_s]`` seconds (seeded generator).
    """
    rng = np.random.default_rng(seed)
    starts = rng.uniform(0.0, max(duration - length_s, 0.0), size=(draws, n))
    sums = dict.fromkeys(MOMENT_METRICS, 0.0)
    counts = dict.fromkeys(MOMENT_METRICS, 0)
    for row in starts:
        segs = [Segment(float(s), float(s) + length_s) for s in row]
        for key, value in moment_scores(segs, moments, clips=clips, recall_k=n).items():
            if not math.isnan(value):
                sums[key] += value
                counts[key] += 1
    return {k: (sums[k] / counts[k] if counts[k] else math.nan) for k in MOMENT_METRICS}


# -- sessions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionEvaluation:
    """Every figure for one session.

    Attributes
    ----------
    session : str
    coding : Path
        The coding file used.
    frame : DataFrame
        :func:`~vigcv.evaluation.frames.frame_scores` (indexed by signal).
    event : DataFrame
        :func:`event_scores` (indexed by signal).
    moments : dict
        :data:`MOMENT_METRICS` of the session's suggestions.
    random : dict
        The same figures for random 4 s windows.
    suggestions : int
        How many moments were suggested.
    """

    session: str
    coding: Path
    frame: pd.DataFrame
    event: pd.DataFrame
    moments: dict[str, float]
    random: dict[str, float]
    suggestions: int


def evaluate_session(
    timeline: pd.DataFrame,
    suggestions: Sequence[Segment],
    coding: Coding,
    *,
    session: str = "",
    duration: float | None = None,
    signals: Sequence[str] = FRAME_SIGNALS,
    seed: int = 0,
) -> SessionEvaluation:
    """Evaluate one session's per-frame signals and ranked moments against its coding.

    Parameters
    ----------
    timeline : DataFrame
        ``t`` (s) and the per-frame signal probabilities (timeline.csv or ``frames.dyad``).
    suggestions : sequence of Segment
        Suggested moments in rank order.
    coding : Coding
        From :func:`vigcv.evaluation.coding.read_coding`.
    duration : float, optional
        Session length in seconds for the random baseline (default: the coding's).
    """
    frame = frame_scores(timeline, coding.frames, signals=signals)
    event = event_scores(timeline, coding.frames, step_s=coding.step_s, signals=signals)
    mom = moment_scores(suggestions, coding.moments, clips=coding.clips)
    rnd = random_moment_scores(
        coding.moments,
        duration=float(duration if duration else coding.duration),
        clips=coding.clips,
        seed=seed,
    )
    return SessionEvaluation(
        session=session or coding.source.stem,
        coding=coding.source,
        frame=frame,
        event=event,
        moments=mom,
        random=rnd,
        suggestions=len(suggestions),
    )


@dataclass(frozen=True)
class Evaluation:
    """The evaluation of an OUT folder: per session and pooled."""

    sessions: tuple[SessionEvaluation, ...]
    unmatched: tuple[str, ...] = ()
    labels_dir: str = ""
    config_hash: str = ""
    pooled: dict[str, Any] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """The long table of evaluation.csv: ``session, level, item, metric, value, random``.

        ``level`` is ``frame``, ``event`` or ``moment``; ``item`` the signal (``ranking`` for
        moments); ``random`` the random-window baseline (moments only). ``session == "all"`` holds
        the pooled figures.
        """
        rows: list[dict[str, Any]] = []
        blocks = [(s.session, s.frame, s.event, s.moments, s.random) for s in self.sessions]
        if self.pooled:
            p = self.pooled
            blocks.append(("all", p["frame"], p["event"], p["moments"], p["random"]))
        for name, frame, event, mom, rnd in blocks:
            for level, table, metrics in (
                ("frame", frame, (*PRF, "tp", "fp", "fn", "n", "uncoded", "uncoded_yes")),
                ("event", event, (*PRF, "tp", "system", "labelled")),
            ):
                for signal, row in table.iterrows():
                    for metric in metrics:
                        rows.append(
                            dict(
                                session=name,
                                level=level,
                                item=signal,
                                metric=metric,
                                value=float(row[metric]),
                                random=math.nan,
                            )
                        )
            for metric in MOMENT_METRICS:
                rows.append(
                    dict(
                        session=name,
                        level="moment",
                        item="ranking",
                        metric=metric,
                        value=mom[metric],
                        random=rnd[metric],
                    )
                )
        return pd.DataFrame(rows, columns=["session", "level", "item", "metric", "value", "random"])

    def to_dict(self) -> dict[str, Any]:
        """The evaluation.json document."""

        def signals(table: pd.DataFrame) -> dict[str, Any]:
            return {
                str(sig): {k: _clean(v) for k, v in row.items()} for sig, row in table.iterrows()
            }

        def block(frame: pd.DataFrame, event: pd.DataFrame, mom: dict, rnd: dict) -> dict:
            return {
                "frame": signals(frame),
                "event": signals(event),
                "moments": {k: _clean(v) for k, v in mom.items()},
                "random_4s": {k: _clean(v) for k, v in rnd.items()},
            }

        doc: dict[str, Any] = {
            "labels": self.labels_dir,
            "config_hash": self.config_hash,
            "rules": "docs/labels.md; see vigcv.evaluation.report",
            "sessions": {
                s.session: dict(
                    block(s.frame, s.event, s.moments, s.random),
                    coding=str(s.coding),
                    suggestions=s.suggestions,
                )
                for s in self.sessions
            },
            "unmatched": list(self.unmatched),
        }
        if self.pooled:
            p = self.pooled
            doc["all"] = block(p["frame"], p["event"], p["moments"], p["random"])
        return doc


def _clean(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return None if math.isnan(v) else round(v, 4)
    return value


def _pool_prf(tables: Sequence[pd.DataFrame], *, kind: str) -> pd.DataFrame:
    total = sum(
        (t.drop(columns=[*PRF, "f1_all_yes"], errors="ignore") for t in tables[1:]),
        tables[0].drop(columns=[*PRF, "f1_all_yes"], errors="ignore"),
    )
    out = total.copy()
    if kind == "frame":
        tp, fp, fn = out["tp"], out["fp"], out["fn"]
        out["precision"] = [_ratio(a, a + b) for a, b in zip(tp, fp, strict=True)]
        out["recall"] = [_ratio(a, a + b) for a, b in zip(tp, fn, strict=True)]
        out["f1"] = [_ratio(2 * a, 2 * a + b + c) for a, b, c in zip(tp, fp, fn, strict=True)]
    else:
        tp, sys_n, lab_n = out["tp"], out["system"], out["labelled"]
        out["precision"] = [_ratio(a, b) for a, b in zip(tp, sys_n, strict=True)]
        out["recall"] = [_ratio(a, b) for a, b in zip(tp, lab_n, strict=True)]
        out["f1"] = [_ratio(2 * a, b + c) for a, b, c in zip(tp, sys_n, lab_n, strict=True)]
    return out


def _mean_dicts(dicts: Sequence[dict[str, float]]) -> dict[str, float]:
    out = {}
    for key in MOMENT_METRICS:
        vals = [d[key] for d in dicts if not math.isnan(d[key])]
        out[key] = float(np.mean(vals)) if vals else math.nan
    return out


def pool(sessions: Sequence[SessionEvaluation]) -> dict[str, Any]:
    """Pooled figures: frame/event counts added up, moment figures averaged over sessions."""
    if not sessions:
        return {}
    return {
        "frame": _pool_prf([s.frame for s in sessions], kind="frame"),
        "event": _pool_prf([s.event for s in sessions], kind="event"),
        "moments": _mean_dicts([s.moments for s in sessions]),
        "random": _mean_dicts([s.random for s in sessions]),
    }


def session_dirs(out: str | Path) -> list[Path]:
    """Processed session folders: ``out`` itself if it has run.json, else its subfolders that do."""
    out = Path(out)
    if not out.is_dir():
        raise EvaluationError(f"{out}: folder not found; give the OUT folder of `vigcv run`")
    return session_folder.session_dirs(out)


def read_suggestions(session_dir: Path) -> list[Segment]:
    """The moments of a session's moments.json as Segments, in rank order."""
    if not (session_dir / session_folder.MOMENTS_JSON).is_file():
        raise EvaluationError(f"{session_dir}: no moments.json; run `vigcv score` on it")
    return [m.segment for m in session_folder.read_moments(session_dir)]


def read_timeline(session_dir: Path) -> pd.DataFrame:
    if not (session_dir / session_folder.TIMELINE_FILE).is_file():
        raise EvaluationError(f"{session_dir}: no timeline.csv; run `vigcv run` on it again")
    return session_folder.read_timeline(session_dir)


def evaluate_out(
    out: str | Path,
    labels_dir: str | Path,
    *,
    config: dict[str, Any] | None = None,
    seed: int = 0,
    eaf_step_s: float = EAF_STEP_S,
) -> Evaluation:
    """Evaluate every processed session of ``out`` that has a coding file in ``labels_dir``.

    Parameters
    ----------
    out : str or Path
        The OUT folder of ``vigcv run`` (or one session folder).
    labels_dir : str or Path
        Folder of ``.json`` / ``.eaf`` coding files, matched to sessions by name.
    config : dict, optional
        Re-score the sessions from their cached features with this config before evaluating
        (nothing is written); default: the moments and timeline on disk.
    seed : int
        Seed of the random baseline.
    eaf_step_s : float
        Sampling step in seconds of ``.eaf`` tiers into per-frame labels.

    Returns
    -------
    Evaluation
    """
    dirs = session_dirs(out)
    if not dirs:
        raise EvaluationError(f"{out}: no processed sessions (no */run.json); run `vigcv run`")
    by_name = {session_folder.session_name(d): d for d in dirs}
    matched, unmatched = sessions_with_coding(by_name, labels_dir)
    if not matched:
        raise EvaluationError(
            f"no coding file in {labels_dir} matches a session of {out} "
            f"({', '.join(sorted(by_name)[:5])}); name them <session>.json or <session>.eaf "
            "(docs/labels.md)"
        )
    results = []
    chash = ""
    for name, coding_path in sorted(matched.items()):
        folder = by_name[name]
        run = session_folder.read_run(folder)
        duration = float(run.get("media", {}).get("duration_s", 0.0)) or None
        coding = read_coding(coding_path, duration=duration, step_s=eaf_step_s)
        if config is None:
            timeline = read_timeline(folder)
            suggestions = read_suggestions(folder)
            chash = str(run.get("config_hash", ""))
        else:
            from vigcv.config import score_hash
            from vigcv.pipeline import load
            from vigcv.scoring import score_session

            frames, speech = load(folder, config=config)
            _, moments, _ = score_session(frames, speech, config=config)
            suggestions = [m.segment for m in sorted(moments, key=lambda m: m.rank)]
            timeline = frames.dyad
            chash = score_hash(config)
        results.append(
            evaluate_session(
                timeline, suggestions, coding, session=name, duration=duration, seed=seed
            )
        )
    return Evaluation(
        sessions=tuple(results),
        unmatched=tuple(sorted(unmatched)),
        labels_dir=str(labels_dir),
        config_hash=chash,
        pooled=pool(results) if len(results) > 1 else {},
    )


def write_evaluation(evaluation: Evaluation, out: str | Path) -> dict[str, Path]:
    """Write ``evaluation.csv`` (the long table) and ``evaluation.json`` into ``out``."""
    out = Path(out)
    paths = {"csv": out / "evaluation.csv", "json": out / "evaluation.json"}
    store.write_csv(paths["csv"], evaluation.table())
    store.write_text(paths["json"], json.dumps(evaluation.to_dict(), indent=2) + "\n")
    return paths
