"""Resample frame and speech features onto one regular time grid, and list the child's initiatives.

Everything downstream (windows, components, moment boundaries, reasons) reads this
:class:`Timeline`, so the slow-to-index inputs (irregular frame times, speech segments, turns) are
turned into plain numpy arrays once.

Unknown values are NaN: a frame farther than ``frame_tolerance_s`` from a grid step, a person whose
face is not visible, a label the vision stage could not give.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vigcv.types import FrameFeatures, SpeechTrack

# Per-step signals of Timeline.table, all 0..1 probabilities (NaN = unknown) except head_distance.
SIGNALS = (
    "both_visible",  # both faces found (0/1; NaN where no frame is near)
    "parent_looks",  # parent looks at the child
    "child_looks",  # child looks at the parent
    "mutual_gaze",  # they look at each other
    "parent_smile",
    "child_smile",
    "both_smile",  # min(parent_smile, child_smile): a fuzzy AND
    "head_distance",  # head centre distance in mean head widths
    "facing",  # bodies/heads turned to each other, if vision gives it
    "parent_speech",  # 0/1 a parent speech segment covers the step
    "child_speech",
    "parent_laugh",
    "child_laugh",
)

EVENT_COLUMNS = (
    "onset_t", "initiative_t", "response_t", "latency_s", "kind", "answered", "promptness",
    "response",
)  # fmt: skip
# How the parent answered an initiative of each kind, when the source does not say.
DEFAULT_RESPONSE = {"vocal": "speech", "gaze": "gaze", "smile": "smile"}


@dataclass(frozen=True)
class Timeline:
    """Features on a regular grid of ``step`` seconds.

    Attributes
    ----------
    table : DataFrame, shape (n_steps, 1 + len(SIGNALS))
        Column ``t`` (the step's centre, seconds) and the :data:`SIGNALS`.
    events : DataFrame
        One row per child initiative, columns :data:`EVENT_COLUMNS`: when the child began it
        (``onset_t``, s: the start of the vocalisation, look or smile), when it ended and the wait
        for an answer began (``initiative_t``, s), when the parent answered (``response_t``, s;
        NaN if no answer was seen), ``latency_s``, ``kind`` (``vocal``, ``gaze`` or ``smile``),
        ``answered`` (bool), ``response`` (how the parent answered: ``speech``, ``gaze``,
        ``smile``; empty if not) and ``promptness`` = exp(-latency / promptness_s) for answered ones
        (a spoken answer scaled down by ``answer_gaze_weight`` when the parent answers without
        looking at the child), else 0.
    step : float
        Grid resolution, seconds.
    duration : float
        Session length covered by the features, seconds.
    has_faces : bool
        Some step has a known gaze or smile value.
    has_speech : bool
        The speech track has at least one segment.
    starts, ends : ndarray
        Natural moment edges, seconds, sorted: where initiatives and speech begin, where turns and
        speech end (the start of a pause).
    """

    table: pd.DataFrame
    events: pd.DataFrame
    step: float
    duration: float
    has_faces: bool
    has_speech: bool
    starts: np.ndarray
    ends: np.ndarray

    def column(self, name: str) -> np.ndarray:
        return self.table[name].to_numpy(dtype=float)


def _session_duration(frames: FrameFeatures, speech: SpeechTrack) -> float:
    ends = [0.0]
    if len(frames.dyad):
        t = frames.dyad["t"].to_numpy(dtype=float)
        frame_s = 1.0 / frames.fps if frames.fps > 0 else 0.0
        ends.append(float(np.nanmax(t)) + frame_s)
    if len(speech.segments):
        ends.append(float(np.nanmax(speech.segments["end"].to_numpy(dtype=float))))
    if len(speech.times):
        ends.append(float(np.max(speech.times)))
    return max(ends)


def _prob(dyad: pd.DataFrame, name: str) -> np.ndarray:
    if name not in dyad:
        return np.full(len(dyad), np.nan)
    values = pd.to_numeric(dyad[name], errors="coerce")
    return np.asarray(values.to_numpy(dtype=float, na_value=np.nan), dtype=float)


def _frame_signals(frames: FrameFeatures, centres: np.ndarray, tolerance: float) -> dict[str, Any]:
    n = len(centres)
    out = {name: np.full(n, np.nan) for name in SIGNALS[:9]}
    dyad = frames.dyad
    if len(dyad) == 0:
        return out
    dyad = dyad.sort_values("t", kind="stable").drop_duplicates("t", keep="first")
    t = dyad["t"].to_numpy(dtype=float)
    # nearest analysed frame to every step centre, within the tolerance
    right = np.clip(np.searchsorted(t, centres), 1, len(t) - 1) if len(t) > 1 else np.zeros(n, int)
    left = np.maximum(right - 1, 0)
    # ties (a step centre halfway between two frames) go to the earlier frame, the one on screen
    closer_right = np.abs(t[right] - centres) < np.abs(t[left] - centres) - 1e-6
    pick = np.where(closer_right, right, left)
    near = np.abs(t[pick] - centres) <= tolerance

    def take(name: str) -> np.ndarray:
        values = _prob(dyad, name)[pick]
        return np.where(near, values, np.nan)

    def seen(column: str) -> np.ndarray:
        # a person whose face is not found has unknown gaze and smile; an unknown visibility is
        # not seen either (NaN never reads as yes); only a table without the column (a
        # hand-built one) is taken as seen wherever it has a frame
        if column not in dyad:
            return near
        with np.errstate(invalid="ignore"):
            return near & (take(column) >= 0.5)

    p_ok, c_ok = seen("parent_visible"), seen("child_visible")
    both = p_ok & c_ok
    out["both_visible"] = np.where(near, both.astype(float), np.nan)
    out["parent_looks"] = np.where(p_ok, take("parent_looks_at_child"), np.nan)
    out["child_looks"] = np.where(c_ok, take("child_looks_at_parent"), np.nan)
    mutual = np.where(both, take("mutual_gaze"), np.nan)
    derived = np.fmin(out["parent_looks"], out["child_looks"])
    derived[np.isnan(out["parent_looks"]) | np.isnan(out["child_looks"])] = np.nan
    out["mutual_gaze"] = np.where(np.isnan(mutual), derived, mutual)
    out["parent_smile"] = np.where(p_ok, take("parent_smile"), np.nan)
    out["child_smile"] = np.where(c_ok, take("child_smile"), np.nan)
    both_smile = np.fmin(out["parent_smile"], out["child_smile"])
    both_smile[np.isnan(out["parent_smile"]) | np.isnan(out["child_smile"])] = np.nan
    out["both_smile"] = both_smile
    out["head_distance"] = np.where(both, take("head_distance"), np.nan)
    out["facing"] = np.where(both, take("facing"), np.nan)
    return out


def _cover(segments: pd.DataFrame, centres: np.ndarray) -> np.ndarray:
    """0/1 per step: does any of ``segments`` cover the step centre."""
    diff = np.zeros(len(centres) + 1)
    if len(segments):
        i0 = np.searchsorted(centres, segments["start"].to_numpy(dtype=float))
        i1 = np.searchsorted(centres, segments["end"].to_numpy(dtype=float))
        np.add.at(diff, i0, 1.0)
        np.add.at(diff, i1, -1.0)
    return (np.cumsum(diff)[:-1] > 0).astype(float)


def _laughing(segments: pd.DataFrame, present: float) -> np.ndarray:
    if "laughter" not in segments or len(segments) == 0:
        return np.zeros(len(segments), dtype=bool)
    values = pd.to_numeric(segments["laughter"], errors="coerce").to_numpy(dtype=float)
    return np.nan_to_num(values) >= present


def _speech_signals(speech: SpeechTrack, centres: np.ndarray, present: float) -> dict[str, Any]:
    seg = speech.segments
    out: dict[str, Any] = {}
    speaker = speaker_roles(seg) if len(seg) else np.zeros(0, dtype=str)
    laugh = _laughing(seg, present)
    for role in ("parent", "child"):
        mine = speaker == role
        out[f"{role}_speech"] = _cover(seg[mine], centres)
        out[f"{role}_laugh"] = _cover(seg[mine & laugh], centres)
    return out


def _turn_events(
    turns: pd.DataFrame, segments: pd.DataFrame, *, window: float, promptness_s: float
) -> pd.DataFrame:
    """Child initiatives from the audio stage's turns (:func:`vigcv.audio.find_turns`).

    Rows from the child are read (with an ``event`` column: switches to the parent and
    initiatives). A row's ``time`` is when the initiative ends (vocal) or begins (gaze, smile)
    and ``time + latency_s`` when the parent's response starts (``latency_s`` NaN: no response).
    It is answered when ``contingent`` is true and the latency is at most ``window``. The
    onset of a vocal initiative is the start of the child's speech segment ending at ``time``
    (within 0.3 s).
    """
    if len(turns) == 0 or not {"time", "from", "latency_s"} <= set(turns.columns):
        return pd.DataFrame({c: pd.Series(dtype=float) for c in EVENT_COLUMNS})
    child = turns[turns["from"].astype(str) == "child"]
    if "event" in child:
        to = child["to"].astype(str) if "to" in child else pd.Series("", index=child.index)
        child = child[(child["event"].astype(str) != "switch") | (to == "parent")]
    time = pd.to_numeric(child["time"], errors="coerce").to_numpy(dtype=float)
    latency = pd.to_numeric(child["latency_s"], errors="coerce").to_numpy(dtype=float)
    to_parent = child["to"].astype(str).to_numpy() == "parent" if "to" in child else True
    if "contingent" in child:
        contingent = child["contingent"].map(_truthy).to_numpy(dtype=bool)
    else:
        contingent = np.ones(len(child), dtype=bool)
    answered = to_parent & np.isfinite(latency) & (latency <= window) & contingent
    kind = child["kind"].astype(str).to_numpy() if "kind" in child else np.full(len(child), "vocal")
    onset = time.copy()
    roles = speaker_roles(segments) if len(segments) else np.zeros(0, dtype=str)
    mine = segments[roles == "child"] if len(segments) else segments
    vocal = kind == "vocal"
    if len(mine) and vocal.any():
        seg_start = mine["start"].to_numpy(dtype=float)
        seg_end = mine["end"].to_numpy(dtype=float)
        dist = np.abs(seg_end[None, :] - time[:, None])
        best = np.argmin(dist, axis=1)
        close = vocal & (dist[np.arange(len(time)), best] <= 0.3)
        onset = np.where(close, np.minimum(seg_start[best], time), time)
    how = None
    if "response" in child:
        given = child["response"].fillna("").astype(str).to_numpy()
        default = np.array([DEFAULT_RESPONSE.get(str(k), "speech") for k in kind], dtype=object)
        how = np.where(np.isin(given, ["speech", "gaze", "smile"]), given, default)
    events = _events(
        time,
        np.where(answered, time + np.nan_to_num(latency), np.nan),
        kind,
        answered,
        promptness_s,
        onset=onset,
        how=how,
    )
    # one initiative may come as a switch row and an initiative row: keep the best-answered
    events = events.sort_values("promptness", ascending=False, kind="stable")
    events = events.drop_duplicates(["initiative_t", "kind"])
    return events.sort_values("onset_t", kind="stable").reset_index(drop=True)


def speaker_roles(segments: pd.DataFrame) -> np.ndarray:
    """``parent``/``child``/other label of each segment; audio-only segments (``A``, ``B``, …)
    take their ``role_guess`` (``adult`` -> parent, ``child`` -> child) when there is one."""
    speaker = segments["speaker"].astype(str)
    if "role_guess" in segments:
        guess = segments["role_guess"].astype(str).map({"adult": "parent", "child": "child"})
        known = speaker.isin(["parent", "child", "other"])
        speaker = speaker.where(known, guess.fillna("unknown"))
    return np.asarray(speaker.to_numpy(), dtype=str)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y")
    try:
        return bool(value) and not (isinstance(value, float) and np.isnan(value))
    except (TypeError, ValueError):
        return False


def _events(
    initiative: np.ndarray,
    response: np.ndarray,
    kind: np.ndarray,
    answered: np.ndarray,
    promptness_s: float,
    *,
    onset: np.ndarray | None = None,
    how: np.ndarray | None = None,
) -> pd.DataFrame:
    latency = response - initiative
    if how is None:
        how = np.array([DEFAULT_RESPONSE.get(str(k), "speech") for k in kind], dtype=object)
    promptness = np.where(answered, np.exp(-np.clip(latency, 0, None) / promptness_s), 0.0)
    table = pd.DataFrame(
        {
            "onset_t": (initiative if onset is None else onset).astype(float),
            "initiative_t": initiative.astype(float),
            "response_t": response.astype(float),
            "latency_s": latency.astype(float),
            "kind": kind.astype(str),
            "answered": answered.astype(bool),
            "promptness": promptness.astype(float),
            "response": np.where(answered, np.asarray(how, dtype=object), ""),
        }
    )
    return table.sort_values("onset_t", kind="stable").reset_index(drop=True)


def _onsets(values: np.ndarray, present: float) -> np.ndarray:
    """Indices where ``values`` rises to ``present`` or above (NaN counts as no)."""
    on = np.nan_to_num(values, nan=0.0) >= present
    return np.flatnonzero(on & ~np.concatenate(([False], on[:-1])))


def _vocal_events(segments: pd.DataFrame, *, window: float, promptness_s: float) -> pd.DataFrame:
    """Child vocalisations (initiatives) and the parent speech that starts after each ends, within
    ``window`` seconds (the answer), straight from the speech segments."""
    who = speaker_roles(segments) if len(segments) else np.zeros(0, dtype=str)
    child, parent = segments[who == "child"], segments[who == "parent"]
    c_start = child["start"].to_numpy(dtype=float)
    c_end = child["end"].to_numpy(dtype=float)
    p_start = np.sort(parent["start"].to_numpy(dtype=float))
    nxt = np.searchsorted(p_start, c_end, side="left")
    has = nxt < len(p_start)
    response = np.where(has, p_start[np.minimum(nxt, max(len(p_start) - 1, 0))], np.nan)
    if len(p_start) == 0:
        response = np.full(len(c_end), np.nan)
    answered = np.isfinite(response) & (response - c_end <= window)
    return _events(
        c_end,
        np.where(answered, response, np.nan),
        np.full(len(c_end), "vocal"),
        answered,
        promptness_s,
        onset=c_start,
    )


def _weigh_by_attention(
    events: pd.DataFrame,
    parent_looks: np.ndarray,
    step: float,
    *,
    weight: float,
    span_s: float = 1.0,
) -> pd.DataFrame:
    """Scale the promptness of each spoken answer by
    ``(1 - weight) + weight * g``, where ``g`` is the mean probability that the parent looks at
    the child in the ``span_s`` seconds from the answer (unknown gaze leaves it as it is): words
    that happen to follow the child's, in parallel play, count less than an answer given face to
    face. Gaze and smile answers are already attention."""
    if weight <= 0 or len(events) == 0 or len(parent_looks) == 0:
        return events
    response = events["response_t"].to_numpy(dtype=float)
    first = np.floor(np.nan_to_num(response, nan=0.0) / step).astype(int)
    span = max(1, round(span_s / step))
    idx = np.clip(first[:, None] + np.arange(span)[None, :], 0, len(parent_looks) - 1)
    looks = parent_looks[idx]
    known = np.isfinite(looks)
    count = known.sum(axis=1)
    mean = np.divide(np.where(known, looks, 0.0).sum(axis=1), count, out=np.ones(len(first)),
                     where=count > 0)  # fmt: skip
    spoken = events["response"].astype(str).to_numpy() == "speech"
    factor = np.where(np.isfinite(response) & spoken, (1.0 - weight) + weight * mean, 1.0)
    out = events.copy()
    out["promptness"] = out["promptness"].to_numpy(dtype=float) * factor
    return out


def _offsets(values: np.ndarray, present: float) -> np.ndarray:
    """Indices of the last step of each run of ``values >= present``."""
    on = np.nan_to_num(values, nan=0.0) >= present
    return np.flatnonzero(on & ~np.concatenate((on[1:], [False])))


def _visual_events(
    sig: dict[str, Any], centres: np.ndarray, step: float, *, present: float, window: float,
    promptness_s: float,
) -> pd.DataFrame:  # fmt: skip
    """Child looks at / smiles at the parent (initiative) and the parent's answer (looking at or
    smiling at the child, already or within ``window`` seconds)."""
    parts = []
    span = max(1, round(window / step))
    for kind, child_sig, parent_sig in (
        ("gaze", "child_looks", "parent_looks"),
        ("smile", "child_smile", "parent_smile"),
    ):
        idx = _onsets(sig[child_sig], present)
        if len(idx) == 0:
            continue
        answer = np.nan_to_num(sig[parent_sig], nan=0.0) >= present
        n = len(answer)
        # first step at or after the onset (within the window) where the parent answers
        offs = np.arange(span + 1)
        grid = np.clip(idx[:, None] + offs[None, :], 0, n - 1)
        hit = answer[grid] & ((idx[:, None] + offs[None, :]) < n)
        answered = hit.any(axis=1)
        first = np.where(answered, hit.argmax(axis=1), 0)
        response = np.where(answered, centres[idx] + first * step, np.nan)
        parts.append((centres[idx], response, np.full(len(idx), kind), answered))
    if not parts:
        return _events(np.zeros(0), np.zeros(0), np.zeros(0, dtype=str), np.zeros(0, bool), 1.0)
    return _events(
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
        promptness_s,
    )


def build_timeline(
    frames: FrameFeatures, speech: SpeechTrack, *, config: dict[str, Any]
) -> Timeline:
    """Resample ``frames`` and ``speech`` onto a grid of ``[scoring] step_s`` seconds.

    Parameters
    ----------
    frames : FrameFeatures
        Vision output; its ``dyad`` table is read (may be empty).
    speech : SpeechTrack
        Audio output; ``segments`` (``laughter`` column optional) and ``turns`` are read (may be
        empty).
    config : dict
        The full vigcv config (``[scoring]`` is used).

    Returns
    -------
    Timeline
        ``n_steps = ceil(duration / step_s)`` rows.
    """
    sc = config["scoring"]
    step = float(sc["step_s"])
    present = float(sc["present"])
    duration = _session_duration(frames, speech)
    n = int(np.ceil(duration / step - 1e-9)) if duration > 0 else 0
    centres = (np.arange(n) + 0.5) * step
    sig = _frame_signals(frames, centres, float(sc["frame_tolerance_s"]))
    sig.update(_speech_signals(speech, centres, present))
    has_faces = bool(
        np.isfinite(sig["mutual_gaze"]).any()
        or np.isfinite(sig["parent_smile"]).any()
        or np.isfinite(sig["child_smile"]).any()
    )
    window, promptness_s = float(sc["response_window_s"]), float(sc["promptness_s"])
    events = _turn_events(speech.turns, speech.segments, window=window, promptness_s=promptness_s)
    kinds = set(events["kind"]) if len(events) else set()
    if sc["derive_vocal_turns"] and "vocal" not in kinds and len(speech.segments):
        vocal = _vocal_events(speech.segments, window=window, promptness_s=promptness_s)
        if len(vocal):
            events = pd.concat([events, vocal], ignore_index=True) if len(events) else vocal
    if sc["derive_visual_turns"] and has_faces and not kinds & {"gaze", "smile"}:
        visual = _visual_events(
            sig, centres, step, present=present, window=window, promptness_s=promptness_s
        )
        if len(visual):
            events = pd.concat([events, visual], ignore_index=True) if len(events) else visual
    events = events.sort_values("onset_t", kind="stable").reset_index(drop=True)
    events = _weigh_by_attention(
        events, sig["parent_looks"], step, weight=float(sc["answer_gaze_weight"])
    )
    table = pd.DataFrame({"t": centres, **{name: sig[name] for name in SIGNALS}})
    seg = speech.segments
    seg_starts = seg["start"].to_numpy(dtype=float) if len(seg) else np.zeros(0)
    seg_ends = seg["end"].to_numpy(dtype=float) if len(seg) else np.zeros(0)
    starts = np.unique(np.concatenate([seg_starts, events["onset_t"].to_numpy(dtype=float)]))
    # the end of a shared look or a shared smile is a natural edge too (the only one without speech)
    offsets = [_offsets(sig[name], present) * step + step for name in ("mutual_gaze", "both_smile")]
    ends = np.unique(np.concatenate([seg_ends, *offsets, [0.0, duration]]))
    return Timeline(
        table=table,
        events=events,
        step=step,
        duration=float(duration),
        has_faces=has_faces,
        has_speech=bool(len(seg)),
        starts=starts[np.isfinite(starts)],
        ends=ends[np.isfinite(ends)],
    )
