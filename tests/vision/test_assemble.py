"""The array stage (scan -> FrameFeatures) on constructed scans with known answers."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from vigcv.config import load_config
from vigcv.vision.extract import features_from_scan
from vigcv.vision.scan import MEASURE_FIELDS, ScanResult

FPS = 10.0


def _scan(
    *,
    child_missing: slice,
    parent_missing: slice,
    n: int = 100,
    parent_happy: np.ndarray | None = None,
    child_pitch: np.ndarray | None = None,
    child_size: np.ndarray | None = None,
    lower_face: tuple[float, float] = (0.0, 0.0),
    smile: float | np.ndarray = 0.01,
) -> ScanResult:
    """Parent (large face, image left) turned 40 deg towards the child (small face, image
    right), who is turned 40 deg back; each face is missing in the given frames. With
    ``parent_happy`` (per frame), the expression classifier gives the parent that happy
    probability (neutral the rest; her mouth unread by the face mesh) and the child an even
    0.3 / 0.3. ``child_pitch`` and ``child_size`` (per frame) set the child's head pitch and
    face box size (60 px otherwise); ``lower_face`` the parent's and the child's face
    proportion as the face mesh reads it (0: not a face's, no measurement); ``smile`` both
    faces' mouthSmile blendshape (per frame, or one value)."""
    rows: dict[str, list[float]] = {}

    def add(frame: int, track: int, cx: float, size: float, yaw: float) -> None:
        values = {
            "frame": frame,
            "track": track,
            "x0": cx - size / 2,
            "y0": 200 - size / 2,
            "x1": cx + size / 2,
            "y1": 200 + size / 2,
            "score": 0.9,
            "fp_yaw": yaw,
            "lm_tried": 1.0,
            "lm_ok": 1.0,
            **{name: 0.0 for name in MEASURE_FIELDS},
            "yaw": yaw,
            "smile": float(np.broadcast_to(smile, (n,))[frame]),
            "lower_face": lower_face[track],
        }
        if child_pitch is not None and track == 1:
            values["pitch"] = float(child_pitch[frame])
        if parent_happy is not None:
            happy = float(parent_happy[frame]) if track == 0 else 0.3
            values.update(happy=happy, neutral=1.0 - happy if track == 0 else 0.3)
            if track == 0:  # a mouth the face mesh cannot read: the classifier's cue alone
                values["smile"] = np.nan
        for key, value in values.items():
            rows.setdefault(key, []).append(float(value))

    for i in range(n):
        if i not in range(n)[parent_missing]:
            add(i, 0, 160.0, 90.0, -40.0)
        if i not in range(n)[child_missing]:
            add(i, 1, 460.0, 60.0 if child_size is None else float(child_size[i]), 40.0)
    faces = {k: np.asarray(v) for k, v in rows.items()}
    return ScanResult(np.arange(n) / FPS, faces, 640, 480)


def _features(scan: ScanResult, **vision: object):
    config = copy.deepcopy(load_config())
    config["vision"].update(vision)
    return features_from_scan(scan, config=config, rate=FPS)


def test_parent_keeps_looking_at_a_child_whose_face_is_lost():
    # The child's face is not found for 2 s (turned away, in a hug): the parent, still turned
    # towards where the child was, is taken to look at her; nobody looks at a hidden parent.
    scan = _scan(child_missing=slice(40, 60), parent_missing=slice(80, 100))
    held = _features(scan, gaze_target_hold_s=3.0, child_gaze_target_hold_s=0.0).dyad
    looks = held["parent_looks_at_child"].to_numpy()
    # As sure as while she was seen (0.78 with the default "towards" model).
    assert looks[39] > 0.7 and np.allclose(looks[40:60], looks[39])
    assert held["child_visible"][45:55].max() == 0.0
    assert held["child_looks_at_parent"][85:95].isna().all()
    assert held["mutual_gaze"][45:55].isna().all()  # the child's own gaze is unknown there
    # both seen and turned 40 deg to each other: 0.78 each (30 deg threshold), mutual gaze their
    # product (mutual_gaze_combine) 0.60
    assert np.all(held["mutual_gaze"][:30] > 0.5)
    plain = _features(scan, gaze_target_hold_s=0.0).dyad
    assert plain["parent_looks_at_child"][45:55].isna().all()


@pytest.mark.parametrize("hold_s", [0.0, 3.0])
def test_a_lost_target_is_held_only_for_the_time_given(hold_s):
    scan = _scan(child_missing=slice(20, 100), parent_missing=slice(0, 0))
    dyad = _features(scan, gaze_target_hold_s=hold_s).dyad
    # The child leaves for good at frame 20: her last position is held for hold_s.
    known = dyad["parent_looks_at_child"][20:].notna().to_numpy()
    fill = round(hold_s * FPS)
    assert known[:fill].all() and not known[fill:].any()


def test_a_face_that_looks_happy_at_rest_is_not_smiling_throughout_when_read_relatively():
    # The classifier reads this mother's resting face as happy:neutral 2:1 (frames 0-69) and
    # her smile as 19:1 (70-99). Read as it is, the cue says "smiling" everywhere; read against
    # her own resting level (happy_relative), only the smile is one.
    happy = np.where(np.arange(100) < 70, 2.0 / 3.0, 0.95)
    scan = _scan(child_missing=slice(0, 0), parent_missing=slice(0, 0), parent_happy=happy)
    absolute = _features(scan, happy_relative=0.0, happy_ratio=1.5).dyad["parent_smile"]
    relative = _features(scan, happy_relative=1.0, happy_ratio=1.5).dyad["parent_smile"]
    assert (absolute[10:60] > 0.5).all()
    assert (relative[10:60] < 0.5).all() and (relative[80:95] > 0.5).all()
    table = _features(scan, happy_relative=1.0).table
    level = table.loc[table["role"] == "parent", "happy_baseline"].iloc[0]
    assert level == pytest.approx(np.log(2.0), abs=0.05)


def _assert_child_looks_taken_away(scan: ScanResult, **setting: object) -> None:
    """With ``setting``, the child's looks at her parent in frames 65-74 are "no" and mutual gaze
    with them, her looks elsewhere and the parent's stay; as shipped (the setting off) the child
    looks at her parent throughout."""
    dyad = _features(scan, **setting).dyad
    child = dyad["child_looks_at_parent"].to_numpy()
    assert (child[65:75] < 0.5).all() and (child[10:50] >= 0.5).all() and (child[85:] >= 0.5).all()
    assert (dyad["mutual_gaze"].to_numpy()[65:75] < 0.5).all()
    # The parent's own setting stays off: her looks at the child are unchanged.
    assert (dyad["parent_looks_at_child"].to_numpy()[5:-5] >= 0.5).all()
    off = _features(scan).dyad["child_looks_at_parent"].to_numpy()
    assert (off[5:-5] >= 0.5).all()


def test_a_child_looking_well_below_her_parents_face_does_not_look_at_her():
    # The child, turned 40 deg to her parent, looks level with her face (pitch 0) except in
    # frames 60-79, where she looks 35 deg lower: at the toy her parent holds in front of her.
    # The parent looking down at the child is not judged this way (looks_below_deg 0).
    pitch = np.where((np.arange(100) >= 60) & (np.arange(100) < 80), -35.0, 0.0)
    scan = _scan(child_missing=slice(0, 0), parent_missing=slice(0, 0), child_pitch=pitch)
    _assert_child_looks_taken_away(scan, child_looks_below_deg=20.0)


def test_a_child_whose_face_is_much_wider_than_usual_does_not_look_at_her_parent():
    # The child's face box is 60 px wide except in frames 60-79, where it is 80 px (1.33 times
    # her median): turned to the camera, or brought up to it. Her measured turn still points at
    # her parent there; with child_looks_wide_face_ratio 1.2 those frames are not looks at her.
    size = np.where((np.arange(100) >= 60) & (np.arange(100) < 80), 80.0, 60.0)
    scan = _scan(child_missing=slice(0, 0), parent_missing=slice(0, 0), child_size=size)
    _assert_child_looks_taken_away(scan, child_looks_wide_face_ratio=1.2)


def test_a_second_adult_in_the_childs_place_is_read_with_the_adult_settings():
    # Two faces of one size with an adult's proportions (lower_face 1.15 both): no child in the
    # film, so the one on the right stands in as the pair's child. From frame 50 both mouths lift
    # a little (mouthSmile 0.0005 -> 0.008): a smile on a small child's face, whose smiles the
    # face mesh scores far lower (child_smile_threshold), not on an adult's.
    smile = np.where(np.arange(100) >= 50, 0.008, 0.0005)
    faces = {"child_missing": slice(0, 0), "parent_missing": slice(0, 0), "smile": smile}
    scan = _scan(child_size=np.full(100, 90.0), lower_face=(1.15, 1.15), **faces)
    features = _features(scan)
    people = features.people.set_index("pair_role")
    assert people.loc["child", "role_guess"] == "adult"
    assert people.loc["child", "confidence"] >= 0.8
    dyad = features.dyad
    assert (dyad["parent_smile"] < 0.5).all() and (dyad["child_smile"] < 0.5).all()
    # Read with the child settings whatever the guess (as before): her lift is a smile.
    always = _features(scan, adult_settings_min_confidence=1.01).dyad
    assert (always["child_smile"][60:90] >= 0.5).all()
    # A child's face (lower_face 0.88, smaller) in the same place keeps the child settings.
    child = _features(_scan(lower_face=(1.15, 0.88), **faces))
    assert child.people.set_index("pair_role").loc["child", "role_guess"] == "child"
    assert (child.dyad["child_smile"][60:90] >= 0.5).all()
    assert (child.dyad["child_smile"][10:40] < 0.5).all()


def _with_back_turn(scan: ScanResult, frames: slice, turn_deg: float) -> ScanResult:
    """The same scan with the face mesh sure of both faces (presence 1) and a calm classifier
    (happy 0.1, neutral 0.8), except that in ``frames`` the child's box sits on the back of her
    head: the mesh fails (presence 0.05), WHENet reads her head turned ``turn_deg`` from the
    camera, the detector still scores the box 0.5 (0.9 on her face), and the expression
    classifier reads her hair as happy (0.9)."""
    f = {k: v.copy() for k, v in scan.faces.items()}
    frame = f["frame"].astype(int)
    back = (f["track"] == 1) & (frame >= frames.start) & (frame < frames.stop)
    n = frame.size
    f.update(presence=np.ones(n), hp_yaw=np.full(n, np.nan), hp_pitch=np.full(n, np.nan))
    f.update(happy=np.full(n, 0.1), neutral=np.full(n, 0.8))
    f["lm_ok"][back] = 0.0
    for name in MEASURE_FIELDS:
        f[name][back] = np.nan
    f["presence"][back], f["hp_yaw"][back], f["hp_pitch"][back] = 0.05, turn_deg, 0.0
    f["score"][back], f["happy"][back], f["neutral"][back] = 0.5, 0.9, 0.05
    return ScanResult(scan.times, f, scan.width, scan.height)


def test_a_box_on_the_back_of_a_head_turned_away_for_long_is_not_a_face():
    # The child turns her back to the camera for 5 s (frames 40-89), 40 deg to her parent's
    # side of it (WHENet: 140 deg). Compared with her own boxes at that turn, 50 frames of them,
    # the back of her head was its own reference: read as her face, it was given a look at her
    # parent (0.78), mutual gaze (0.60) and a smile (0.75). Past face_hidden_past_deg the
    # detector's score is no evidence of a face: only the face mesh could say so, and it fails.
    plain = _scan(child_missing=slice(0, 0), parent_missing=slice(0, 0), smile=0.0005)
    scan = _with_back_turn(plain, slice(40, 90), 140.0)
    dyad = _features(scan).dyad
    for column in ("child_looks_at_parent", "mutual_gaze", "child_smile"):
        assert dyad[column][50:86].isna().all(), column
    assert (dyad["child_looks_at_parent"][5:35] >= 0.5).all()  # her face before the turn
    assert (dyad["parent_looks_at_child"][5:-5] >= 0.5).all()  # the parent's still measured
    # Off (180): the hole this closes.
    off = _features(scan, face_hidden_past_deg=180.0).dyad
    assert (off["child_looks_at_parent"][50:86] >= 0.5).all()
    assert (off["child_smile"][50:86] >= 0.5).all()


def test_an_iris_read_in_a_nearly_shut_eye_does_not_turn_the_gaze_round():
    # One frame's iris reads 5.4 eye-widths down and 2 across (its position divided by a tiny
    # opening): the eye term stays within its range instead of turning the gaze by 400 deg.
    scan = _scan(child_missing=slice(0, 0), parent_missing=slice(0, 0))
    faces = scan.faces
    wild = (faces["track"] == 0) & (faces["frame"] == 50)
    faces["iris_x"] = np.where(wild, -2.0, faces["iris_x"])
    faces["iris_y"] = np.where(wild, -5.4, faces["iris_y"])
    table = _features(scan, eye_source="iris", eye_range_deg=90.0).table
    parent = table[table["role"] == "parent"].set_index("t")
    assert parent["gaze_pitch"].abs().max() <= 90.0 + 1e-6
    assert parent["gaze_yaw"].abs().max() <= 40.0 + 90.0 + 1e-6


def test_looks_are_unknown_where_a_hand_is_over_the_eyes():
    # Peekaboo: the parent's hands cover her eyes in frames 40-59 (sampled every 10th frame,
    # as [vision] hands_every samples them); her head still points at the child.
    scan = _scan(child_missing=slice(0, 0), parent_missing=slice(0, 0))
    faces = scan.faces
    frame, track = faces["frame"].astype(int), faces["track"].astype(int)
    share = np.where(frame % 10 == 0, 0.0, np.nan)
    share[(track == 0) & (frame >= 40) & (frame < 60) & (frame % 10 == 0)] = 0.7
    faces["hand_over_eyes"] = share
    dyad = _features(scan, hands_every=10).dyad
    parent = dyad["parent_looks_at_child"].to_numpy()
    hidden = np.zeros(len(dyad), bool)
    hidden[31:60] = True  # between a sample with the hand and the next, either side
    assert np.isnan(parent[hidden]).all()
    assert np.isnan(dyad["mutual_gaze"].to_numpy()[hidden]).all()
    assert (parent[~hidden][5:-5] >= 0.5).all()  # elsewhere she is seen to look at the child
    child = dyad["child_looks_at_parent"].to_numpy()
    assert (child[hidden] >= 0.5).all()  # the child's eyes are seen
    # scanned without the hand model: nothing is unknown on that account
    del faces["hand_over_eyes"]
    assert (_features(scan, hands_every=10).dyad["parent_looks_at_child"] >= 0.5).all()
