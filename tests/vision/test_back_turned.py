"""The child turns her back to the camera (configs/synth/back_turned.toml): no face, no answer.

The real pipeline (detector, face mesh, expression classifier) runs on the generated session.
While her back is turned the renderer shows the back of her head (hair, no face) and the script
still has her "looking at" her mother and "smiling", and does so before and after: any guess
carried over from the frames around would read as a "yes". Frames within TRANSITION_S of the
turn are left out (the head turns over +-0.14 s; the gaze median spans +-0.25 s).
"""

from __future__ import annotations

import numpy as np
import pytest

from vigcv.config import load_config
from vigcv.io import probe
from vigcv.synth.timeline import gaze_target, smiling
from vigcv.vision import extract_vision

TRANSITION_S = 0.6


@pytest.fixture(scope="module")
def back_turned():
    from vigcv.synth import cached_session

    session = cached_session("back_turned")
    features = extract_vision(session.video, config=load_config(), info=probe(session.video))
    return features, session


def _stretches(session, times):
    events = session.events
    target = np.array([gaze_target(events, "child", t, idle="toy") for t in times])
    turn = [x for ev in events if ev.target == "back" for x in (ev.start, ev.end)]
    far = np.min(np.abs(times[:, None] - np.array(turn)[None, :]), axis=1) > TRANSITION_S
    return (target == "back") & far, (target != "back") & far


def test_no_gaze_or_smile_yes_for_a_child_whose_back_is_turned(back_turned):
    features, session = back_turned
    dyad = features.dyad
    t = dyad["t"].to_numpy()
    back, _ = _stretches(session, t)
    assert back.sum() >= 30  # about 3.5 s of analysed frames at 10 per second
    # The script has her looking at her mother and smiling all through (the labels say null).
    assert all(smiling(session.events, "child", x) for x in t[back])
    for column in ("child_looks_at_parent", "child_smile", "mutual_gaze"):
        values = dyad[column].to_numpy()[back]
        assert not np.any(values >= 0.5), column  # never a "yes"
        assert np.isnan(values).all(), column  # unknown, not "no" and not a guess
    assert (dyad["child_quality"].to_numpy()[back] < 0.1).all()


def test_the_parent_stays_measured_and_the_child_returns(back_turned):
    features, session = back_turned
    dyad = features.dyad
    t = dyad["t"].to_numpy()
    back, front = _stretches(session, t)
    # The mother faces the camera side-on, smiling, looking at where her daughter is.
    assert dyad["parent_looks_at_child"].to_numpy()[back].size
    assert np.isfinite(dyad["parent_looks_at_child"].to_numpy()[back]).all()
    assert (dyad["parent_smile"].to_numpy()[back] >= 0.5).all()
    assert (dyad["parent_quality"].to_numpy()[back] >= 0.5).all()
    # Once she has turned round again her face is measured: smiling, as scripted.
    after = front & (t > 10.5) & (t < 12.0)
    assert after.sum() >= 10
    assert np.isfinite(dyad["child_looks_at_parent"].to_numpy()[after]).all()
    assert (dyad["child_smile"].to_numpy()[after] >= 0.5).all()
