"""The attunement components: each maps a window's aggregated features to a score in 0..1.

Every function takes numpy arrays of shape ``(n_windows,)`` (one value per window, as
:func:`vigcv.scoring.windows.compute_windows` aggregates them) and returns an array of the same
shape. NaN means "could not be seen in this window" (e.g. a face was hidden throughout); the
combination treats it as no evidence.
"""

from __future__ import annotations

import numpy as np

from vigcv.checks import require_finite, require_probability

COMPONENTS = ("mutual_gaze", "contingency", "shared_affect", "turn_taking", "proximity")
# What a guider reads for each component (review page, exported report).
COMPONENT_NAMES = {
    "mutual_gaze": "Looking at each other",
    "contingency": "Answering each other",
    "shared_affect": "Sharing smiles",
    "turn_taking": "Taking turns",
    "proximity": "Being close",
}

# VIG principles: window column -> the words the guider reads.
PRINCIPLES = {
    "principle_attentive": "being attentive",
    "principle_encouraging": "encouraging initiatives",
    "principle_receiving": "receiving initiatives",
    "principle_attuned": "developing attuned interactions",
    "principle_enjoyment": "shared enjoyment",
}


def bout_score(share: np.ndarray, longest_s: np.ndarray, *, bout_ref_s: float) -> np.ndarray:
    """``0.5 * share + 0.5 * min(1, longest_s / bout_ref_s)``.

    Parameters
    ----------
    share : ndarray, shape (n,)
        Mean probability of the behaviour over the window's steps, 0..1, unknown steps counting
        as 0 (NaN = nothing in the window known).
    longest_s : ndarray, shape (n,)
        Longest unbroken run of the behaviour inside the window, seconds.
    bout_ref_s : float
        Run length that earns the full second half, seconds.
    """
    share = require_probability(share, what="bout share", allow_nan=True)
    longest_s = require_finite(longest_s, what="longest bout (s)")
    return 0.5 * share + 0.5 * np.minimum(1.0, longest_s / bout_ref_s)


def mutual_gaze(share: np.ndarray, longest_s: np.ndarray, *, bout_ref_s: float) -> np.ndarray:
    """Mutual gaze: ``0.5 * share + 0.5 * min(1, longest_bout_s / bout_ref_s)``.

    ``share`` is the mean mutual-gaze probability over the window's steps, the steps where
    either face is unknown counting as no evidence (0; NaN only where nothing in the window is
    known); ``longest_s`` the longest run of steps with probability >= ``present``. Four seconds
    of mutual gaze covering a 3 s window give 1; a window without any gives 0.
    """
    return bout_score(share, longest_s, bout_ref_s=bout_ref_s)


def contingency(log_unanswered: np.ndarray) -> np.ndarray:
    """Contingent response: ``1 - prod_i (1 - promptness_i)`` over the child's initiatives that
    start in the window, with ``promptness_i = exp(-latency_i / promptness_s) * attention_i`` when
    the parent answered within ``response_window_s`` and 0 otherwise; for a spoken answer
    ``attention_i = (1 - answer_gaze_weight) + answer_gaze_weight * g_i`` with ``g_i`` the
    parent's mean probability of looking at the child in the second after answering (1 when
    unknown, and for answers by gaze or smile). A soft
    OR: one answer after 0.6 s while looking gives 0.55, two give 0.80; an unanswered initiative
    adds nothing and takes nothing away.

    Parameters
    ----------
    log_unanswered : ndarray, shape (n,)
        ``sum_i log(1 - promptness_i)`` over the window's initiatives (0 when there are none).
    """
    return 1.0 - np.exp(log_unanswered)


def shared_affect(
    both_share: np.ndarray,
    both_longest_s: np.ndarray,
    shared_laugh_s: np.ndarray,
    *,
    bout_ref_s: float,
    laughter_ref_s: float,
) -> np.ndarray:
    """Shared positive affect: ``max(smiles, laughter)`` where
    ``smiles = 0.5 * share + 0.5 * min(1, longest_s / bout_ref_s)`` of both smiling together
    (``min(parent_smile, child_smile)`` per step; ``share`` over the window's steps, unknown
    ones counting as 0) and ``laughter = min(1, shared_laugh_s / laughter_ref_s)``, the seconds
    in which one laughs while the other laughs or smiles. NaN only when smiles are unknown and
    nobody laughed.
    """
    smiles = bout_score(both_share, both_longest_s, bout_ref_s=bout_ref_s)
    laughter = np.minimum(1.0, shared_laugh_s / laughter_ref_s)
    out = np.fmax(smiles, laughter)
    out[np.isnan(smiles) & (laughter <= 0)] = np.nan
    return out


def turn_taking(
    switches: np.ndarray,
    parent_speech_s: np.ndarray,
    child_speech_s: np.ndarray,
    *,
    switches_ref: float,
) -> np.ndarray:
    """Turn-taking rhythm: ``(1 - exp(-switches / switches_ref)) * (0.5 + 0.5 * balance)``.

    ``switches`` counts parent<->child speaker changes in the window (gap <= ``switch_gap_s``);
    ``balance = 2 * min(p, c) / (p + c)`` of the seconds each spoke (1 = equal shares, 0 = one
    speaker only). Two balanced switches give 0.63, four give 0.86.
    """
    total = parent_speech_s + child_speech_s
    balance = np.divide(
        2.0 * np.minimum(parent_speech_s, child_speech_s),
        total,
        out=np.zeros_like(total),
        where=total > 0,
    )
    return (1.0 - np.exp(-switches / switches_ref)) * (0.5 + 0.5 * balance)


def proximity(
    head_distance: np.ndarray,
    facing: np.ndarray,
    *,
    near_head_widths: float,
    far_head_widths: float,
) -> np.ndarray:
    """Proximity and facing: the mean of the known ones of
    ``clip((far - d) / (far - near), 0, 1)`` for the mean head distance ``d`` (in head widths) and
    the mean ``facing`` probability. NaN when neither is known.
    """
    facing = require_probability(facing, what="facing probability", allow_nan=True)
    head_distance = require_finite(head_distance, what="head distance", allow_nan=True)
    span = max(far_head_widths - near_head_widths, 1e-9)
    close = np.clip((far_head_widths - head_distance) / span, 0.0, 1.0)
    stack = np.vstack([close, facing])
    known = np.isfinite(stack)
    count = known.sum(axis=0)
    total = np.where(known, stack, 0.0).sum(axis=0)
    return np.divide(total, count, out=np.full(len(close), np.nan), where=count > 0)
