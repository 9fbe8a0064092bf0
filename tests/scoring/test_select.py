"""Selecting moments: ranking on a hand-built session, NMS, gaps, lengths, notes, wording."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from tests.scoring.builders import hand_built_session, make_frames, make_speech
from vigcv import load_config
from vigcv.scoring import (
    JUDGING_WORDS,
    compute_windows,
    format_time,
    score_session,
    score_windows,
    select_moments,
)
from vigcv.types import FrameFeatures, Segment, SpeechTrack

JUDGING = re.compile(r"\b(" + "|".join(re.escape(w.strip()) for w in JUDGING_WORDS) + ")", re.I)


def _centre_in(moment, span):
    return span[0] <= moment.segment.middle <= span[1]


@pytest.fixture(scope="module")
def hand_built():
    frames, speech, stretches = hand_built_session()
    scores, moments, notes = score_session(frames, speech, config=load_config())
    return frames, speech, stretches, scores, moments, notes


def test_textbook_stretch_ranks_first(hand_built):
    _, _, stretches, _, moments, _ = hand_built
    assert moments[0].rank == 1
    assert _centre_in(moments[0], stretches["textbook"])
    for m in moments[:3]:
        assert not _centre_in(m, stretches["missed"])
        assert not _centre_in(m, stretches["parallel"])
    textbook = moments[0]
    assert set(textbook.principles) >= {
        "being attentive",
        "receiving initiatives",
        "shared enjoyment",
    }
    assert textbook.components["mutual_gaze"] > 0.9
    assert textbook.components["contingency"] > 0.5


def test_textbook_boundaries_snap_to_the_initiative(hand_built):
    _, _, _stretches, _, moments, _ = hand_built
    seg = moments[0].segment
    assert seg.start == pytest.approx(3.0)  # the child's vocalisation starts at 3.0 s
    assert 3.0 <= seg.duration <= 10.0


def test_textbook_reasons_cite_times_and_behaviours(hand_built):
    reasons = hand_built[4][0].reasons
    text = " ".join(reasons)
    assert (
        "At 00:03 the child turned to look at the parent and vocalised; "
        "the parent turned to the child and answered within a second."
    ) in reasons
    assert "looked at each other" in text and "Both smiled together for about 3 s" in text
    assert sum(bool(re.search(r"\d\d:\d\d", r)) for r in reasons) >= 3


def test_no_reason_judges_the_parent(hand_built):
    _, _, _, _, moments, _ = hand_built
    speech_only = score_session(FrameFeatures.empty(), hand_built[1], config=load_config())[1]
    faces_only = score_session(hand_built[0], SpeechTrack.empty(), config=load_config())[1]
    all_reasons = [r for ms in (moments, speech_only, faces_only) for m in ms for r in m.reasons]
    assert len(all_reasons) >= 8
    for reason in all_reasons:
        assert not JUDGING.search(reason), reason
        assert reason[0].isupper() and reason.endswith(".")


def test_names_are_configurable():
    frames, speech, _ = hand_built_session()
    cfg = load_config(overrides={"scoring": {"names": {"parent": "Mum", "child": "Ada"}}})
    moments = score_session(frames, speech, config=cfg)[1]
    text = " ".join(moments[0].reasons)
    assert (
        "At 00:03 Ada turned to look at Mum and vocalised; Mum turned to Ada and answered" in text
    )
    assert "the parent" not in text and "the child" not in text


def _dense_session(duration=200.0):
    """Mutual gaze and shared smiles almost everywhere: NMS must spread the moments out."""
    return make_frames(
        duration,
        parent_looks=[(0, duration)],
        child_looks=[(0, duration)],
        parent_smile=[(0, duration)],
        child_smile=[(0, duration)],
    )


@pytest.mark.parametrize("top_k, gap, lo, hi", [(10, 2.0, 3.0, 10.0), (4, 5.0, 4.0, 6.0)])
def test_top_k_gap_and_length_rules(top_k, gap, lo, hi):
    sel = {"top_k": top_k, "min_gap_s": gap, "min_length_s": lo, "max_length_s": hi}
    cfg = load_config(overrides={"selection": sel})
    frames = _dense_session()
    _, moments, _notes = score_session(frames, SpeechTrack.empty(), config=cfg)
    assert len(moments) == top_k
    assert [m.rank for m in moments] == list(range(1, top_k + 1))
    assert all(a.score >= b.score for a, b in itertools.pairwise(moments))
    segs = sorted(m.segment for m in moments)
    for m in moments:
        assert lo - 0.01 <= m.segment.duration <= hi + 0.01
        assert m.segment.start >= 0.0 and m.segment.end <= 200.0
    for a, b in itertools.pairwise(segs):
        assert b.start - a.end >= gap - 0.01


def test_peak_suppression_keeps_only_the_best_of_a_bump():
    # one strong 6 s stretch and one weaker one: each gives exactly one moment
    frames = make_frames(
        40.0,
        parent_looks=[(5, 11), (25, 29)],
        child_looks=[(5, 11), (25, 29)],
        parent_smile=[(5, 11)],
        child_smile=[(5, 11)],
    )
    cfg = load_config()
    scores = score_windows(compute_windows(frames, SpeechTrack.empty(), config=cfg))
    moments = select_moments(scores, frames, SpeechTrack.empty(), config=cfg)
    assert len(moments) == 2
    assert 5.0 <= moments[0].segment.middle <= 11.0
    assert 25.0 <= moments[1].segment.middle <= 29.0
    assert moments[0].score > moments[1].score
    # the strong stretch's moment covers most of its 6 s
    assert moments[0].segment.overlap(Segment(5.0, 11.0)) >= 4.5
    assert moments[0].segment.duration <= 10.0


def test_no_faces_still_ranks_on_speech():
    _, speech, stretches = hand_built_session()
    _scores, moments, notes = score_session(FrameFeatures.empty(), speech, config=load_config())
    assert moments, "speech alone must still give moments"
    assert _centre_in(moments[0], stretches["textbook"])
    assert notes[0].startswith("No faces were found, so gaze and smiles could not be scored")
    assert "speech only" in notes[0]
    assert set(moments[0].components) == {"contingency", "turn_taking"}


def test_no_speech_still_ranks_on_faces():
    frames, _, stretches = hand_built_session()
    _scores, moments, notes = score_session(frames, SpeechTrack.empty(), config=load_config())
    assert moments and _centre_in(moments[0], stretches["textbook"])
    assert any(n.startswith("No speech was found") and "gaze and smiles" in n for n in notes)
    assert "turn_taking" not in moments[0].components


def test_nothing_found_says_so():
    scores, moments, notes = score_session(
        FrameFeatures.empty(), SpeechTrack.empty(), config=load_config()
    )
    assert moments == [] and len(scores) == 0
    assert notes and notes[0].startswith("Neither faces nor speech were found")


def test_low_face_coverage_is_reported():
    frames = make_frames(30.0, parent_looks=[(0, 30)], child_looks=[(0, 30)], hidden=[(0, 20)])
    notes = score_session(frames, SpeechTrack.empty(), config=load_config())[2]
    assert any("Both faces were visible in 33% of the session" in n for n in notes)


def test_a_face_in_view_that_could_not_be_read_is_reported():
    # The child's face is found throughout, but for 12 of 30 s her gaze and smile are unknown
    # (vision's face checks: turned away, hidden): the notes say so, naming her; the parent's
    # face, read throughout, gets no such note.
    frames = make_frames(30.0, parent_looks=[(0, 30)], child_looks=[(0, 30)])
    dyad = frames.dyad
    unread = (dyad["t"] >= 10.0) & (dyad["t"] < 22.0)
    for column in ("child_looks_at_parent", "child_smile", "mutual_gaze"):
        dyad.loc[unread, column] = np.nan
    config = load_config()
    config["scoring"]["names"]["child"] = "Ellie"
    notes = score_session(frames, SpeechTrack.empty(), config=config)[2]
    said = [n for n in notes if "could not be read" in n]
    assert len(said) == 1 and said[0].startswith("Ellie's face was in view")
    assert "in 40% of the frames with both faces" in said[0]
    # Read throughout: no note.
    plain = make_frames(30.0, parent_looks=[(0, 30)], child_looks=[(0, 30)])
    assert not any(
        "could not be read" in n
        for n in score_session(plain, SpeechTrack.empty(), config=load_config())[2]
    )


def test_speech_turn_taking_moment_has_turn_reason():
    speech = make_speech(
        segments=[
            (10.0, 10.6, "child"),
            (10.9, 11.6, "parent"),
            (11.9, 12.4, "child"),
            (12.6, 13.4, "parent"),
            (13.6, 14.0, "child"),
        ],
        turns=[
            (10.6, "child", "parent", 0.3, "vocal", True),
            (12.4, "child", "parent", 0.2, "vocal", True),
        ],
    )
    moments = score_session(FrameFeatures.empty(), speech, config=load_config())[1]
    assert len(moments) == 1
    text = " ".join(moments[0].reasons)
    assert "At 00:10 the child vocalised; the parent answered within a second." in text
    assert "They took turns" in text
    assert "developing attuned interactions" in moments[0].principles


def test_format_time():
    assert format_time(0.0) == "00:00"
    assert format_time(192.7) == "03:12"
    assert format_time(3725.0) == "1:02:05"


def test_rescoring_is_deterministic():
    frames, speech, _ = hand_built_session()
    a = score_session(frames, speech, config=load_config())
    b = score_session(frames, speech, config=load_config())
    assert [m.to_dict() for m in a[1]] == [m.to_dict() for m in b[1]]
    np.testing.assert_array_equal(a[0].scores, b[0].scores)


def test_turns_from_the_audio_stage_are_read():
    """The audio stage's find_turns output (its own time/latency semantics) feeds contingency."""
    audio = pytest.importorskip("vigcv.audio")
    frames, speech, stretches = hand_built_session()
    cfg = load_config()
    turns = audio.find_turns(speech, frames, config=cfg)
    real = SpeechTrack(speech.times, speech.vad, speech.segments, turns)
    windows = compute_windows(frames, real, config=cfg)
    ev = windows.timeline.events
    vocal = ev[(ev["kind"] == "vocal") & ev["answered"]]
    assert vocal["onset_t"].tolist()[:2] == [3.0, 6.0]
    np.testing.assert_allclose(vocal["latency_s"].tolist()[:2], [0.6, 0.4], atol=1e-6)
    missed = ev[(ev["onset_t"] >= 16) & (ev["onset_t"] < 25) & (ev["kind"] == "vocal")]
    assert len(missed) == 1 and not missed["answered"].iloc[0]
    moments = select_moments(score_windows(windows), frames, real, config=cfg)
    assert _centre_in(moments[0], stretches["textbook"])
    for m in moments[:3]:
        assert not _centre_in(m, stretches["missed"])
        assert not _centre_in(m, stretches["parallel"])


def test_a_long_vocal_turn_is_cited_with_its_end():
    # The child talks from 10.0 to 13.4 s (one turn; a speaker's short pauses are part of it),
    # the parent answers 0.8 s after she stops: the answer is timed from the turn's end, which
    # the reason says. A short turn keeps the plain form (test above).
    speech = make_speech(
        segments=[(10.0, 13.4, "child"), (14.2, 15.6, "parent"), (16.0, 16.5, "child")],
        turns=[(13.4, "child", "parent", 0.8, "vocal", True)],
    )
    moments = score_session(FrameFeatures.empty(), speech, config=load_config())[1]
    text = " ".join(m for moment in moments for m in moment.reasons)
    assert "At 00:10 the child vocalised until 00:13; the parent answered within a second." in text
