"""Parent and child in profile, face to face (configs/synth/profile.toml): side-on mutual gaze.

The camera is at their side: looking at each other both heads are turned 78 deg towards the
other; looking at the ball on the table between them, 62 deg towards the other and 34 deg down.
Scored as in tests/vision/test_synth_session.py: the script's own state at each analysed frame,
frames within TRANSITION_S of a scripted look boundary left out. The two states differ by 16 deg
of yaw and 41-43 deg of pitch on screen, so a gaze estimate that sees profiles must rank them.

Measured (seed 0, this code): vigcv does not. The face mesh finds a profile in about 1 of 6
tries (yaw from the mesh on 3-5 % of frames, against 25 % in the frontal scenes, where it runs on
every 4th frame and always succeeds); elsewhere the yaw is CenterFace's five-point fit,
extrapolated past the faces it was fitted on, and held or interpolated, and there is no pitch: the
parent's five-point yaw reads about -20 deg looking at the child (78 deg) and -50 deg looking
down at the toy (62 deg). Steady frames: mutual gaze F1 0.277 (answering yes everywhere 0.657,
AUC 0.026), parent looks at child 0.458 (0.758, AUC 0.294), child looks at parent 0.610 (0.588,
AUC 0.154). The test states what must hold and is expected to fail until profiles are measured.
"""

from __future__ import annotations

import pytest
from test_synth_session import (  # tests/vision is on sys.path (no __init__.py)
    AUC_FLOOR,
    F1_MARGIN,
    gaze_figures,
)

from vigcv.config import load_config
from vigcv.io import probe
from vigcv.vision import extract_vision


@pytest.fixture(scope="module")
def profile():
    from vigcv.synth import cached_session

    session = cached_session("profile")
    features = extract_vision(session.video, config=load_config(), info=probe(session.video))
    return features, session


def test_the_profile_scene_has_both_states(profile):
    # Guards the scene itself: enough steady frames of mutual gaze and of looking at the toy.
    features, session = profile
    figures = gaze_figures(features.dyad, session.events, session.script.idle_gaze)
    print(figures.round(3).to_string())
    for signal, row in figures.iterrows():
        assert row["n"] >= 80 and 30 <= row["support"] <= row["n"] - 30, signal
    # Both faces are found in profile (CenterFace) on nearly every frame.
    dyad = features.dyad
    assert (dyad["parent_visible"] > 0).mean() > 0.95
    assert (dyad["child_visible"] > 0).mean() > 0.9


@pytest.mark.xfail(
    strict=True,
    reason="side-on gaze is not measured: steady-frame mutual gaze F1 0.277 against 0.657 for "
    "answering yes, AUC 0.026 (parent->child 0.458/0.758 AUC 0.294, child->parent 0.610/0.588 "
    "AUC 0.154); the face mesh finds a profile on 3-5 % of frames and the five-point yaw "
    "inverts (-20 deg at the child, -50 deg at the toy below)",
)
def test_mutual_gaze_is_recovered_in_profile(profile):
    features, session = profile
    figures = gaze_figures(features.dyad, session.events, session.script.idle_gaze)
    print(figures.round(3).to_string())
    for signal, row in figures.iterrows():
        assert row["auc"] >= AUC_FLOOR, signal
        assert row["f1"] >= 0.7, signal
        assert row["f1"] > row["f1_all_yes"] + F1_MARGIN, signal
