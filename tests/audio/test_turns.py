"""Turns, latencies, initiatives and responses on made-up segments with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vigcv.audio import (
    conversational_turn_count,
    find_turns,
    floor_switches,
    floor_turns,
    speaking_timeline,
)
from vigcv.audio.turns import rises
from vigcv.types import DYAD_COLUMNS, TURN_COLUMNS, FrameFeatures, SpeechTrack


def track(rows: list[tuple[float, float, str]], **extra: list) -> SpeechTrack:
    seg = pd.DataFrame(rows, columns=["start", "end", "speaker"])
    seg["confidence"] = 0.8
    for key, values in extra.items():
        seg[key] = values
    empty = SpeechTrack.empty()
    return SpeechTrack(np.zeros(0), np.zeros(0), seg, empty.turns)


def dyad(times: np.ndarray, **columns: np.ndarray) -> FrameFeatures:
    table = pd.DataFrame({"t": times, **columns}).reindex(columns=list(DYAD_COLUMNS))
    for name, values in columns.items():
        table[name] = values
    ff = FrameFeatures.empty(fps=10.0)
    return FrameFeatures(ff.table, table, 10.0, "hand-built")


def test_floor_drops_backchannels_and_joins_runs():
    seg = pd.DataFrame(
        [(0, 3, "parent"), (1, 1.5, "child"), (3.2, 4, "parent"), (4.5, 5, "child")],
        columns=["start", "end", "speaker"],
    )
    turns = floor_turns(seg)
    assert turns.values.tolist() == [[0, 4, "parent"], [4.5, 5, "child"]]
    sw = floor_switches(seg)
    assert sw[["time", "from", "to"]].values.tolist() == [[4.5, "parent", "child"]]
    assert sw["latency_s"].iloc[0] == pytest.approx(0.5)


def test_vocal_switches_contingency_and_lena(config):
    speech = track(
        [
            (0.0, 1.0, "child"),  # parent answers after 0.6 s: contingent
            (1.6, 3.0, "parent"),
            (6.5, 7.0, "child"),  # child speaks 3.5 s later: a switch, not contingent
            (7.0, 8.0, "child"),  # same turn continues
            (12.0, 13.0, "parent"),  # 4 s later: not contingent, but a LENA turn (< 5 s)
            (20.0, 21.0, "child"),  # 7 s later: not a LENA turn
        ]
    )
    turns = find_turns(speech, None, config=config)
    assert list(turns.columns[: len(TURN_COLUMNS)]) == list(TURN_COLUMNS)
    switches = turns[turns["event"] == "switch"]
    assert switches["from"].tolist() == ["child", "parent", "child", "parent"]
    assert switches["latency_s"].tolist() == pytest.approx([0.6, 3.5, 4.0, 7.0])
    assert switches["time"].tolist() == pytest.approx([1.0, 3.0, 8.0, 13.0])
    assert switches["contingent"].tolist() == [True, False, False, False]
    assert switches["kind"].eq("vocal").all()
    # the last child turn is unanswered: an initiative row without a response
    last = turns[turns["event"] == "initiative"].iloc[-1]
    assert last["time"] == pytest.approx(21.0) and np.isnan(last["latency_s"])
    assert not last["contingent"]
    assert conversational_turn_count(speech, config=config) == 3


def test_gaze_initiative_answered_by_speech_and_smile(config):
    t = np.round(np.arange(0, 10, 0.1), 3)
    child_looks = ((t >= 2.0) & (t < 4.0)).astype(float)  # child looks up at 2.0
    parent_smile = ((t >= 6.0) & (t < 8.0)).astype(float)
    child_smile = ((t >= 5.0) & (t < 9.0)).astype(float)  # child smiles at 5.0
    frames = dyad(t, child_looks_at_parent=child_looks, parent_smile=parent_smile,
                  child_smile=child_smile)  # fmt: skip
    speech = track([(3.3, 4.0, "parent")])  # the parent speaks 1.3 s after the look
    turns = find_turns(speech, frames, config=config)
    gaze = turns[turns["kind"] == "gaze"].iloc[0]
    assert gaze["time"] == pytest.approx(2.0)
    assert gaze["latency_s"] == pytest.approx(1.3)
    assert gaze["response"] == "speech" and gaze["contingent"]
    smile = turns[turns["kind"] == "smile"].iloc[0]
    assert smile["time"] == pytest.approx(5.0)
    assert smile["latency_s"] == pytest.approx(1.0)
    assert smile["response"] == "smile" and smile["contingent"]


def test_child_vocal_answered_by_look_only(config):
    t = np.round(np.arange(0, 10, 0.1), 3)
    frames = dyad(t, parent_looks_at_child=(t >= 2.8).astype(float))
    speech = track([(1.0, 2.0, "child")])
    turns = find_turns(speech, frames, config=config)
    row = turns.iloc[0]
    assert (row["kind"], row["response"], row["from"], row["to"]) == (
        "vocal",
        "gaze",
        "child",
        "parent",
    )
    assert row["latency_s"] == pytest.approx(0.8) and row["contingent"]


def test_rises_need_a_quiet_stretch():
    t = np.arange(0, 3, 0.1)
    v = np.zeros(t.size)
    v[5:8] = 1  # rise at 0.5 after 0.5 s below
    v[9:12] = 1  # flicker: only 0.1 s below
    v[20:] = 1  # rise at 2.0 after 0.8 s below
    assert rises(t, v, level=0.5, quiet_s=0.5) == pytest.approx([0.5, 2.0])


def test_audio_only_labels_use_pitch_guess(config):
    speech = track(
        [(0, 1, "A"), (1.5, 2, "B"), (2.4, 3, "A")], role_guess=["adult", "child", "adult"]
    )
    turns = find_turns(speech, None, config=config)
    assert turns["from"].tolist() == ["A", "B"]
    assert conversational_turn_count(speech, config=config) == 2
    timeline = speaking_timeline(speech, np.array([0.5, 1.7, 2.2]))
    assert timeline["parent_speaking"].tolist() == pytest.approx([0.8, 0.0, 0.0])
    assert timeline["child_speaking"].tolist() == pytest.approx([0.0, 0.8, 0.0])


def test_a_speakers_short_pauses_are_part_of_the_turn(config):
    # Parent "A": two parts 0.6 s apart (joined), then 2.0 s apart (kept apart at 1.5 s); the
    # child between parts of the parent keeps them apart; "unknown" parts are never joined, and
    # a part of another voice cluster stays apart though the role is the same.
    from vigcv.audio import attribute_speakers
    from vigcv.audio.turns import fill_pauses

    rows = [
        (0.0, 1.0, "A"),
        (1.6, 2.5, "A"),  # 0.6 s after: joined
        (4.5, 5.0, "A"),  # 2.0 s after: apart
        (5.2, 5.6, "B"),
        (5.8, 6.4, "A"),  # the child spoke between: apart
        (7.0, 7.5, "unknown"),
        (7.8, 8.2, "unknown"),
        (8.5, 9.0, "A"),
        (9.3, 9.8, "A"),  # another cluster: apart
    ]
    clusters = ["A", "A", "A", "B", "A", "C", "C", "A", "D"]
    pitch = [200.0, np.nan, 210.0, 400.0, 220.0, np.nan, np.nan, 230.0, 240.0]
    speech = track(rows, cluster=clusters, pitch_hz=pitch, overlap=[False] * 9)
    speech.segments.loc[1, "confidence"] = 0.5
    filled = fill_pauses(speech.segments, max_gap_s=1.5)
    assert filled[["start", "end", "speaker"]].values.tolist() == [
        [0.0, 2.5, "A"],
        [4.5, 5.0, "A"],
        [5.2, 5.6, "B"],
        [5.8, 6.4, "A"],
        [7.0, 7.5, "unknown"],
        [7.8, 8.2, "unknown"],
        [8.5, 9.0, "A"],
        [9.3, 9.8, "A"],
    ]
    assert filled.loc[0, "confidence"] == 0.5  # the lower of the two
    assert filled.loc[0, "pitch_hz"] == 200.0  # the part without a pitch does not count
    assert filled["start"].dtype == speech.segments["start"].dtype
    # An overlapping segment of another speaker reaching into the pause keeps the parts apart.
    over = track([(0.0, 1.0, "A"), (0.5, 1.8, "B"), (2.0, 3.0, "A")], cluster=["A", "B", "A"])
    assert len(fill_pauses(over.segments, max_gap_s=1.5)) == 3
    # 0 keeps every pause; the audio-only speech.csv (attribute_speakers without video) fills.
    assert fill_pauses(speech.segments, max_gap_s=0.0).equals(speech.segments)
    audio_only = attribute_speakers(speech, None, config=config)
    assert len(audio_only.segments) == 8
    keep = {**config, "audio": {**config["audio"], "fill_pause_s": 0.0}}
    assert len(attribute_speakers(speech, None, config=keep).segments) == 9
