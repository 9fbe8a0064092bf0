"""Hand-built FrameFeatures and SpeechTrack with known answers, for the scoring tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vigcv.types import (
    PERSON_COLUMNS,
    SEGMENT_COLUMNS,
    TURN_COLUMNS,
    FrameFeatures,
    SpeechTrack,
)

Spans = Sequence[tuple[float, float]]


def _on(t: np.ndarray, spans: Spans) -> np.ndarray:
    out = np.zeros(len(t))
    for a, b in spans:
        out[(t >= a) & (t < b)] = 1.0
    return out


def make_frames(
    duration: float,
    *,
    fps: float = 10.0,
    parent_looks: Spans = (),
    child_looks: Spans = (),
    parent_smile: Spans = (),
    child_smile: Spans = (),
    hidden: Spans = (),
    head_distance: float = 3.0,
) -> FrameFeatures:
    """Frames every 1/fps s; mutual gaze where both look; ``hidden`` hides the child's face."""
    t = np.arange(0.0, duration, 1.0 / fps)
    p_look, c_look = _on(t, parent_looks), _on(t, child_looks)
    child_seen = 1.0 - _on(t, hidden)
    dyad = pd.DataFrame(
        {
            "t": t,
            "parent_visible": np.ones(len(t)),
            "child_visible": child_seen,
            "parent_looks_at_child": p_look,
            "child_looks_at_parent": c_look,
            "mutual_gaze": p_look * c_look,
            "parent_smile": _on(t, parent_smile),
            "child_smile": _on(t, child_smile),
            "head_distance": np.where(child_seen > 0, head_distance, np.nan),
        }
    )
    table = pd.DataFrame({c: pd.Series(dtype=float) for c in PERSON_COLUMNS})
    return FrameFeatures(table=table, dyad=dyad, fps=fps, video_id="built")


def make_speech(
    segments: Sequence[tuple[float, float, str]] = (),
    turns: Sequence[tuple[float, str, str, float, str, bool]] = (),
    *,
    laughter: Sequence[bool] | None = None,
) -> SpeechTrack:
    """Segments ``(start, end, speaker)``; turns ``(time, from, to, latency_s, kind, contingent)``
    as :func:`vigcv.audio.find_turns` gives them: ``time`` is when the initiative ends (vocal) or
    begins (gaze, smile), ``time + latency_s`` when the response starts."""
    seg = pd.DataFrame(
        [(a, b, who, 0.9) for a, b, who in segments], columns=list(SEGMENT_COLUMNS)
    ).astype({"start": float, "end": float, "confidence": float})
    if laughter is not None:
        seg["laughter"] = list(laughter)
    tr = pd.DataFrame(list(turns), columns=list(TURN_COLUMNS))
    end = max([b for _, b, _ in segments], default=0.0)
    times = np.arange(0.016, end, 0.032)
    return SpeechTrack(times=times, vad=np.zeros(len(times)), segments=seg, turns=tr)


def hand_built_session() -> tuple[FrameFeatures, SpeechTrack, dict[str, tuple[float, float]]]:
    """A 60 s session with five scripted stretches (seconds):

    - ``textbook`` 2-12: the child looks up and vocalises at 3.0; the parent turns to her and
      answers 0.6 s later; mutual gaze 3.6-9.0; both smile 5.0-8.0; a second exchange at 6.0.
    - ``missed`` 16-25: the child looks at the parent and vocalises at 17.0; the parent looks
      away and says nothing until 22.5 (unrelated talk).
    - ``slow`` 28-36: the child vocalises at 29.0, the parent answers after 3 s, brief look.
    - ``parallel`` 39-48: both talk to themselves, no gaze, no smiles, far apart.
    - ``smiles`` 50-58: quiet shared smiles with some mutual gaze, no talk.
    """
    stretches = {
        "textbook": (2.0, 12.0),
        "missed": (16.0, 25.0),
        "slow": (28.0, 36.0),
        "parallel": (39.0, 48.0),
        "smiles": (50.0, 58.0),
    }
    frames = make_frames(
        60.0,
        parent_looks=[(3.6, 9.5), (32.2, 33.5), (51.0, 53.5)],
        child_looks=[(3.0, 9.0), (17.0, 20.0), (29.0, 31.0), (51.5, 53.0)],
        parent_smile=[(4.5, 8.5), (22.0, 23.0), (50.5, 55.0)],
        child_smile=[(5.0, 8.0), (18.0, 19.0), (51.0, 54.0)],
        head_distance=2.5,
    )
    # parallel play: far apart
    far = (frames.dyad["t"] >= 39.0) & (frames.dyad["t"] < 48.0)
    frames.dyad.loc[far, "head_distance"] = 6.5
    speech = make_speech(
        segments=[
            (3.0, 3.8, "child"),
            (4.4, 5.6, "parent"),
            (6.0, 6.6, "child"),
            (7.0, 8.0, "parent"),
            (17.0, 17.8, "child"),
            (22.5, 24.0, "parent"),
            (29.0, 29.7, "child"),
            (32.7, 33.6, "parent"),
            (40.0, 42.0, "parent"),
            (44.5, 45.2, "child"),
            (46.0, 47.5, "parent"),
        ],
        turns=[
            (3.8, "child", "parent", 0.6, "vocal", True),
            (6.6, "child", "parent", 0.4, "vocal", True),
            (17.8, "child", "parent", float("nan"), "vocal", False),
            (29.7, "child", "parent", 3.0, "vocal", False),
        ],
    )
    return frames, speech, stretches
