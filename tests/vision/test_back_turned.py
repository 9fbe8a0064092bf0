"""The child turns her back to the camera (configs/synth/back_turned.toml): no face, no answer.

The real pipeline (detector, face mesh, expression classifier) runs on the generated session.
While her back is turned the renderer shows the back of her head (hair, no face) and the script
still has her "looking at" her mother and "smiling", and does so before and after: any guess
carried over from the frames around would read as a "yes". Frames within TRANSITION_S of the
turn are left out (the head turns over +-0.14 s; the gaze median spans +-0.25 s).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from test_synth_session import scan_session  # tests/vision is on sys.path (no __init__.py)

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


@pytest.fixture(scope="module")
def over_shoulder():
    # configs/synth/over_shoulder.toml: the same scene, but the child looks over her shoulder
    # (110 deg away) for 5.0-9.5 s: the camera sees the side and back of her head, and the face
    # detector still puts a box there on some frames. One scan, read with the face check on
    # (the default) and off.
    from vigcv.vision.extract import features_from_scan

    session, config, fps, scan = scan_session("over_shoulder")
    off = copy.deepcopy(config)
    off["vision"]["face_min"] = off["vision"]["child_face_min"] = 0.0
    return (
        features_from_scan(scan, config=config, rate=fps),
        features_from_scan(scan, config=off, rate=fps),
        session,
    )


def _turned(session, times):
    turn = [x for ev in session.events if ev.target == "shoulder" for x in (ev.start, ev.end)]
    inside = (times > min(turn)) & (times < max(turn))
    far = np.min(np.abs(times[:, None] - np.array(turn)[None, :]), axis=1) > TRANSITION_S
    return inside & far


def test_no_gaze_read_off_the_side_of_a_head(over_shoulder):
    # The detector finds a box on the side of her head in about a third of the turned frames;
    # no gaze is read off it (her head pose there is turned away, or the face check says no
    # face).
    on, _, session = over_shoulder
    t = on.dyad["t"].to_numpy()
    turned = _turned(session, t)
    assert turned.sum() >= 25
    boxed = on.dyad["child_visible"].to_numpy()[turned] > 0
    assert boxed.mean() >= 0.15  # the scene shows what it is for: a box on a non-face
    for column in ("child_looks_at_parent", "mutual_gaze"):
        assert not np.any(on.dyad[column].to_numpy()[turned] >= 0.5), column
    # The mother stays measured: looking at her daughter's head, smiling.
    assert (on.dyad["parent_smile"].to_numpy()[turned] >= 0.5).all()
    # Turned back, the child's face is measured again.
    after = (t > 10.6) & (t < 12.0)
    assert np.isfinite(on.dyad["child_looks_at_parent"].to_numpy()[after]).all()


def test_few_smiles_read_off_the_side_of_a_head(over_shoulder):
    on, off, session = over_shoulder
    turned = _turned(session, on.dyad["t"].to_numpy())

    def smile_yes(features) -> float:
        return float(np.mean(features.dyad["child_smile"].to_numpy()[turned] >= 0.5))

    # The box on the side of her head scores 0.2-0.46 on the detector; checked against her own
    # score at a like head turn (face_yaw_window_deg) at the child's 0.6 (child_face_min), the
    # smile held from before is claimed on 9% of the turned frames (26% at the adults' 0.4).
    print(f"held smile on the side of her head: {smile_yes(on):.2f} ({smile_yes(off):.2f} off)")
    assert smile_yes(off) >= 0.2  # read as a face, the held smile is claimed
    assert smile_yes(on) <= 0.15
