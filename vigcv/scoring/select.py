"""Pick the top moments: peaks of the window score with non-maximum suppression, grown over the
neighbouring windows that score nearly as well, snapped to natural edges, kept apart by a gap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from vigcv.scoring.combine import WindowScores
from vigcv.scoring.components import COMPONENTS, PRINCIPLES
from vigcv.scoring.reasons import moment_reasons
from vigcv.scoring.windows import check_config
from vigcv.types import FrameFeatures, Moment, Segment, SpeechTrack


def _snap(
    value: float, edges: np.ndarray, *, reach: float, lo: float, hi: float, earliest: bool
) -> float:
    """The earliest (or latest) edge within ``reach`` seconds of ``value`` and inside
    ``[lo, hi]``; ``value`` itself when there is none. Moving a start to the earliest onset
    nearby keeps the whole initiative in the moment; moving an end to the latest end nearby lets
    the turn finish."""
    a = int(np.searchsorted(edges, max(lo, value - reach), side="left"))
    b = int(np.searchsorted(edges, min(hi, value + reach), side="right"))
    if b <= a:
        return value
    return float(edges[a] if earliest else edges[b - 1])


def _fit(start: float, end: float, *, lo: float, hi: float, min_len: float, max_len: float,
         centre: float) -> tuple[float, float]:  # fmt: skip
    """Clip ``[start, end]`` to ``[lo, hi]`` and bring its length into ``[min_len, max_len]``,
    keeping ``centre`` inside."""
    start, end = max(start, lo), min(end, hi)
    if end - start > max_len:
        start = min(max(start, centre - 0.5 * max_len), end - max_len)
        end = start + max_len
    if end - start < min_len:
        grow = min_len - (end - start)
        start = max(lo, start - 0.5 * grow)
        end = min(hi, start + min_len)
        start = max(lo, end - min_len)
    return start, end


def _free_interval(
    centre: float, chosen: list[Segment], *, gap: float, duration: float
) -> tuple[float, float] | None:
    lo, hi = 0.0, duration
    for seg in chosen:
        if seg.start - gap < centre < seg.end + gap:
            return None
        if seg.end <= centre:
            lo = max(lo, seg.end + gap)
        else:
            hi = min(hi, seg.start - gap)
    return lo, hi


def _grow(s: np.ndarray, idx: int, *, ratio: float, limit: int) -> tuple[int, int]:
    """Adjacent windows (at most ``limit`` each side) scoring at least ``ratio * s[idx]``."""
    thr = ratio * s[idx]
    left = right = idx
    while left > 0 and idx - left < limit and s[left - 1] >= thr:
        left -= 1
    while right < len(s) - 1 and right - idx < limit and s[right + 1] >= thr:
        right += 1
    return left, right


def _hill(s: np.ndarray, idx: int, *, limit: int) -> tuple[int, int]:
    """The slopes of the peak at ``idx``: windows reached by walking down (or level) from it, at
    most ``limit`` windows each side. They are not peaks of their own."""
    left = right = idx
    while left > 0 and idx - left < limit and s[left - 1] <= s[left] + 1e-12:
        left -= 1
    while right < len(s) - 1 and right - idx < limit and s[right + 1] <= s[right] + 1e-12:
        right += 1
    return left, right


def select_moments(
    scores: WindowScores,
    frames: FrameFeatures,
    speech: SpeechTrack,
    *,
    config: Mapping[str, Any] | None = None,
) -> list[Moment]:
    """The session's best moments, ranked.

    Windows are visited from the best score down (non-maximum suppression): a window on the
    slopes of a peak already chosen (reached by walking down from it, up to
    ``max_length_s + min_gap_s`` away) or whose centre lies within ``min_gap_s`` of a chosen moment
    is skipped. A chosen peak grows over the adjacent windows scoring at least ``extend_ratio``
    times its score; its start snaps to the earliest initiative or speech onset and its end to the
    latest end of speech or of a shared look or smile within ``snap_s``; and its length is brought
    into ``[min_length_s, max_length_s]`` without coming closer than ``min_gap_s`` to another
    moment.

    Parameters
    ----------
    scores : WindowScores
        From :func:`~vigcv.scoring.combine.score_windows`.
    frames, speech : FrameFeatures, SpeechTrack
        The features the windows were computed from (kept in the signature so a caller can pass
        what it has; the windows carry their timeline).
    config : dict, optional
        Full config for ``[selection]``; default: the one the windows were computed with.

    Returns
    -------
    list of Moment
        At most ``top_k``, rank 1 first; empty when no window scores above ``min_score``.
    """
    del frames, speech  # the timeline in scores.windows was built from them
    cfg = dict(config) if config is not None else scores.windows.config
    check_config(cfg)
    sel = cfg["selection"]
    table = scores.table
    timeline = scores.windows.timeline
    if len(table) == 0:
        return []
    s = scores.scores
    starts = table["start"].to_numpy(dtype=float)
    ends = table["end"].to_numpy(dtype=float)
    centres = 0.5 * (starts + ends)
    duration = max(timeline.duration, float(ends.max()))
    top_k, gap = int(sel["top_k"]), float(sel["min_gap_s"])
    min_len = min(float(sel["min_length_s"]), duration)
    max_len = max(float(sel["max_length_s"]), min_len)
    ratio, reach = float(sel["extend_ratio"]), float(sel["snap_s"])
    min_score = float(sel["min_score"])
    hop = float(np.median(np.diff(starts))) if len(s) > 1 else 1.0
    reach_windows = int(np.ceil(max_len / max(hop, 1e-9)))
    hill_windows = int(np.ceil((max_len + gap) / max(hop, 1e-9)))
    suppressed = np.zeros(len(s), dtype=bool)
    chosen: list[Segment] = []
    peaks: list[int] = []
    for idx in np.argsort(-s, kind="stable"):
        if len(chosen) >= top_k or s[idx] <= min_score:
            break
        if suppressed[idx]:
            continue
        free = _free_interval(float(centres[idx]), chosen, gap=gap, duration=duration)
        if free is None or free[1] - free[0] < min_len - 1e-9:
            continue
        lo, hi = free
        left, right = _grow(s, int(idx), ratio=ratio, limit=reach_windows)
        c = float(centres[idx])
        start, end = _fit(float(starts[left]), float(ends[right]), lo=lo, hi=hi,
                          min_len=min_len, max_len=max_len, centre=c)  # fmt: skip
        start = _snap(start, timeline.starts, reach=reach, lo=lo, hi=min(c, hi), earliest=True)
        end = _snap(end, timeline.ends, reach=reach, lo=max(c, lo), hi=hi, earliest=False)
        start, end = _fit(start, end, lo=lo, hi=hi, min_len=min_len, max_len=max_len, centre=c)
        chosen.append(Segment(round(start, 2), round(end, 2)))
        peaks.append(int(idx))
        hill_left, hill_right = _hill(s, int(idx), limit=hill_windows)
        suppressed[hill_left : hill_right + 1] = True

    moments = []
    for rank, (seg, idx) in enumerate(zip(chosen, peaks, strict=True), start=1):
        comps = {
            name: float(np.nan_to_num(table[name].iloc[idx], nan=0.0))
            for name in COMPONENTS
            if name in scores.windows.active
        }
        inside = (centres >= seg.start) & (centres <= seg.end)
        inside[idx] = True
        principles = tuple(
            label for col, label in PRINCIPLES.items() if bool(table[col].to_numpy()[inside].any())
        )
        reasons = moment_reasons(timeline, seg, components=comps, config=cfg)
        moments.append(
            Moment(
                segment=seg,
                rank=rank,
                score=float(s[idx]),
                components=comps,
                principles=principles,
                reasons=reasons,
            )
        )
    return moments
