"""Sliding windows over a session: aggregated dyadic features, component scores, VIG principles.

:func:`compute_windows` is pure and vectorised: every per-window sum is a difference of cumulative
sums on the :class:`~vigcv.scoring.timeline.Timeline` grid, every longest bout a row-wise run length
on a strided view, so a session-hour (7,200 windows) takes tens of milliseconds.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from vigcv.checks import require_finite, require_probability
from vigcv.config import score_hash
from vigcv.errors import ConfigError
from vigcv.scoring import components as comp
from vigcv.scoring.timeline import Timeline, build_timeline, speaker_roles
from vigcv.types import FrameFeatures, SpeechTrack

SCORING_KEYS = (
    "window_s", "hop_s", "step_s", "frame_tolerance_s", "combine", "present", "bout_ref_s",
    "promptness_s", "response_window_s", "derive_visual_turns", "derive_vocal_turns",
    "answer_gaze_weight",
    "switch_gap_s", "switches_ref", "laughter_ref_s", "near_head_widths", "far_head_widths",
    "weights", "principles", "names",
)  # fmt: skip
SELECTION_KEYS = (
    "top_k", "min_length_s", "max_length_s", "min_gap_s", "extend_ratio", "snap_s", "min_score",
)  # fmt: skip


def check_config(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the first missing ``[scoring]``/``[selection]`` key."""
    for section, keys in (("scoring", SCORING_KEYS), ("selection", SELECTION_KEYS)):
        sub = config.get(section)
        if not isinstance(sub, Mapping):
            raise ConfigError(f"config has no [{section}] section; start from load_config()")
        for key in keys:
            if key not in sub:
                raise ConfigError(f"config key '{section}.{key}' is missing; see default.toml")
    sc = config["scoring"]
    if sc["step_s"] <= 0 or sc["window_s"] < sc["step_s"] or sc["hop_s"] < sc["step_s"]:
        raise ConfigError(
            "scoring.step_s must be > 0 and no larger than scoring.window_s and scoring.hop_s"
        )


@dataclass(frozen=True)
class Windows:
    """One row per sliding window.

    Attributes
    ----------
    table : DataFrame, shape (n_windows, ...)
        ``start``, ``end`` (s); aggregated features (``*_share`` 0..1, ``*_s`` seconds, counts);
        one column per component of :data:`~vigcv.scoring.components.COMPONENTS` (0..1, NaN =
        not seen in this window); boolean ``principle_*`` columns; ``config_hash``.
    timeline : Timeline
        The per-step features the windows were aggregated from (for boundaries and reasons).
    active : tuple of str
        Components that could be measured somewhere in the session (e.g. no gaze without faces).
    config : dict
        The ``scoring`` and ``selection`` sections used.
    config_hash : str
        :func:`vigcv.config.score_hash` of the config.
    """

    table: pd.DataFrame
    timeline: Timeline
    active: tuple[str, ...]
    config: dict[str, Any] = field(repr=False)
    config_hash: str = ""

    def __len__(self) -> int:
        return len(self.table)


_NOT_PROBABILITIES = ("head_distance",)  # timeline columns that are not 0..1


def _csum(x: np.ndarray) -> np.ndarray:
    return np.concatenate(([0.0], np.cumsum(x)))


def _window_mean(x: np.ndarray, i0: np.ndarray, i1: np.ndarray) -> np.ndarray:
    """NaN-aware mean of ``x[i0:i1]`` per window (NaN if nothing known)."""
    known = np.isfinite(x)
    total = _csum(np.where(known, x, 0.0))
    count = _csum(known.astype(float))
    n = count[i1] - count[i0]
    return np.divide(total[i1] - total[i0], n, out=np.full(len(i0), np.nan), where=n > 0)


def _window_sum(x: np.ndarray, i0: np.ndarray, i1: np.ndarray) -> np.ndarray:
    total = _csum(np.nan_to_num(x, nan=0.0))
    return total[i1] - total[i0]


def _window_share(x: np.ndarray, i0: np.ndarray, i1: np.ndarray) -> np.ndarray:
    """Mean of ``x[i0:i1]`` per window over all its steps, unknown (NaN) steps counting as 0:
    no evidence."""
    return _window_sum(x, i0, i1) / np.maximum(i1 - i0, 1)


def _evidence(x: np.ndarray, share: np.ndarray, i0: np.ndarray, i1: np.ndarray) -> np.ndarray:
    """:func:`_window_share`, NaN where nothing in the window is known (``share``, the mean
    over the known steps, is NaN there)."""
    return np.where(np.isnan(share), np.nan, _window_share(x, i0, i1))


def _longest_run(on: np.ndarray, i0: np.ndarray, width: int) -> np.ndarray:
    """Longest run of True in ``on[i0:i0+width]`` per window, in steps."""
    if len(i0) == 0:
        return np.zeros(0)
    padded = np.concatenate([on, np.zeros(width, dtype=bool)])
    rows = sliding_window_view(padded, width)[i0]
    pos = np.arange(width)
    last_off = np.maximum.accumulate(np.where(rows, -1, pos[None, :]), axis=1)
    return (pos[None, :] - last_off).max(axis=1).astype(float)


def _count_in(times: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[Any, Any]:
    order = np.sort(times)
    return np.searchsorted(order, start, side="left"), np.searchsorted(order, end, side="left")


def _switch_times(speech: SpeechTrack, gap: float) -> np.ndarray:
    """Times (s) where the speaker changes between parent and child within ``gap`` seconds."""
    seg = speech.segments
    if len(seg) == 0:
        return np.zeros(0)
    seg = seg.assign(role=speaker_roles(seg))
    seg = seg[seg["role"].isin(["parent", "child"])].sort_values("start")
    if len(seg) < 2:
        return np.zeros(0)
    who = seg["role"].astype(str).to_numpy()
    start = seg["start"].to_numpy(dtype=float)
    end = seg["end"].to_numpy(dtype=float)
    prev_end = np.maximum.accumulate(end)[:-1]
    switch = (who[1:] != who[:-1]) & (start[1:] - prev_end <= gap)
    return start[1:][switch]


def _window_bounds(n_steps: int, width: int, hop: int) -> np.ndarray:
    if n_steps <= width:
        return np.zeros(1 if n_steps > 0 else 0, dtype=int)
    return np.arange(0, n_steps - width + 1, hop, dtype=int)


def compute_windows(
    frames: FrameFeatures, speech: SpeechTrack, *, config: Mapping[str, Any]
) -> Windows:
    """Aggregate frame and speech features over sliding windows and score each component.

    Parameters
    ----------
    frames : FrameFeatures
        Vision output (its ``dyad`` table; may be empty when no faces were found).
    speech : SpeechTrack
        Audio output (``segments`` and ``turns``; may be empty when there is no sound).
    config : dict
        The full vigcv config; ``[scoring]`` gives ``window_s`` (default 3 s), ``hop_s`` (0.5 s)
        and the component parameters.

    Returns
    -------
    Windows
        One row per window starting every ``hop_s`` seconds; a session shorter than one window
        gives a single window covering it; no features at all give no windows.
    """
    check_config(config)
    sc = config["scoring"]
    timeline = build_timeline(frames, speech, config=dict(config))
    step = timeline.step
    width = max(1, round(float(sc["window_s"]) / step))
    hop = max(1, round(float(sc["hop_s"]) / step))
    n = len(timeline.table)
    i0 = _window_bounds(n, width, hop)
    i1 = np.minimum(i0 + width, n)
    start, end = i0 * step, np.minimum(i1 * step, max(timeline.duration, 0.0))
    present = float(sc["present"])

    def col(name: str) -> np.ndarray:
        # NaN is "not seen" and stays unknown below (a mean over the known steps; never >=
        # present); an infinity would count as seen, and as a yes after nan_to_num.
        values = timeline.column(name)
        if name in _NOT_PROBABILITIES:
            return require_finite(values, what=f"timeline {name}", allow_nan=True)
        return require_probability(values, what=f"timeline {name}", allow_nan=True)

    mutual = col("mutual_gaze")
    both_smile = col("both_smile")
    p_smile, c_smile = col("parent_smile"), col("child_smile")
    p_laugh, c_laugh = col("parent_laugh") > 0, col("child_laugh") > 0
    shared_laugh = (c_laugh & (p_laugh | (np.nan_to_num(p_smile) >= present))) | (
        p_laugh & (np.nan_to_num(c_smile) >= present)
    )
    t = pd.DataFrame({"start": start, "end": end})
    t["face_coverage"] = _window_share(col("both_visible"), i0, i1)
    t["mutual_gaze_share"] = _window_mean(mutual, i0, i1)
    t["mutual_gaze_longest_s"] = _longest_run(np.nan_to_num(mutual) >= present, i0, width) * step
    t["parent_looks_share"] = _window_mean(col("parent_looks"), i0, i1)
    t["child_looks_share"] = _window_mean(col("child_looks"), i0, i1)
    t["parent_smile_share"] = _window_mean(p_smile, i0, i1)
    t["child_smile_share"] = _window_mean(c_smile, i0, i1)
    t["both_smile_share"] = _window_mean(both_smile, i0, i1)
    t["both_smile_longest_s"] = _longest_run(np.nan_to_num(both_smile) >= present, i0, width) * step
    t["shared_laugh_s"] = _window_sum(shared_laugh.astype(float), i0, i1) * step
    t["parent_speech_s"] = _window_sum(col("parent_speech"), i0, i1) * step
    t["child_speech_s"] = _window_sum(col("child_speech"), i0, i1) * step
    t["head_distance"] = _window_mean(col("head_distance"), i0, i1)
    t["facing"] = _window_mean(col("facing"), i0, i1)

    switches = _switch_times(speech, float(sc["switch_gap_s"]))
    a, b = _count_in(switches, start, end)
    t["switches"] = (b - a).astype(float)

    ev = timeline.events
    ev_t = ev["onset_t"].to_numpy(dtype=float)
    # One NaN here would make every later window's contingency NaN (a cumulative sum).
    promptness = require_probability(ev["promptness"], what="answer promptness")
    prompt = np.minimum(promptness, 0.999)
    a = np.searchsorted(ev_t, start, side="left")
    b = np.searchsorted(ev_t, end, side="left")
    log_open = _csum(np.log1p(-prompt))
    answered = _csum(ev["answered"].to_numpy(dtype=float))
    t["initiatives"] = (b - a).astype(float)
    t["answered"] = answered[b] - answered[a]

    bout_ref = float(sc["bout_ref_s"])
    t["mutual_gaze"] = comp.mutual_gaze(
        _evidence(mutual, t["mutual_gaze_share"].to_numpy(), i0, i1),
        t["mutual_gaze_longest_s"].to_numpy(),
        bout_ref_s=bout_ref,
    )
    t["contingency"] = comp.contingency(log_open[b] - log_open[a])
    t["shared_affect"] = comp.shared_affect(
        _evidence(both_smile, t["both_smile_share"].to_numpy(), i0, i1),
        t["both_smile_longest_s"].to_numpy(),
        t["shared_laugh_s"].to_numpy(),
        bout_ref_s=bout_ref,
        laughter_ref_s=float(sc["laughter_ref_s"]),
    )
    t["turn_taking"] = comp.turn_taking(
        t["switches"].to_numpy(),
        t["parent_speech_s"].to_numpy(),
        t["child_speech_s"].to_numpy(),
        switches_ref=float(sc["switches_ref"]),
    )
    t["proximity"] = comp.proximity(
        t["head_distance"].to_numpy(),
        t["facing"].to_numpy(),
        near_head_widths=float(sc["near_head_widths"]),
        far_head_widths=float(sc["far_head_widths"]),
    )

    th = sc["principles"]
    # A principle shown to the parent rests on what was seen: the parent's looks over the whole
    # window, unknown steps counting as not looking (a glimpse is not "being attentive").
    looks = pd.Series(_window_share(col("parent_looks"), i0, i1))
    t["principle_attentive"] = looks >= th["attentive"]
    t["principle_encouraging"] = (t["initiatives"] >= 1) & (looks >= th["encouraging"])
    t["principle_receiving"] = t["contingency"] >= th["receiving"]
    t["principle_attuned"] = t["turn_taking"] >= th["turn_taking"]
    t["principle_enjoyment"] = t["shared_affect"].fillna(0.0) >= th["enjoyment"]

    active = []
    for name in comp.COMPONENTS:
        values = t[name].to_numpy(dtype=float)
        if name == "contingency":
            usable = len(ev) > 0 or timeline.has_speech
        elif name == "turn_taking":
            usable = timeline.has_speech
        else:
            usable = bool(np.isfinite(values).any())
        if usable:
            active.append(name)
    chash = score_hash(config)
    t["config_hash"] = chash
    sections = {k: copy.deepcopy(dict(config[k])) for k in ("scoring", "selection")}
    return Windows(
        table=t, timeline=timeline, active=tuple(active), config=sections, config_hash=chash
    )
