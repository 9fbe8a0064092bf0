"""Scripted gaze and smile intervals of a generated session (vigcv.synth) are recovered.

What the scene guarantees, and so what is scored (see :mod:`vigcv.synth.timeline`):

- The truth is the script's own state at each analysed frame (10 per second), read from the
  session's resolved events, not the 24 labels every 0.5 s: one label flipping moved mutual-gaze
  F1 by about 0.1, so a rounding difference between CPUs (AVX2 against AVX-512) could fail the
  test. On ~80 analysed frames one frame moves F1 by about 0.015.
- Frames within :data:`TRANSITION_S` of a scripted boundary of that person are left out: the
  rendered head turns (or the smile grows) over +-0.14 s around the boundary (two 0.16 s box
  filters), the gaze signal is a running median over 0.5 s (+-0.25 s) and the smile blendshape
  is measured every 4th analysed frame and interpolated (+-0.4 s). Inside that band a frame is
  half-way between two states on screen or in the signal, and its answer is a coin toss.
- On the frames kept, a head that looks at the other person is turned about 50 deg towards
  them (sway +-2 deg) and one that looks at the toy 14 deg (sway +-4 deg): the two states
  never overlap on screen, so the looks-at probability must rank them (AUC, threshold-free,
  measured 0.97-1.00 on seeds 0-3).
- The decision at 0.5 must beat answering yes everywhere by :data:`F1_MARGIN`. It depends on
  calibration as well as recovery (the 30 deg towards-threshold, mutual gaze the product of the
  two looks). Measured: F1 0.91-1.00 for the three signals on seeds 0-3 (answering yes
  0.52-0.70; seed 0, tested: 0.99 / 1.00 / 0.99).
  Until December 2026 the heads turned 32 deg, the rendered child-like face read about 0.6 of
  it and the decision hung on a 20 deg threshold (mutual gaze 0.871 against 0.603 on seed 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vigcv.config import load_config
from vigcv.io import probe
from vigcv.synth.script import Event
from vigcv.synth.timeline import gaze_target, smiling
from vigcv.vision import extract_vision

TRANSITION_S = 0.5  # frames this close to a scripted boundary are ambiguous (module docstring)
F1_MARGIN = 0.2  # the decision must beat answering yes everywhere by this much
AUC_FLOOR = 0.95  # the signal ranks steady yes frames above steady no frames


@pytest.fixture(scope="session")
def textbook(tmp_path_factory):
    from vigcv.synth import cached_session

    session = cached_session("textbook")
    features = extract_vision(session.video, config=load_config(), info=probe(session.video))
    return features, session


def steady(times: np.ndarray, events: tuple[Event, ...], who: str, action: str) -> np.ndarray:
    """Frames farther than :data:`TRANSITION_S` from every start and end of ``who``'s
    ``action`` events."""
    edges = np.array([x for ev in events if ev.who == who and ev.action == action
                      for x in (ev.start, ev.end)])  # fmt: skip
    if edges.size == 0:
        return np.ones(times.shape, bool)
    return np.min(np.abs(times[:, None] - edges[None, :]), axis=1) > TRANSITION_S


def gaze_truth(
    times: np.ndarray, events: tuple[Event, ...], idle: str
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per dyad signal: (scripted yes/no, steady) at ``times``."""
    looks = {}
    for who, other in (("parent", "child"), ("child", "parent")):
        yes = np.array([gaze_target(events, who, float(t), idle=idle) == other for t in times])
        looks[who] = (yes, steady(times, events, who, "look"))
    (p_yes, p_steady), (c_yes, c_steady) = looks["parent"], looks["child"]
    return {
        "parent_looks_at_child": looks["parent"],
        "child_looks_at_parent": looks["child"],
        "mutual_gaze": (p_yes & c_yes, p_steady & c_steady),
    }


def auc(scores: np.ndarray, truth: np.ndarray) -> float:
    """Probability that a random yes frame scores above a random no frame (ties count half)."""
    truth = np.asarray(truth, bool)
    pos, neg = scores[truth], scores[~truth]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (pos.size * neg.size))


def decision_scores(p: np.ndarray, truth: np.ndarray, *, threshold: float = 0.5) -> dict:
    """F1 of ``p >= threshold`` (NaN is no) against ``truth``, and F1 of answering yes."""
    said = np.nan_to_num(p, nan=-np.inf) >= threshold
    tp, fp = int(np.sum(said & truth)), int(np.sum(said & ~truth))
    fn = int(np.sum(~said & truth))
    return {
        "f1": 2 * tp / max(2 * tp + fp + fn, 1),
        "f1_all_yes": 2 * int(truth.sum()) / max(int(truth.sum()) + truth.size, 1),
        "n": int(truth.size),
        "support": int(truth.sum()),
    }


def gaze_figures(dyad: pd.DataFrame, events: tuple[Event, ...], idle: str) -> pd.DataFrame:
    """Per gaze signal, on steady frames: n, support, F1, all-yes F1 and AUC."""
    times = dyad["t"].to_numpy(dtype=float)
    rows = {}
    for signal, (yes, keep) in gaze_truth(times, events, idle).items():
        p = dyad[signal].to_numpy(dtype=float)[keep]
        rows[signal] = {**decision_scores(p, yes[keep]), "auc": auc(p, yes[keep])}
    return pd.DataFrame(rows).T


def test_scripted_gaze_is_recovered(textbook):
    features, session = textbook
    figures = gaze_figures(features.dyad, session.events, session.script.idle_gaze)
    print(figures.round(3).to_string())
    for signal, row in figures.iterrows():
        assert row["n"] >= 60 and 20 <= row["support"] <= row["n"] - 20, signal
        assert row["auc"] >= AUC_FLOOR, signal
        assert row["f1"] >= 0.7, signal
        assert row["f1"] > row["f1_all_yes"] + F1_MARGIN, signal


def smile_figures(
    table: pd.DataFrame, events: tuple[Event, ...], column: str = "smile"
) -> dict[str, float]:
    """Per role: AUC of ``column`` (the reported smile probability, or e.g. ``smile_raw``, the
    face mesh's blendshape) on steady frames."""
    out = {}
    for role in ("parent", "child"):
        rows = table[table["role"] == role]
        times = rows["t"].to_numpy(dtype=float)
        raw = rows[column].to_numpy(dtype=float)
        truth = np.array([smiling(events, role, float(t)) for t in times])
        keep = steady(times, events, role, "smile") & ~np.isnan(raw)
        assert keep.sum() >= 60 and 20 <= truth[keep].sum() <= keep.sum() - 20, role
        out[role] = auc(raw[keep], truth[keep])
    return out


@pytest.mark.parametrize("role", ["parent", "child"])
def test_scripted_smiles_are_recovered(textbook, role):
    # The smile thresholds are calibrated on webcam-quality real faces, where the blendshape
    # stays low; the rendered faces score higher at rest, so the reported probability's ranking
    # is tested (threshold-free), on the analysed frames where the script holds the smile or the
    # rest steadily. There the rendered mouth is either fully smiling or at rest. Measured (seed
    # 0): AUC 1.00 / 0.99 (seeds 0-3: 0.95-1.00). The face mesh's blendshape alone reads less on
    # a head turned 50 deg to the other (smile_raw AUC 0.84 / 0.85; 0.997 when the scenes
    # turned 32 deg): the yaw correction and the expression classifier's "happy" carry it.
    features, session = textbook
    figures = smile_figures(features.table, session.events)
    print(figures)
    assert figures[role] >= AUC_FLOOR
    assert features.provenance["roles"]["method"] == "role_guess"


def scan_session(name: str):  # type: ignore[no-untyped-def]
    """(session, default config, analysis rate, scan) of a generated session, scanned once so
    that a test can assemble its columns under several settings (``features_from_scan``)."""
    from vigcv.synth import cached_session
    from vigcv.vision.scan import scan_video

    session = cached_session(name)
    config = load_config()
    fps = float(config["ingest"]["analysis_fps"])
    scan = scan_video(
        session.video,
        fps=fps,
        max_side=int(config["ingest"]["max_side"]),
        vc=config["vision"],
        total=int(np.ceil(probe(session.video).duration * fps)),
    )
    return session, config, fps, scan


def _run(name: str):  # type: ignore[no-untyped-def]
    from vigcv.synth import cached_session

    session = cached_session(name)
    features = extract_vision(session.video, config=load_config(), info=probe(session.video))
    return features, session


@pytest.fixture(scope="module")
def held_toy():
    return _run("held_toy")


@pytest.fixture(scope="module")
def shaky():
    return _run("shaky")


@pytest.fixture(scope="module")
def leaves():
    return _run("leaves")


def _child_targets(dyad: pd.DataFrame, events: tuple[Event, ...]) -> np.ndarray:
    return np.array([gaze_target(events, "child", float(t), idle="toy") for t in dyad["t"]])


def test_held_toy_child_looking_at_the_face_is_recovered(held_toy):
    # configs/synth/held_toy.toml: looking at her mother's face the child is seen as looking at
    # her (measured on seed 0: every steady frame, median probability 0.81).
    features, session = held_toy
    dyad, t = features.dyad, features.dyad["t"].to_numpy(dtype=float)
    keep = steady(t, session.events, "child", "look")
    face = keep & (_child_targets(dyad, session.events) == "parent")
    assert face.sum() >= 30
    assert np.mean(dyad["child_looks_at_parent"].to_numpy()[face] >= 0.5) >= 0.9


@pytest.mark.xfail(
    strict=True,
    reason="the 'towards' looks-at model uses the gaze yaw only; the toy held just below the "
    "mother's face is 4 deg nearer in yaw: measured on the 54 steady frames where the child "
    "looks at it, 98 % say 'looks at parent' (median probability 0.96; 70 % and 0.59 while the "
    "heads turned 32 deg and the threshold was 20). WHENet's pitch with the "
    "3-D angle model (head_pose_source 'whenet', looks_at_model 'angle', measured, not shipped) "
    "does no better: the child's angles to her mother's head overlap at the face and the toy "
    "(54-63 against 47-70 deg), so her fixed 75 deg says yes to all of them. Nor does the "
    "check of a look against the child's own usual pitch (child_looks_below_deg, measured at "
    "20 deg, off as shipped): her measured "
    "gaze pitch reads alike at the toy and at the face (median 6.9 deg for both)",
)
def test_held_toy_child_looking_at_the_toy_is_not_looking_at_the_parent(held_toy):
    features, session = held_toy
    dyad, t = features.dyad, features.dyad["t"].to_numpy(dtype=float)
    keep = steady(t, session.events, "child", "look")
    toy = keep & (_child_targets(dyad, session.events) == "toy")
    assert toy.sum() >= 40
    for column in ("child_looks_at_parent", "mutual_gaze"):
        said = np.nan_to_num(dyad[column].to_numpy()[toy], nan=0.0) >= 0.5
        assert said.mean() <= 0.1, column


def _blurred(t: np.ndarray, events: tuple[Event, ...], margin: float) -> np.ndarray:
    spans = [(ev.start, ev.end) for ev in events if ev.action == "blur"]
    return np.array([any(a + margin <= x < b - margin for a, b in spans) for x in t])


def test_motion_blur_gives_no_false_yes_and_unknown_where_no_face(shaky):
    # configs/synth/shaky.toml: three stretches of a 25 px horizontal blur. Measured on seed 0:
    # the child's face is lost on most blurred frames (gaze and smile unknown there); where it
    # is found, no gaze is claimed that the script does not say. (The smile is left out of that
    # check: the smile calibration reads the rendered child's resting face as smiling on the
    # sharp frames too, 0.94-0.99 on seed 0; see test_scripted_smiles_are_recovered.)
    features, session = shaky
    dyad = features.dyad
    t = dyad["t"].to_numpy(dtype=float)
    blur = _blurred(t, session.events, margin=0.3)
    assert blur.sum() >= 40
    looks = _child_targets(dyad, session.events) == "parent"
    smiles = np.array([smiling(session.events, "child", float(x)) for x in t])
    keep = blur & steady(t, session.events, "child", "look")
    truth = {"child_looks_at_parent": looks, "mutual_gaze": looks, "child_smile": smiles}
    for column, yes in truth.items():
        said = np.nan_to_num(dyad[column].to_numpy(), nan=0.0) >= 0.5
        if column != "child_smile":  # no "yes" the script does not say
            assert not np.any(said[keep] & ~yes[keep]), column
        unseen = blur & (dyad["child_visible"].to_numpy() <= 0)
        assert unseen.sum() >= 10
        assert np.isnan(dyad[column].to_numpy()[unseen]).all(), column  # unknown, not a guess
    # The blur lowers the child's measured quality (lost face, or a sharpness drop).
    quality = dyad["child_quality"].to_numpy()
    assert np.median(quality[blur]) < 0.5 <= np.median(quality[~_blurred(t, session.events, -0.5)])


def test_child_leaving_the_frame_is_unknown_and_keeps_her_identity(leaves):
    # configs/synth/leaves.toml: she slides out of the frame (away from her mother) for 4 s and
    # comes back to her place, "looking at" her mother and "smiling" by the script all along.
    features, session = leaves
    dyad, table = features.dyad, features.table
    t = dyad["t"].to_numpy(dtype=float)
    out = [(ev.start, ev.end) for ev in session.events if ev.target == "out"]
    assert len(out) == 1
    a, b = out[0]
    away = (t > a + 0.8) & (t < b - 0.8)  # the head slides over about +-0.6 s
    assert away.sum() >= 20
    for column in ("child_looks_at_parent", "child_smile", "mutual_gaze"):
        assert np.isnan(dyad[column].to_numpy()[away]).all(), column
    assert (dyad["child_visible"].to_numpy()[away] == 0).all()
    # The mother stays measured.
    assert np.isfinite(dyad["parent_looks_at_child"].to_numpy()[away]).all()
    # Two people over the session, the same person is the child before and after.
    assert table["person"].nunique() == 2
    child = table[table["role"] == "child"]
    seen = child[child["visible"] > 0]
    before = seen[seen["t"] < a - 0.5]
    after = seen[(seen["t"] > b + 0.8) & (seen["t"] < b + 4.0)]
    assert len(before) >= 20 and len(after) >= 20
    assert before["person"].nunique() == 1 and set(after["person"]) == set(before["person"])
    cx_before = float(np.median(before["x"] + 0.5 * before["w"]))
    cx_after = float(np.median(after["x"] + 0.5 * after["w"]))
    assert abs(cx_after - cx_before) < 0.5 * float(np.median(before["w"]))
    back = (t > b + 0.8) & (t < b + 4.0)
    assert np.isfinite(dyad["child_looks_at_parent"].to_numpy()[back]).all()
    assert (dyad["child_smile"].to_numpy()[back] >= 0.5).all()
