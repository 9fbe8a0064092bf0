"""Frame-level precision, recall and F1 of timeline signals against labels.

The rule of ``docs/labels.md`` (and of the evaluation data's README): the system's value at each
label time ``t`` is that of the nearest analysed frame within ``tolerance_s`` (0.25 s),
thresholded at 0.5 (``>=`` counts as yes); labels that are null (NaN) are skipped. A label time
with no analysed frame within the tolerance, or a NaN system value there, counts as the system
saying "no".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

FRAME_SIGNALS = (
    "mutual_gaze",
    "parent_looks_at_child",
    "child_looks_at_parent",
    "parent_smile",
    "child_smile",
)


def values_at(
    timeline: pd.DataFrame, times: np.ndarray, column: str, *, tolerance_s: float
) -> np.ndarray:
    """``timeline[column]`` at the analysed frame nearest each time, NaN beyond ``tolerance_s``.

    Parameters
    ----------
    timeline : DataFrame
        Column ``t`` (seconds, any order) and ``column``.
    times : ndarray, shape (n,)
        Query times in seconds.
    """
    times = np.asarray(times, dtype=float)
    if timeline.empty or column not in timeline:
        return np.full(times.shape, np.nan)
    ordered = timeline.sort_values("t", kind="stable")
    t = ordered["t"].to_numpy(dtype=float)
    v = ordered[column].to_numpy(dtype=float)
    right = np.clip(np.searchsorted(t, times), 0, t.size - 1)
    left = np.clip(right - 1, 0, t.size - 1)
    nearest = np.where(np.abs(t[left] - times) <= np.abs(t[right] - times), left, right)
    return np.where(np.abs(t[nearest] - times) <= tolerance_s, v[nearest], np.nan)


def frame_scores(
    timeline: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    signals: Sequence[str] = FRAME_SIGNALS,
    threshold: float = 0.5,
    tolerance_s: float = 0.25,
) -> pd.DataFrame:
    """Precision, recall, F1 and support of each signal.

    Parameters
    ----------
    timeline : DataFrame
        The system's per-frame signals (``t`` + one column per signal, probabilities 0..1).
    labels : DataFrame
        From :func:`vigcv.evaluation.labels.read_labels` (``t`` + signals as 1/0/NaN).
    signals : sequence of str
        Which signals to score.
    threshold : float
        System values ``>= threshold`` count as yes.
    tolerance_s : float
        Largest distance in seconds from a label time to the analysed frame used for it.

    Returns
    -------
    DataFrame
        Indexed by signal; columns ``tp, fp, fn, tn`` (counts), ``support`` (labelled yes),
        ``n`` (non-null labels), ``precision, recall, f1`` (NaN when undefined),
        ``f1_all_yes`` (F1 of answering yes everywhere), and what F1 does not see: ``uncoded``
        (labels left null, the coders could not tell) and ``uncoded_yes`` (of those, frames the
        system said yes: a claim nobody could check; "unknown" there is the honest answer).
    """
    rows = []
    for name in signals:
        truth = labels[name].to_numpy(dtype=float) if name in labels else np.zeros(0)
        times = labels["t"].to_numpy(dtype=float)[: truth.size]
        keep = ~np.isnan(truth)
        truth_yes = truth[keep] >= 0.5
        system = values_at(timeline, times[keep], name, tolerance_s=tolerance_s)
        said_yes = np.nan_to_num(system, nan=-np.inf) >= threshold
        tp = int(np.sum(said_yes & truth_yes))
        fp = int(np.sum(said_yes & ~truth_yes))
        fn = int(np.sum(~said_yes & truth_yes))
        tn = int(np.sum(~said_yes & ~truth_yes))
        precision = tp / (tp + fp) if tp + fp else np.nan
        recall = tp / (tp + fn) if tp + fn else np.nan
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else np.nan
        pos = tp + fn
        f1_yes = 2 * pos / (2 * pos + (fp + tn)) if pos + fp + tn else np.nan
        unsure = values_at(timeline, times[~keep], name, tolerance_s=tolerance_s)
        uncoded_yes = int(np.sum(np.nan_to_num(unsure, nan=-np.inf) >= threshold))
        rows.append(
            dict(signal=name, tp=tp, fp=fp, fn=fn, tn=tn, support=pos, n=int(keep.sum()),
                 precision=precision, recall=recall, f1=f1, f1_all_yes=f1_yes,
                 uncoded=int((~keep).sum()), uncoded_yes=uncoded_yes)
        )  # fmt: skip
    return pd.DataFrame(rows).set_index("signal")
