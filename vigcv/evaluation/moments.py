"""Rank metrics for suggested moments against labelled attuned moments.

The rules are those of ``docs/labels.md`` (and of the evaluation data's README):

- a suggestion's **gain** is the strength (1-3) of the best labelled moment it hits, 0 if none; it
  hits a labelled moment when they overlap by at least ``min_overlap_s`` (1 s) or the suggestion's
  centre lies inside it;
- **precision@k** (k = 3) is the share of the first k suggestions with gain >= 2 (missing
  suggestions count as misses);
- **nDCG@k** (k = 5) uses the gains as graded relevance, ``DCG = sum_i gain_i / log2(i + 1)`` for
  ranks i = 1..k, divided by the DCG of the labelled strengths sorted best first (capped at 1);
- **clip recall**: per clip, the share of its labelled moments of strength >= 2 that the clip's
  top 5 suggestions (those whose centre lies in the clip, in rank order) hit;
- the **random baseline** draws k windows of 4 s uniformly over the session (seeded) and averages
  the same figures over many draws.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vigcv.evaluation.labels import read_labels
from vigcv.types import DYAD_COLUMNS, PERSON_COLUMNS, FrameFeatures, Segment


@dataclass(frozen=True)
class LabelledMoment:
    """A labelled attuned moment: its interval (s) and strength 1 (weak) .. 3 (textbook)."""

    segment: Segment
    strength: int
    clip: str = ""


def _arrays(segments: Sequence[Segment]) -> tuple[np.ndarray, np.ndarray]:
    start = np.array([s.start for s in segments], dtype=float)
    end = np.array([s.end for s in segments], dtype=float)
    return start, end


def hit_matrix(
    suggestions: Sequence[Segment],
    labelled: Sequence[LabelledMoment],
    *,
    min_overlap_s: float = 1.0,
) -> np.ndarray:
    """Boolean (n_suggestions, n_labelled): suggestion i hits labelled moment j."""
    s0, s1 = _arrays(suggestions)
    l0, l1 = _arrays([m.segment for m in labelled])
    overlap = np.minimum(s1[:, None], l1[None, :]) - np.maximum(s0[:, None], l0[None, :])
    centre = 0.5 * (s0 + s1)
    inside = (centre[:, None] >= l0[None, :]) & (centre[:, None] <= l1[None, :])
    return (overlap >= min_overlap_s - 1e-9) | inside


def moment_gains(
    suggestions: Sequence[Segment],
    labelled: Sequence[LabelledMoment],
    *,
    min_overlap_s: float = 1.0,
) -> np.ndarray:
    """Gain of each suggestion (in the given rank order), shape (n_suggestions,)."""
    if not suggestions:
        return np.zeros(0)
    if not labelled:
        return np.zeros(len(suggestions))
    hits = hit_matrix(suggestions, labelled, min_overlap_s=min_overlap_s)
    strength = np.array([m.strength for m in labelled], dtype=float)
    return np.where(hits, strength[None, :], 0.0).max(axis=1)


def precision_at_k(gains: np.ndarray, *, k: int = 3, min_gain: float = 2.0) -> float:
    """Share of the first ``k`` suggestions with gain >= ``min_gain`` (fewer than k: misses)."""
    top = np.asarray(gains, dtype=float)[:k]
    return float(np.count_nonzero(top >= min_gain)) / k


def dcg(gains: np.ndarray, *, k: int) -> float:
    g = np.asarray(gains, dtype=float)[:k]
    return float(np.sum(g / np.log2(np.arange(2, len(g) + 2))))


def ndcg_at_k(gains: np.ndarray, strengths: Sequence[float], *, k: int = 5) -> float:
    """DCG of the suggestions' gains over the DCG of the labelled strengths in the best order,
    at most 1 (several suggestions hitting one labelled moment could otherwise pass the ideal)."""
    ideal = dcg(np.sort(np.asarray(strengths, dtype=float))[::-1], k=k)
    return min(1.0, dcg(gains, k=k) / ideal) if ideal > 0 else 0.0


def clip_recall(
    suggestions: Sequence[Segment],
    labelled: Sequence[LabelledMoment],
    clips: Sequence[tuple[str, Segment]],
    *,
    top: int = 5,
    min_strength: int = 2,
) -> dict[str, float]:
    """Per clip: share of its labelled moments of strength >= ``min_strength`` hit by the clip's
    first ``top`` suggestions (suggestions whose centre is in the clip, in rank order).

    Parameters
    ----------
    suggestions : sequence of Segment
        In rank order, over the whole session.
    labelled : sequence of LabelledMoment
        With ``clip`` set to the clip they belong to.
    clips : sequence of (name, Segment)
        Where each clip lies in session time.

    Returns
    -------
    dict
        Clip name -> recall, for clips that have at least one such labelled moment.
    """
    out = {}
    for name, part in clips:
        wanted = [m for m in labelled if m.clip == name and m.strength >= min_strength]
        if not wanted:
            continue
        mine = [s for s in suggestions if part.start <= s.middle < part.end][:top]
        if not mine:
            out[name] = 0.0
            continue
        hits = hit_matrix(mine, wanted)
        out[name] = float(hits.any(axis=0).mean())
    return out


@dataclass(frozen=True)
class RankScores:
    """precision@3, nDCG@5 and the gains of one ranking."""

    precision_at_3: float
    ndcg_at_5: float
    gains: tuple[float, ...]


def evaluate_ranking(
    suggestions: Sequence[Segment], labelled: Sequence[LabelledMoment]
) -> RankScores:
    """precision@3 (gain >= 2) and nDCG@5 of ``suggestions`` (rank order) against ``labelled``."""
    gains = moment_gains(suggestions, labelled)
    strengths = [m.strength for m in labelled]
    return RankScores(
        precision_at_3=precision_at_k(gains, k=3),
        ndcg_at_5=ndcg_at_k(gains, strengths, k=5),
        gains=tuple(float(g) for g in gains),
    )


def random_baseline(
    labelled: Sequence[LabelledMoment],
    *,
    duration: float,
    seed: int = 0,
    draws: int = 2000,
    length_s: float = 4.0,
    n: int = 5,
) -> tuple[float, float]:
    """Mean (precision@3, nDCG@5) of ``n`` random ``length_s`` windows, over ``draws`` draws.

    Each window's start is uniform on ``[0, duration - length_s]`` (seeded ``numpy`` generator).
    """
    rng = np.random.default_rng(seed)
    starts = rng.uniform(0.0, max(duration - length_s, 0.0), size=(draws, n))
    p3, nd5 = np.zeros(draws), np.zeros(draws)
    for d in range(draws):
        segs = [Segment(float(s), float(s) + length_s) for s in starts[d]]
        r = evaluate_ranking(segs, labelled)
        p3[d], nd5[d] = r.precision_at_3, r.ndcg_at_5
    return float(p3.mean()), float(nd5.mean())


@dataclass(frozen=True)
class SessionLabels:
    """Labels of one session in ``../shared/eval`` format (session time, seconds).

    Attributes
    ----------
    moments : tuple of LabelledMoment
    clips : tuple of (str, Segment)
        Where each clip lies (the ``parts`` list; one part covering everything for a single clip).
    frames : DataFrame
        The per-frame labels (``t``, visibility, gaze and smile as 1/0, NaN when the labeller
        could not tell).
    step_s : float
        Spacing of the per-frame labels, seconds.
    duration : float
        End of the last part (or of the last labelled frame), seconds.
    """

    moments: tuple[LabelledMoment, ...]
    clips: tuple[tuple[str, Segment], ...]
    frames: pd.DataFrame
    step_s: float
    duration: float


def _moment_segment(moment: dict, index: int) -> Segment:
    start, end = float(moment["start"]), float(moment["end"])
    if not start < end:
        raise ValueError(f"attuned_moments[{index}] ends at {end} s, not after its start {start} s")
    return Segment(start, end)


def _moment_strength(moment: dict, index: int) -> int:
    strength = float(moment["strength"])
    if strength not in (1.0, 2.0, 3.0):
        raise ValueError(
            f"attuned_moments[{index}] has strength {moment['strength']!r}; use 1, 2 or 3"
        )
    return int(strength)


def read_session_labels(path: str | Path) -> SessionLabels:
    """Read a ``*.session.json`` (or a single clip's label file); the per-frame labels come from
    :func:`vigcv.evaluation.labels.read_labels`."""
    doc = json.loads(Path(path).read_text("utf-8"))
    step = float(doc.get("step_s", 0.5))
    frames = read_labels(path)
    parts = doc.get("parts") or []
    end_t = float(frames["t"].max()) + step if len(frames) else 0.0
    if parts:
        clips = tuple((p["clip"], Segment(float(p["start"]), float(p["end"]))) for p in parts)
    else:
        clips = ((str(doc.get("clip", "")), Segment(0.0, end_t)),)
    moments = tuple(
        LabelledMoment(
            _moment_segment(m, i),
            _moment_strength(m, i),
            str(m.get("clip", doc.get("clip", ""))),
        )
        for i, m in enumerate(doc.get("attuned_moments", []))
    )
    duration = max(end_t, max((c.end for _, c in clips), default=0.0))
    return SessionLabels(moments, clips, frames, step, duration)


def oracle_features(labels: SessionLabels, *, video_id: str = "oracle") -> FrameFeatures:
    """FrameFeatures whose dyad table is the per-frame labels themselves (1/0 as probabilities,
    NaN where the labeller could not tell): what the scoring would see with perfect vision."""
    dyad = labels.frames.copy()
    for col in DYAD_COLUMNS:
        if col not in dyad:
            dyad[col] = np.nan
    table = pd.DataFrame({c: pd.Series(dtype=float) for c in PERSON_COLUMNS})
    fps = 1.0 / labels.step_s if labels.step_s > 0 else 0.0
    return FrameFeatures(table=table, dyad=dyad, fps=fps, video_id=video_id,
                         provenance={"source": "labels (oracle)"})  # fmt: skip
