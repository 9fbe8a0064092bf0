"""Windows and components on hand-built features with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.scoring.builders import make_frames, make_speech
from vigcv import load_config
from vigcv.checks import NonFiniteError
from vigcv.errors import ConfigError
from vigcv.scoring import COMPONENTS, compute_windows
from vigcv.scoring.windows import _longest_run
from vigcv.types import FrameFeatures, SpeechTrack


@pytest.fixture(scope="module")
def config():
    return load_config()


def test_windows_slide_every_hop_with_fixed_length(config):
    w = compute_windows(make_frames(30.0), SpeechTrack.empty(), config=config)
    t = w.table
    assert len(t) == 55  # starts 0.0, 0.5, ..., 27.0
    np.testing.assert_allclose(t["start"], np.arange(55) * 0.5)
    np.testing.assert_allclose(t["end"] - t["start"], 3.0)
    assert set(COMPONENTS) <= set(t.columns)
    assert (t["config_hash"] == w.config_hash).all() and len(w.config_hash) == 16


def test_window_length_and_hop_come_from_config():
    cfg = load_config(overrides={"scoring": {"window_s": 5.0, "hop_s": 1.0}})
    t = compute_windows(make_frames(30.0), SpeechTrack.empty(), config=cfg).table
    assert len(t) == 26
    np.testing.assert_allclose(t["end"] - t["start"], 5.0)


def test_four_seconds_of_mutual_gaze(config):
    frames = make_frames(30.0, parent_looks=[(10.0, 14.0)], child_looks=[(10.0, 14.0)])
    t = compute_windows(frames, SpeechTrack.empty(), config=config).table
    inside = (t["start"] >= 10.0) & (t["end"] <= 14.0)
    outside = (t["end"] <= 10.0) | (t["start"] >= 14.0)
    assert inside.sum() == 3 and outside.sum() > 40
    np.testing.assert_allclose(t.loc[inside, "mutual_gaze"], 1.0, atol=0.02)
    np.testing.assert_allclose(t.loc[outside, "mutual_gaze"], 0.0)
    # half the window: share 0.5, longest bout 1.5 s of the 3 s reference -> 0.5*0.5 + 0.5*0.5
    half = t[np.isclose(t["start"], 8.5)]
    assert half["mutual_gaze"].iloc[0] == pytest.approx(0.5, abs=0.03)


def test_hidden_face_makes_gaze_unknown_not_zero(config):
    frames = make_frames(20.0, parent_looks=[(0, 20)], child_looks=[(0, 20)], hidden=[(5.0, 12.0)])
    w = compute_windows(frames, SpeechTrack.empty(), config=config)
    t = w.table
    hidden = (t["start"] >= 5.0) & (t["end"] <= 12.0)
    assert t.loc[hidden, "mutual_gaze"].isna().all()
    assert t.loc[hidden, "face_coverage"].max() == 0.0
    assert (t.loc[t["end"] <= 5.0, "mutual_gaze"] > 0.99).all()


def test_a_glimpse_between_unknown_steps_is_not_a_whole_window(config):
    # Both look at each other throughout, but the child's face is hidden except for a glimpse
    # of 0.4 s: the window around the glimpse knows mutual gaze on 0.4 of its 3 s, and the rest
    # is no evidence, not more of the same (issue 20: unknown is never a yes).
    frames = make_frames(
        20.0,
        parent_looks=[(0, 20)],
        child_looks=[(0, 20)],
        hidden=[(5.0, 9.0), (9.4, 14.0)],
    )
    t = compute_windows(frames, SpeechTrack.empty(), config=config).table
    glimpse = t[np.isclose(t["start"], 7.5)].iloc[0]  # 7.5-10.5 s: known 9.0-9.4 s only
    assert glimpse["mutual_gaze_share"] > 0.99  # what was seen was mutual gaze ...
    # ... for 0.4 of 3 s (share 0.13) with a 0.4 s bout: 0.5 * 0.13 + 0.5 * 0.4 / 3
    assert glimpse["mutual_gaze"] == pytest.approx(0.5 * 0.4 / 3 + 0.5 * 0.4 / 3, abs=0.04)
    seen = t[np.isclose(t["start"], 1.0)].iloc[0]  # 1-4 s: seen throughout
    assert seen["mutual_gaze"] > 0.99


def test_being_attentive_rests_on_what_was_seen(config):
    # The parent looks at her child throughout, but her gaze is unknown (her face turned away
    # from the camera) but for a glimpse of 0.4 s: the report a parent reads must not say she
    # was "being attentive" there, while a window seen throughout says it.
    frames = make_frames(20.0, parent_looks=[(0, 20)], child_looks=[(0, 20)])
    unseen = ~frames.dyad["t"].between(9.0, 9.35)
    frames.dyad.loc[unseen & (frames.dyad["t"] >= 5.0), "parent_looks_at_child"] = np.nan
    t = compute_windows(frames, SpeechTrack.empty(), config=config).table
    glimpse = t[np.isclose(t["start"], 7.5)].iloc[0]
    assert glimpse["parent_looks_share"] > 0.99  # the glimpse itself: looking
    assert not glimpse["principle_attentive"]
    assert t[np.isclose(t["start"], 1.0)].iloc[0]["principle_attentive"]


def test_contingency_weights_promptness(config):
    speech = make_speech(
        segments=[(2.0, 2.8, "child"), (3.4, 4.5, "parent"), (12.0, 12.5, "child")],
        turns=[
            (2.8, "child", "parent", 0.6, "vocal", True),
            (12.5, "child", "parent", float("nan"), "vocal", False),
        ],
    )
    w = compute_windows(FrameFeatures.empty(), speech, config=config)
    t = w.table
    ev = w.timeline.events
    assert ev.loc[0, "onset_t"] == pytest.approx(2.0)  # start of the child's vocalisation
    with_answer = (t["start"] <= 2.0) & (t["end"] > 2.0)
    np.testing.assert_allclose(t.loc[with_answer, "contingency"], np.exp(-0.6), atol=1e-3)
    unanswered = (t["start"] <= 12.0) & (t["end"] > 12.0)
    assert (t.loc[unanswered, "initiatives"] == 1).all()
    np.testing.assert_allclose(t.loc[unanswered, "contingency"], 0.0)


def test_two_prompt_answers_combine_as_soft_or(config):
    speech = make_speech(
        segments=[
            (1.0, 1.3, "child"),
            (1.5, 1.9, "parent"),
            (2.0, 2.2, "child"),
            (2.5, 3.0, "parent"),
        ],
        turns=[
            (1.3, "child", "parent", 0.2, "vocal", True),
            (2.2, "child", "parent", 0.3, "vocal", True),
        ],
    )
    t = compute_windows(FrameFeatures.empty(), speech, config=config).table
    first = t.iloc[0]  # window 0-3 holds both initiatives
    expected = 1 - (1 - np.exp(-0.2)) * (1 - np.exp(-0.3))
    assert first["contingency"] == pytest.approx(expected, abs=1e-3)


def test_shared_affect_needs_both_smiles(config):
    frames = make_frames(30.0, parent_smile=[(5.0, 9.0), (20.0, 26.0)], child_smile=[(5.0, 9.0)])
    t = compute_windows(frames, SpeechTrack.empty(), config=config).table
    both = (t["start"] >= 5.0) & (t["end"] <= 9.0)
    parent_only = (t["start"] >= 20.0) & (t["end"] <= 26.0)
    np.testing.assert_allclose(t.loc[both, "shared_affect"], 1.0, atol=0.02)
    np.testing.assert_allclose(t.loc[parent_only, "shared_affect"], 0.0)


def test_shared_laughter_counts_without_faces(config):
    speech = make_speech(
        segments=[(4.0, 5.5, "child"), (4.2, 5.0, "parent"), (10.0, 11.0, "child")],
        laughter=[True, True, True],
    )
    t = compute_windows(FrameFeatures.empty(), speech, config=config).table
    together = (t["start"] <= 4.2) & (t["end"] >= 5.0)
    alone = (t["start"] >= 6.0) & (t["end"] <= 12.0)
    np.testing.assert_allclose(t.loc[together, "shared_affect"], 0.8, atol=0.05)  # 0.8 s together
    assert t.loc[alone, "shared_affect"].isna().all()


def test_turn_taking_rewards_balanced_switches(config):
    speech = make_speech(
        segments=[
            (0.0, 0.5, "parent"),
            (0.7, 1.2, "child"),
            (1.4, 1.9, "parent"),
            (2.1, 2.6, "child"),
            (10.0, 12.9, "parent"),
        ]
    )
    t = compute_windows(FrameFeatures.empty(), speech, config=config).table
    first = t.iloc[0]
    assert first["switches"] == 3
    assert first["turn_taking"] == pytest.approx(1 - np.exp(-3 / 2), abs=1e-6)
    monologue = t.iloc[-1]  # 9.5-12.5 s: the parent alone
    assert monologue["turn_taking"] == 0.0


def test_proximity_from_head_distance(config):
    near = compute_windows(make_frames(10.0, head_distance=1.5), SpeechTrack.empty(), config=config)
    far = compute_windows(make_frames(10.0, head_distance=6.0), SpeechTrack.empty(), config=config)
    mid = compute_windows(make_frames(10.0, head_distance=3.75), SpeechTrack.empty(), config=config)
    np.testing.assert_allclose(near.table["proximity"], 1.0)
    np.testing.assert_allclose(far.table["proximity"], 0.0)
    np.testing.assert_allclose(mid.table["proximity"], 0.5)


def test_principles_are_tagged(config):
    frames = make_frames(
        20.0, parent_looks=[(0, 20)], child_looks=[(2, 8)], parent_smile=[(3, 8)],
        child_smile=[(3, 8)],
    )  # fmt: skip
    t = compute_windows(frames, SpeechTrack.empty(), config=config).table
    row = t[np.isclose(t["start"], 3.0)].iloc[0]
    assert row["principle_attentive"] and row["principle_enjoyment"]
    late = t[np.isclose(t["start"], 12.0)].iloc[0]
    assert late["principle_attentive"] and not late["principle_enjoyment"]


def test_longest_run_matches_a_loop(rng):
    on = rng.random(500) > 0.4
    starts = np.arange(0, 470, 5)
    got = _longest_run(on, starts, 30)
    for s, g in zip(starts, got, strict=True):
        best = run = 0
        for v in on[s : s + 30]:
            run = run + 1 if v else 0
            best = max(best, run)
        assert g == best


def test_short_and_empty_sessions(config):
    short = compute_windows(make_frames(1.2), SpeechTrack.empty(), config=config)
    assert len(short) == 1 and short.table["end"].iloc[0] == pytest.approx(1.2, abs=0.11)
    nothing = compute_windows(FrameFeatures.empty(), SpeechTrack.empty(), config=config)
    assert len(nothing) == 0 and nothing.active == ()


def test_missing_config_key_is_named():
    cfg = load_config()
    del cfg["scoring"]["window_s"]
    with pytest.raises(ConfigError, match=r"scoring\.window_s"):
        compute_windows(make_frames(5.0), SpeechTrack.empty(), config=cfg)


def test_messy_inputs_are_tolerated(config):
    """Out-of-order and repeated frame times, missing optional columns, audio-only speaker names,
    yes/no strings for contingent, laughter as a probability."""
    frames = make_frames(20.0, parent_looks=[(2, 8)], child_looks=[(2, 8)])
    dyad = frames.dyad.drop(columns=["mutual_gaze", "head_distance"])
    dyad = pd.concat([dyad.iloc[::-1], dyad.iloc[:30]], ignore_index=True)
    messy = FrameFeatures(table=frames.table, dyad=dyad, fps=10.0, video_id="messy")
    speech = make_speech(
        segments=[(3.0, 3.5, "child"), (3.9, 4.5, "parent"), (9.0, 9.5, "A"), (9.6, 9.9, "B")],
        turns=[(3.5, "child", "parent", 0.4, "vocal", "yes"), (9.5, "A", "B", 0.1, "vocal", "no")],
        laughter=[0.9, 0.2, 0.0, 1.0],
    )
    w = compute_windows(messy, speech, config=config)
    t = w.table
    inside = (t["start"] >= 2.0) & (t["end"] <= 8.0)
    np.testing.assert_allclose(t.loc[inside, "mutual_gaze"], 1.0, atol=0.02)  # from the looks
    assert t["proximity"].isna().all() and "proximity" not in w.active
    ev = w.timeline.events
    vocal = ev[ev["kind"] == "vocal"]
    assert len(vocal) == 1 and bool(vocal["answered"].iloc[0])
    assert w.timeline.table["child_laugh"].sum() > 0
    assert w.timeline.table["parent_laugh"].sum() == 0


def test_vocal_answers_found_in_segments_when_no_turns(config):
    speech = make_speech(
        segments=[
            (2.0, 2.8, "child"),
            (3.3, 4.5, "parent"),
            (12.0, 12.5, "child"),
            (15.5, 16.0, "parent"),
        ]
    )
    w = compute_windows(FrameFeatures.empty(), speech, config=config)
    ev = w.timeline.events
    assert ev["onset_t"].tolist() == [2.0, 12.0]
    assert ev["answered"].tolist() == [True, False]  # 3 s later is past the 2 s window
    assert ev["latency_s"].iloc[0] == pytest.approx(0.5)
    first = w.table.iloc[0]
    assert first["contingency"] == pytest.approx(np.exp(-0.5), abs=1e-3)
    off = load_config(overrides={"scoring": {"derive_vocal_turns": False}})
    assert len(compute_windows(FrameFeatures.empty(), speech, config=off).timeline.events) == 0


def test_spoken_answer_counts_more_face_to_face(config):
    segments = [(2.0, 2.5, "child"), (3.0, 4.0, "parent")]
    speech = make_speech(segments=segments)
    looking = make_frames(10.0, parent_looks=[(0, 10)])
    away = make_frames(10.0)
    c_look = compute_windows(looking, speech, config=config).table["contingency"].max()
    c_away = compute_windows(away, speech, config=config).table["contingency"].max()
    c_none = compute_windows(FrameFeatures.empty(), speech, config=config).table["contingency"]
    assert c_look == pytest.approx(np.exp(-0.5), abs=1e-3)
    assert c_away == pytest.approx(0.5 * np.exp(-0.5), abs=1e-3)  # answer_gaze_weight 0.5
    assert c_none.max() == pytest.approx(np.exp(-0.5), abs=1e-3)  # gaze unknown: full credit


def test_unknown_gaze_and_smiles_are_never_a_yes(config):
    """NaN (a face not measured) in the looks-at, mutual-gaze and smile probabilities stays
    unknown: no bout, no share, no principle, however the windows threshold them."""
    frames = make_frames(
        30.0,
        parent_looks=[(10.0, 14.0)],
        child_looks=[(10.0, 14.0)],
        parent_smile=[(10.0, 14.0)],
        child_smile=[(10.0, 14.0)],
    )
    unknown = ["mutual_gaze", "child_looks_at_parent", "child_smile"]
    frames.dyad.loc[:, unknown] = np.nan
    t = compute_windows(frames, SpeechTrack.empty(), config=config).table
    assert (t["mutual_gaze_longest_s"] == 0).all() and (t["both_smile_longest_s"] == 0).all()
    assert t["mutual_gaze"].isna().all() and t["shared_affect"].isna().all()
    assert not t["principle_enjoyment"].any()
    assert t["parent_looks_share"].max() > 0.9  # the parent's own gaze was measured


def test_unknown_visibility_is_not_seen(config):
    """A frame whose visibility is NaN (not measured) is not a frame where the face was seen: its
    gaze and smiles are unknown, even where the looks-at columns hold a value."""
    frames = make_frames(20.0, parent_looks=[(0, 20)], child_looks=[(0, 20)])
    frames.dyad.loc[frames.dyad["t"].between(5.0, 12.0), "child_visible"] = np.nan
    t = compute_windows(frames, SpeechTrack.empty(), config=config).table
    unknown = (t["start"] >= 5.0) & (t["end"] <= 12.0)
    assert t.loc[unknown, "mutual_gaze"].isna().all()
    assert (t.loc[t["end"] <= 5.0, "mutual_gaze"] > 0.99).all()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("mutual_gaze", np.inf),
        ("parent_looks_at_child", -np.inf),
        ("child_smile", np.inf),
        ("parent_smile", 1.5),
        ("head_distance", np.inf),
    ],
)
def test_an_infinite_or_impossible_probability_raises(config, column, value):
    frames = make_frames(30.0, parent_looks=[(10.0, 14.0)], child_looks=[(10.0, 14.0)])
    frames.dyad.loc[120, column] = value
    with pytest.raises(NonFiniteError, match="timeline"):
        compute_windows(frames, SpeechTrack.empty(), config=config)
