"""Parent and child in profile, face to face (configs/synth/profile.toml): side-on mutual gaze.

The camera is at their side: looking at each other both heads are turned 78 deg towards the
other; looking at the ball on the table between them, 62 deg towards the other and 34 deg down.
Scored as in tests/vision/test_synth_session.py: the script's own state at each analysed frame,
frames within TRANSITION_S of a scripted look boundary left out. The two states differ by 16 deg
of yaw and 41-43 deg of pitch on screen, so a gaze estimate that sees profiles must rank them.

Measured (seed 0) with the face mesh's head pose, as vigcv had it until December 2026: the mesh
finds a profile in about 1 of 6 tries (yaw on 3-5 % of frames); elsewhere the yaw was
CenterFace's five-point fit, which inverts past the faces it was fitted on (the parent's read
about -20 deg looking at the child, 78 deg, and -50 deg looking down at the toy), and there was
no pitch. Steady frames: mutual gaze F1 0.277 (answering yes everywhere 0.657, AUC 0.026),
parent looks at child 0.458 (0.758, AUC 0.294), child looks at parent 0.610 (0.588, AUC 0.154).

Now the face mesh's failures are filled with WHENet's full-range head pose (vigcv.vision.headpose,
head_pose_source "mesh_whenet"; its yaw within a median 10 deg of the scripted 56-82 deg turns)
instead of the five-point fit: the parent's looks are ranked perfectly (AUC 1.00) and the
child's and mutual gaze better than before (AUC 0.77, 0.75 with the iris and the product; 0.63,
0.62 with eyeLook and the minimum), but the "towards" threshold (30 deg of turn, chosen on the
real clips) says yes to both states, whose turns differ by 16 deg: F1 0.76 against 0.76 for
answering yes (parent), 0.61 / 0.59 (child), mutual gaze 0.70 / 0.66.
WHENet's pitch with the 3-D angle model (measured, not shipped) ranks the child's and mutual
looks better (AUC 0.91, 0.88) but does not decide them either. The test states what must hold and
is expected to fail until both do.
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
    reason="side-on looks are ranked better (WHENet filling the mesh's failures: AUC 1.00 "
    "parent, 0.77 child, 0.75 mutual; 0.29 / 0.15 / 0.03 with the five-point fit) but not "
    "decided: steady-frame F1 0.76 against 0.76 for answering yes (parent), 0.61 / 0.59 (child), "
    "mutual gaze 0.70 / 0.66: the 30 deg turn threshold says yes to looks at the toy too",
)
def test_mutual_gaze_is_recovered_in_profile(profile):
    features, session = profile
    figures = gaze_figures(features.dyad, session.events, session.script.idle_gaze)
    print(figures.round(3).to_string())
    for signal, row in figures.iterrows():
        assert row["auc"] >= AUC_FLOOR, signal
        assert row["f1"] >= 0.7, signal
        assert row["f1"] > row["f1_all_yes"] + F1_MARGIN, signal
