"""Turn-taking over speech segments and vision features: pure functions, no models.

- The **floor**: segments lying entirely inside another speaker's segment are back-channels
  (overlaps), not turns; the rest, ordered by start, with consecutive segments of one speaker
  joined, are the turns.
- A **switch** is a change of speaker from one turn to the next. Its latency is ``start of the
  new turn - end of the previous one`` (negative when they overlap; the floor-transfer offset).
- A **child initiative** is a child turn (vocal), the child starting to look at the parent
  (gaze: ``child_looks_at_parent`` rising above ``rise_level``), or starting to smile (smile).
  The parent's **response** is the earliest of: the parent starting to speak, starting to look
  at the child, starting to smile. It is **contingent** when it starts within
  ``contingency_window_s`` (chattr's default 2 s).

Rows of the turns table (columns :data:`vigcv.types.TURN_COLUMNS` + ``event``, ``response``):
``time`` is when the initiative ends (vocal) or begins (gaze, smile); ``time + latency_s`` is
when the response starts (``latency_s`` NaN when nobody answers within ``lena_turn_window_s``;
0 when the parent turns to the child or smiles while the child is still vocalising).
``event`` is ``switch`` (every change of speaker, any speakers) or ``initiative`` (a child
initiative that is not followed by a parent turn within the window: a child turn answered by
the parent's gaze or smile, or by nothing; and every child gaze or smile initiative).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from vigcv.types import TURN_COLUMNS, FrameFeatures, SpeechTrack

EXTRA_COLUMNS = ("event", "response")


def role_of(segments: pd.DataFrame) -> pd.Series:
    """Role of each segment: ``parent``/``child``/``other``/``unknown`` (audio-only: by pitch)."""
    speaker = segments["speaker"].astype(str)
    if "role_guess" in segments:
        guess = segments["role_guess"].astype(str).map({"adult": "parent", "child": "child"})
        speaker = speaker.where(speaker.isin(["parent", "child", "other"]), guess.fillna("unknown"))
    return speaker.where(speaker.isin(["parent", "child", "other"]), "unknown")


def fill_pauses(segments: pd.DataFrame, *, max_gap_s: float) -> pd.DataFrame:
    """Segments of one speaker and voice cluster with a pause of at most ``max_gap_s`` between
    them, and no other speaker's segment reaching into it, joined into one (a speaker's turn, as
    human speaker-turn references mark it, spans its short pauses; diarization toolkits fill
    them the same way, e.g. pyannote's ``min_duration_off``). ``unknown`` segments stay apart.

    The joined segment keeps the first part's columns, with the lower ``confidence``, ``overlap``
    if either part overlaps, the longer part's ``evidence`` and the duration-weighted mean
    ``pitch_hz`` of the parts that have one. Turns and initiatives are unchanged
    (:func:`floor_turns` joins a speaker's consecutive segments already).
    """
    if max_gap_s <= 0 or len(segments) < 2:
        return segments
    seg = segments.sort_values(["start", "end"], kind="stable").reset_index(drop=True)
    rows: list[dict[str, Any]] = []
    before = -np.inf  # the latest end among the segments before the last one kept
    for row in seg.to_dict("records"):
        last = rows[-1] if rows else None
        if (
            last is None
            or str(row["speaker"]) == "unknown"
            or str(row["speaker"]) != str(last["speaker"])
            or str(row.get("cluster", "")) != str(last.get("cluster", ""))
            or float(row["start"]) - float(last["end"]) > max_gap_s
            or before > float(last["end"])  # someone else speaks on into the pause
        ):
            if last is not None:
                before = max(before, float(last["end"]))
            rows.append(dict(row))
            continue
        a, b = float(last["end"]) - float(last["start"]), float(row["end"]) - float(row["start"])
        if "confidence" in row:
            last["confidence"] = min(float(last["confidence"]), float(row["confidence"]))
        if "overlap" in row:
            last["overlap"] = bool(last["overlap"]) or bool(row["overlap"])
        if "evidence" in row and b > a:
            last["evidence"] = row["evidence"]
        if "pitch_hz" in row:
            pitch = np.array([last["pitch_hz"], row["pitch_hz"]], dtype=float)
            weight = np.array([a, b]) * np.isfinite(pitch)
            if weight.sum() > 0:
                last["pitch_hz"] = float(np.nansum(pitch * weight) / weight.sum())
        last["end"] = max(float(last["end"]), float(row["end"]))
    return pd.DataFrame(rows, columns=seg.columns).astype(seg.dtypes.to_dict())


def floor_turns(segments: pd.DataFrame) -> pd.DataFrame:
    """Turns: back-channels removed, consecutive segments of one speaker joined.

    Parameters
    ----------
    segments : DataFrame
        ``start``, ``end`` (s), ``speaker``.

    Returns
    -------
    DataFrame
        ``start``, ``end``, ``speaker``, ordered by start.
    """
    seg = segments.sort_values(["start", "end"], kind="stable").reset_index(drop=True)
    starts = seg["start"].to_numpy(float)
    ends = seg["end"].to_numpy(float)
    speakers = seg["speaker"].astype(str).to_numpy()
    rows: list[list[Any]] = []
    for k in range(len(seg)):
        inside = (starts <= starts[k]) & (ends >= ends[k]) & (speakers != speakers[k])
        inside[k] = False
        if inside.any():
            continue
        if rows and rows[-1][2] == speakers[k]:
            rows[-1][1] = max(rows[-1][1], ends[k])
        else:
            rows.append([starts[k], ends[k], speakers[k]])
    return pd.DataFrame(rows, columns=["start", "end", "speaker"])


def floor_switches(segments: pd.DataFrame) -> pd.DataFrame:
    """Every change of speaker between consecutive turns.

    Returns
    -------
    DataFrame
        ``time`` (start of the new turn, s), ``from``, ``to``, ``latency_s`` (new start minus
        previous end; negative for overlap).
    """
    turns = floor_turns(segments)
    rows = []
    for k in range(1, len(turns)):
        prev, cur = turns.iloc[k - 1], turns.iloc[k]
        latency = float(cur["start"]) - float(prev["end"])
        rows.append((float(cur["start"]), str(prev["speaker"]), str(cur["speaker"]), latency))
    return pd.DataFrame(rows, columns=["time", "from", "to", "latency_s"])


def rises(t: np.ndarray, value: np.ndarray, *, level: float, quiet_s: float) -> np.ndarray:
    """Times where ``value`` crosses ``level`` from below after at least ``quiet_s`` below.

    NaN values (face not seen) neither start nor end the quiet stretch.
    """
    out = []
    below_since: float | None = None
    for ti, v in zip(t, value, strict=True):
        if not np.isfinite(v):
            continue
        if v < level:
            if below_since is None:
                below_since = float(ti)
        else:
            if below_since is not None and ti - below_since >= quiet_s:
                out.append(float(ti))
            below_since = None
    return np.asarray(out, dtype=float)


def _dyad_rises(frames: FrameFeatures | None, column: str, cfg: dict[str, Any]) -> np.ndarray:
    if frames is None or column not in frames.dyad or frames.dyad.empty:
        return np.zeros(0)
    dyad = frames.dyad.sort_values("t")
    return rises(
        dyad["t"].to_numpy(float),
        dyad[column].to_numpy(float),
        level=cfg["rise_level"],
        quiet_s=cfg["rise_quiet_s"],
    )


def find_turns(
    speech: SpeechTrack, frames: FrameFeatures | None, *, config: dict[str, Any]
) -> pd.DataFrame:
    """Switches, child initiatives and the parent's responses (see the module notes).

    Parameters
    ----------
    speech : SpeechTrack
        With attributed segments (``speaker``; audio-only labels use ``role_guess``).
    frames : FrameFeatures or None
        Vision features; their ``dyad`` gives gaze and smile initiatives and responses.
    config : dict
        The whole config (``[audio]``: ``contingency_window_s``, ``lena_turn_window_s``,
        ``rise_level``, ``rise_quiet_s``).

    Returns
    -------
    DataFrame
        :data:`vigcv.types.TURN_COLUMNS` + ``event``, ``response``, ordered by time.
    """
    cfg = config["audio"]
    window, horizon = cfg["contingency_window_s"], cfg["lena_turn_window_s"]
    columns = [*TURN_COLUMNS, *EXTRA_COLUMNS]
    seg = speech.segments
    rows: list[tuple[Any, ...]] = []
    labelled = seg.assign(speaker=role_of(seg)) if "role_guess" in seg else seg
    if len(seg):
        for sw in floor_switches(seg).itertuples(index=False):
            lat = float(sw.latency_s)
            rows.append(
                (sw.time - lat, sw[1], sw.to, lat, "vocal", lat <= window, "switch", "speech")
            )
    roles = floor_turns(labelled) if len(seg) else pd.DataFrame(columns=["start", "end", "speaker"])
    parent_speech = roles.loc[roles["speaker"] == "parent", "start"].to_numpy(float)
    responses = {
        "speech": parent_speech,
        "gaze": _dyad_rises(frames, "parent_looks_at_child", cfg),
        "smile": _dyad_rises(frames, "parent_smile", cfg),
    }

    def earliest(after: float, kinds: tuple[str, ...]) -> tuple[float, str]:
        best, kind = np.inf, ""
        for name in kinds:
            times = responses[name]
            times = times[(times >= after) & (times <= after + horizon)]
            if times.size and times.min() < best:
                best, kind = float(times.min()), name
        return best, kind

    everything = ("speech", "gaze", "smile")
    for k in range(len(roles)):
        if roles["speaker"].iloc[k] != "child":
            continue
        onset, offset = float(roles["start"].iloc[k]), float(roles["end"].iloc[k])
        nxt = roles["speaker"].iloc[k + 1] if k + 1 < len(roles) else None
        answered_by_speech = nxt == "parent" and roles["start"].iloc[k + 1] - offset <= window
        if answered_by_speech:
            continue  # the switch row is the answer
        t, kind = earliest(onset, ("gaze", "smile"))
        if nxt == "parent" and not np.isfinite(t):
            continue  # answered late by speech only: the switch row says it all
        if nxt != "parent":
            t_speech, _ = earliest(offset, ("speech",))
            if t_speech < t:
                t, kind = t_speech, "speech"
        # a look or smile that starts while the child is still vocalising answers at once
        lat = max(0.0, t - offset) if np.isfinite(t) else np.nan
        rows.append(
            (offset, "child", "parent", lat, "vocal", bool(lat <= window), "initiative", kind)
        )
    for kind, column in (("gaze", "child_looks_at_parent"), ("smile", "child_smile")):
        for onset in _dyad_rises(frames, column, cfg):
            t, how = earliest(onset, everything)
            lat = t - onset if np.isfinite(t) else np.nan
            rows.append(
                (onset, "child", "parent", lat, kind, bool(lat <= window), "initiative", how)
            )
    table = pd.DataFrame(rows, columns=columns)
    table["contingent"] = table["contingent"].astype(bool)
    return table.sort_values("time", kind="stable").reset_index(drop=True)


def conversational_turn_count(speech: SpeechTrack, *, config: dict[str, Any]) -> int:
    """LENA-style conversational turns: parent↔child switches within ``lena_turn_window_s``.

    Each change between a parent turn and a child turn (either way) whose gap is at most the
    window counts once (LENA's 5 s rule).
    """
    seg = speech.segments
    if seg.empty:
        return 0
    switches = floor_switches(seg.assign(speaker=role_of(seg)))
    pair = switches["from"].isin(["parent", "child"]) & switches["to"].isin(["parent", "child"])
    pair &= switches["from"] != switches["to"]
    return int(np.sum(pair & (switches["latency_s"] <= config["audio"]["lena_turn_window_s"])))


def speaking_timeline(speech: SpeechTrack, times: np.ndarray) -> pd.DataFrame:
    """Who is speaking at each of ``times`` (seconds), for timeline.csv.

    Returns
    -------
    DataFrame
        ``parent_speaking``, ``child_speaking``: the confidence (0..1) of the segment of that
        role covering the time, 0 where none does; one row per time.
    """
    times = np.asarray(times, dtype=float)
    out = {"parent_speaking": np.zeros(times.size), "child_speaking": np.zeros(times.size)}
    seg = speech.segments
    if len(seg):
        roles = role_of(seg).to_numpy()
        conf = pd.to_numeric(seg["confidence"], errors="coerce").fillna(0.0).to_numpy(float)
        for start, end, role, c in zip(seg["start"], seg["end"], roles, conf, strict=True):
            if role not in ("parent", "child"):
                continue
            col = out[f"{role}_speaking"]
            inside = (times >= start) & (times < end)
            col[inside] = np.maximum(col[inside], np.clip(c, 0.0, 1.0))
    return pd.DataFrame(out)
