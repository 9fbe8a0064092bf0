"""Who speaks: mouths that move with the voice, the voice's clusters, and the synthetic session."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.audio.builders import hand_frames
from vigcv.audio import attribute_speakers, speaking_timeline
from vigcv.evaluation.speech import attribution_accuracy, read_rttm
from vigcv.types import SpeechTrack


def two_speaker_track() -> SpeechTrack:
    """Voice 1-2 s (cluster A), 3-4 s (cluster B), 5-6 s (cluster A), 7-8 s (cluster B)."""
    times = np.arange(0, 10, 0.032) + 0.016
    vad = np.zeros(times.size)
    rows = []
    for k, (start, end) in enumerate([(1, 2), (3, 4), (5, 6), (7, 8)]):
        vad[(times >= start) & (times < end)] = 0.95
        rows.append((start, end, "AB"[k % 2], 0.9, "AB"[k % 2], np.nan, "unknown"))
    columns = ["start", "end", "speaker", "confidence", "cluster", "pitch_hz", "role_guess"]
    seg = pd.DataFrame(rows, columns=columns)
    return SpeechTrack(times, vad, seg, SpeechTrack.empty().turns)


def talking_mouth(times: np.ndarray, spans: list[tuple[float, float]], rng) -> np.ndarray:
    """Closed mouth with jitter; opens and closes at 4 Hz while talking."""
    mouth = 0.03 + 0.02 * rng.random(times.size)
    for start, end in spans:
        inside = (times >= start) & (times < end)
        mouth[inside] = 0.3 + 0.25 * np.sin(2 * np.pi * 4 * times[inside]) ** 2
    return mouth


def test_mouth_that_moves_with_the_voice_is_the_speaker(rng, config):
    t = np.arange(0, 10, 0.1)
    mouths = {
        "parent": talking_mouth(t, [(1, 2), (5, 6)], rng),
        "child": talking_mouth(t, [(3, 4), (7, 8)], rng),
    }
    got = attribute_speakers(two_speaker_track(), hand_frames(mouths, t), config=config)
    assert got.segments["speaker"].tolist() == ["parent", "child", "parent", "child"]
    assert got.segments["evidence"].eq("face").all()
    assert (got.segments["confidence"] > 0.7).all()
    # swapping the mouths swaps the speakers
    swapped = {"parent": mouths["child"], "child": mouths["parent"]}
    again = attribute_speakers(two_speaker_track(), hand_frames(swapped, t), config=config)
    assert again.segments["speaker"].tolist() == ["child", "parent", "child", "parent"]


def test_hidden_face_falls_back_to_the_voice_cluster(rng, config):
    t = np.arange(0, 10, 0.1)
    mouths = {
        "parent": talking_mouth(t, [(1, 2), (5, 6)], rng),
        "child": talking_mouth(t, [(3, 4), (7, 8)], rng),
    }
    frames = hand_frames(mouths, t)
    table = frames.table.copy()
    hidden = (table["t"] >= 6.5) & (table["t"] < 8.5)
    table.loc[hidden, "visible"] = 0.0  # nobody is seen during the last segment
    frames = type(frames)(table, frames.dyad, frames.fps, frames.video_id)
    got = attribute_speakers(two_speaker_track(), frames, config=config).segments
    assert got["evidence"].tolist() == ["face", "face", "face", "voice"]
    assert got["speaker"].iloc[3] == "child"  # cluster B was the child's when seen
    assert 0 < got["confidence"].iloc[3] < got["confidence"].iloc[1]


def test_audio_only_keeps_cluster_labels(config):
    got = attribute_speakers(two_speaker_track(), None, config=config)
    assert got.segments["speaker"].tolist() == ["A", "B", "A", "B"]
    assert got.provenance["attributed"] == "audio"
    assert got.turns["event"].eq("switch").sum() == 3


def test_synthetic_session_attribution(synth_speech):
    hyp = synth_speech.attributed.segments
    assert attribution_accuracy(synth_speech.reference, hyp) >= 0.9
    timeline = speaking_timeline(synth_speech.attributed, np.array([11.9, 14.8, 21.5]))
    assert timeline["child_speaking"].tolist()[:2] == [pytest.approx(1.0, abs=0.2)] * 2
    assert timeline["parent_speaking"].iloc[2] > 0.5


def test_synthetic_session_audio_only_clusters(synth_speech):
    """Without faces, the child's voice forms its own cluster, guessed a child by its pitch."""
    seg = synth_speech.speech.segments
    assert set(seg["speaker"]) >= {"A", "B"}
    ref = synth_speech.reference
    guess = seg.assign(speaker=seg["role_guess"].map({"adult": "parent", "child": "child"}))
    assert attribution_accuracy(ref, guess) >= 0.8


def test_scripted_answers_are_contingent(synth_speech):
    turns = synth_speech.attributed.turns
    found = turns[(turns["from"] == "child") & (turns["to"] == "parent")]
    assert len(synth_speech.answers) >= 5
    for child_end, delay in synth_speech.answers:
        near = found[np.abs(found["time"] - child_end) < 0.5]
        assert len(near) == 1, f"no switch after the child's utterance ending at {child_end:.2f}"
        row = near.iloc[0]
        assert bool(row["contingent"])
        assert row["latency_s"] == pytest.approx(delay, abs=0.2)


def test_real_two_speaker_call(shared_eval, config):
    """The pyannote sample call: two adults, diarized from the voice alone."""
    from vigcv.audio import extract_audio
    from vigcv.evaluation.speech import diarization_error_rate

    speech = extract_audio(shared_eval / "speech" / "sample.wav", config=config)
    reference = read_rttm(shared_eval / "speech" / "sample.rttm")
    assert speech.segments["speaker"].nunique() == 2
    assert set(speech.segments["role_guess"]) == {"adult"}
    assert diarization_error_rate(reference, speech.segments)["der"] < 0.25


def test_talking_over_each_other_is_seen(synth_speech):
    """The script's parallel play has the child talk while the parent talks (twice): both mouths
    move, so the overlap is found although the voice track names one speaker at a time."""
    seg = synth_speech.attributed.segments
    grid = np.arange(0.0, 120.0, 0.01)

    def spoken(table: pd.DataFrame, role: str) -> np.ndarray:
        mask = np.zeros(grid.size, bool)
        for start, end in zip(table.loc[table["speaker"] == role, "start"],
                              table.loc[table["speaker"] == role, "end"], strict=True):  # fmt: skip
            mask |= (grid >= start) & (grid < end)
        return mask

    ref = synth_speech.reference
    truth = spoken(ref, "parent") & spoken(ref, "child")
    found = spoken(seg, "parent") & spoken(seg, "child")
    assert truth.sum() * 0.01 >= 1.0  # the script has about 1.2 s of it
    assert (truth & found).sum() >= 0.8 * truth.sum()
    assert (truth & found).sum() >= 0.6 * found.sum()
    assert seg["overlap"].any()
    inside = seg[seg["overlap"]]
    assert set(inside["speaker"]) <= {"parent", "child"}
    # an overlap inside someone's turn is not a turn of its own
    switches = synth_speech.attributed.turns
    switches = switches[switches["event"] == "switch"]
    for start in inside["start"]:
        assert not np.any(np.abs(switches["time"] - start) < 0.05)


def test_a_narrow_face_decision_yields_to_a_clear_voice_cluster(config):
    """The child's voice cluster B was the child's face three times; the fourth time a turned-away
    parent's mouth barely moves and the child's is not seen to: the voice decides."""
    spans = [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)]
    times = np.arange(0, 18, 0.032) + 0.016
    vad = np.zeros(times.size)
    rows = []
    for (start, end), c in zip(spans, "ABABABAB", strict=True):
        vad[(times >= start) & (times < end)] = 0.95
        rows.append((start, end, c, 0.9, c, np.nan, "unknown"))
    columns = ["start", "end", "speaker", "confidence", "cluster", "pitch_hz", "role_guess"]
    track = SpeechTrack(times, vad, pd.DataFrame(rows, columns=columns), SpeechTrack.empty().turns)
    t = np.arange(0, 18, 0.1)
    rng = np.random.default_rng(0)
    mouths = {
        "parent": talking_mouth(t, [(1, 2), (5, 6), (9, 10), (13, 14)], rng),
        "child": talking_mouth(t, [(3, 4), (7, 8), (11, 12)], rng),
    }
    last = (t >= 15) & (t < 16)
    mouths["parent"][last] += 0.012 * (1 + np.sin(2 * np.pi * 4 * t[last]))
    mouths["child"][last] += 0.006 * (1 + np.sin(2 * np.pi * 4 * t[last]))
    frames = hand_frames(mouths, t)
    faces_only = {**config, "audio": {**config["audio"], "av_face_sure": 0.0}}
    narrow = attribute_speakers(track, frames, config=faces_only).segments.iloc[7]
    assert narrow["speaker"] == "parent" and narrow["confidence"] < 0.7  # the premise
    got = attribute_speakers(track, frames, config=config).segments
    assert got["speaker"].tolist() == ["parent", "child"] * 4
    assert got["evidence"].iloc[7] == "voice"


def _child_pitched_track(spans: list[tuple[float, float]], pitch: float = 420.0) -> SpeechTrack:
    """One voice cluster whose pitch calls it a child (a parent's baby talk sounds like this),
    or an adult below ``child_pitch_hz``."""
    times = np.arange(0, 10, 0.032) + 0.016
    vad = np.zeros(times.size)
    rows = []
    guess = "child" if pitch >= 300.0 else "adult"
    for start, end in spans:
        vad[(times >= start) & (times < end)] = 0.95
        rows.append((start, end, "A", 0.9, "A", pitch, guess))
    columns = ["start", "end", "speaker", "confidence", "cluster", "pitch_hz", "role_guess"]
    return SpeechTrack(times, vad, pd.DataFrame(rows, columns=columns), SpeechTrack.empty().turns)


def _hide(frames, role: str, start: float, end: float):
    table = frames.table.copy()
    hidden = (table["role"] == role) & (table["t"] >= start) & (table["t"] < end)
    table.loc[hidden, "visible"] = 0.0
    return type(frames)(table, frames.dyad, frames.fps, frames.video_id)


def test_high_pitch_is_not_the_child_when_the_child_is_seen_silent(rng, config):
    """Baby talk behind the parent's hands (peekaboo): a high voice, the parent's mouth hidden,
    the child's mouth in view and still. Pitch alone says child; the face says not the child:
    the segment is unknown, not the child's."""
    t = np.arange(0, 10, 0.1)
    mouths = {"parent": talking_mouth(t, [], rng), "child": np.full(t.size, 0.04)}  # still
    frames = _hide(hand_frames(mouths, t), "parent", 0.0, 10.0)
    got = attribute_speakers(_child_pitched_track([(1, 2), (5, 6)]), frames, config=config)
    assert got.segments["speaker"].tolist() == ["unknown", "unknown"]
    assert got.segments["evidence"].eq("none").all()


def test_a_cluster_the_parent_was_seen_speaking_in_stays_hers_behind_her_hands(rng, config):
    """The same high voice cluster was the parent's talking mouth at 5-6 s: at 1-2 s, her face
    hidden and the child seen silent, the voice is hers (cluster role from the faces)."""
    t = np.arange(0, 10, 0.1)
    mouths = {"parent": talking_mouth(t, [(5, 6)], rng), "child": np.full(t.size, 0.04)}
    frames = _hide(hand_frames(mouths, t), "parent", 0.0, 3.0)
    got = attribute_speakers(_child_pitched_track([(1, 2), (5, 6)]), frames, config=config)
    assert got.segments["speaker"].tolist() == ["parent", "parent"]
    assert got.segments["evidence"].tolist() == ["voice", "face"]


def test_faces_lean_overrules_pitch_and_conflicts_with_faces_elsewhere():
    """A mouth partly active beside a still one leans to that person: enough against pitch,
    not against a role the faces gave the voice cluster elsewhere (then unknown)."""
    from vigcv.audio.attribution import _combine

    lean_parent = np.array([0.35, -0.2])  # parent, child scores (z units)
    assert _combine(lean_parent, "child", "pitch", half=0.25) == ("parent", "face")
    assert _combine(lean_parent, "unknown", "pitch", half=0.25) == ("parent", "face")
    assert _combine(lean_parent, "parent", "face", half=0.25) == ("parent", "face")
    assert _combine(lean_parent, "child", "face", half=0.25) == ("unknown", "none")
    both_still = np.array([0.1, 0.0])
    assert _combine(both_still, "child", "face", half=0.25) is None  # the faces named the voice
    assert _combine(both_still, "child", "pitch", half=0.25) == ("unknown", "none")
    child_hidden = np.array([0.1, np.nan])
    assert _combine(child_hidden, "child", "pitch", half=0.25) is None  # the voice stands
    assert _combine(child_hidden, "parent", "face", half=0.25) == ("unknown", "none")


@pytest.mark.parametrize("pitch, expected", [(600.0, "unknown"), (250.0, "parent")])
def test_pitch_names_nobody_where_the_parent_is_seen_speaking_high(rng, config, pitch, expected):
    """The 6c6MZQ session: the mother is seen speaking once (0.7 s, too little for the faces to
    name her voice cluster) in the high voice pitch calls a child's. Where nobody is seen, her
    other speech is not given to the child by pitch: unknown. With an adult's pitch the same
    scene names the parent (pitch agrees with what was seen)."""
    t = np.arange(0, 10, 0.1)
    mouths = {"parent": talking_mouth(t, [(5, 5.7)], rng), "child": np.full(t.size, 0.04)}
    frames = _hide(_hide(hand_frames(mouths, t), "parent", 0.0, 3.0), "child", 0.0, 3.0)
    track = _child_pitched_track([(1, 2), (5, 5.7)], pitch=pitch)
    got = attribute_speakers(track, frames, config=config).segments
    assert got["evidence"].iloc[1] == "face" and got["speaker"].iloc[1] == "parent"
    assert got["speaker"].iloc[0] == expected


def test_pitch_is_checked_against_the_speech_the_faces_attributed(config):
    from vigcv.audio.attribution import pitch_tells_roles

    def seg(parent_hz: float, child_hz: float) -> pd.DataFrame:
        return pd.DataFrame(
            {"start": [0.0, 2.0], "end": [1.0, 3.0], "pitch_hz": [parent_hz, child_hz]}
        )

    face = np.array(["face", "face"])
    who = np.array(["parent", "child"])
    cfg = config["audio"]
    assert pitch_tells_roles(seg(220.0, 420.0), who, face, cfg)  # as pitch expects
    assert not pitch_tells_roles(seg(450.0, 520.0), who, face, cfg)  # baby talk
    assert not pitch_tells_roles(seg(220.0, 260.0), who, face, cfg)  # a low-voiced child
    assert not pitch_tells_roles(seg(330.0, 310.0), who, face, cfg)  # the parent higher
    assert pitch_tells_roles(seg(450.0, 520.0), who, np.array(["voice", "voice"]), cfg)
