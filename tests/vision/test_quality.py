"""Measurement quality: how well each face can be measured, and abstaining below the floor."""

from __future__ import annotations

import copy

import numpy as np

from vigcv.config import load_config
from vigcv.vision.extract import features_from_scan
from vigcv.vision.quality import (
    combine_quality,
    face_evidence,
    quality_components,
    relative_score,
)
from vigcv.vision.scan import MEASURE_FIELDS, POINT_FIELDS, ScanResult

FPS = 10.0


def _parts(n: int = 10, **changes: object) -> dict[str, np.ndarray]:
    args: dict[str, object] = {
        "presence": np.full(n, 0.99),
        "detected": np.ones(n, bool),
        "present": np.ones(n, bool),
        "score": np.full(n, 0.9),
        "box": np.tile([100.0, 100.0, 60.0, 60.0], (n, 1)),
        "points": np.tile([[115.0, 120.0], [145.0, 120.0], [130.0, 135.0]], (n, 1, 1)),
        "yaw": np.zeros(n),
        "sharpness": np.full(n, 50.0),
        "frame_size": (640, 480),
        "hold_frames": 8,
        "min_face_px": 12.0,
        "yaw_deg": 65.0,
        "yaw_floor": 0.5,
        "coast": 0.6,
        "sharp_ratio": 0.5,
        "mesh_floor": 0.0,
    }
    args.update(changes)
    return quality_components(**args)  # type: ignore[arg-type]


def test_a_plain_frontal_face_has_full_quality():
    assert np.allclose(combine_quality(_parts()), 0.99)


def test_each_reason_not_to_trust_a_face_lowers_its_quality():
    n = 10
    no_face = combine_quality(_parts(presence=np.full(n, 0.01)))  # the mesh sees no face
    assert no_face.max() < 0.05
    out = np.tile([[-20.0, 120.0], [10.0, 120.0], [0.0, 135.0]], (n, 1, 1))  # eyes off-frame
    assert combine_quality(_parts(points=out)).max() == 0.0
    tiny = combine_quality(_parts(box=np.tile([100.0, 100.0, 12.0, 12.0], (n, 1))))
    assert tiny.max() == 0.0
    profile = combine_quality(_parts(yaw=np.full(n, 90.0)))
    assert np.allclose(profile, 0.99 * 0.5)
    blurred = np.full(n, 50.0)
    blurred[5:] = 5.0  # a tenth of the person's usual sharpness
    q = combine_quality(_parts(sharpness=blurred))
    assert q[:5].min() > 0.9 and q[5:].max() < 0.5
    absent = np.ones(n, bool)
    absent[3] = False
    assert combine_quality(_parts(present=absent))[3] == 0.0


def test_the_mesh_presence_is_held_only_over_a_short_gap():
    presence = np.full(40, np.nan)
    presence[0] = 0.99  # the mesh ran once, long ago
    q = _parts(40, presence=presence, hold_frames=8)["mesh"]
    assert q[:9].min() > 0.9 and q[9:].max() == 0.0  # no guess carried further


def test_mesh_floor_keeps_faces_the_mesh_doubts():
    q = _parts(presence=np.full(10, 0.0), mesh_floor=0.5)["mesh"]
    assert np.allclose(q, 0.5)


def test_face_evidence_takes_the_surer_of_the_two_face_models():
    n = 20
    score = np.full(n, 0.8)
    args = {"detected": np.ones(n, bool), "present": np.ones(n, bool), "hold_frames": 8}
    frontal = face_evidence(presence=np.full(n, 0.99), score=score, **args)
    assert frontal.min() > 0.95
    # A profile: the mesh sees no face, the detector scores it as it scores this person's
    # face (its own median): a face.
    profile = face_evidence(presence=np.zeros(n), score=score, **args)
    assert profile.min() > 0.9
    # The side or back of a head: the mesh sees no face and the detector scores it at a
    # third of the person's usual: neither model is sure.
    side = score.copy()
    side[10:] = 0.25
    doubt = face_evidence(presence=np.zeros(n), score=side, **args)
    assert doubt[:10].min() > 0.9 and doubt[10:].max() < 0.5
    # No box: no face; the mesh's reading is held over a short gap only.
    absent = np.ones(n, bool)
    absent[5] = False
    assert face_evidence(presence=np.zeros(n), score=score, **{**args, "present": absent})[5] == 0
    once = np.full(n, np.nan)
    once[0] = 0.99
    held = face_evidence(presence=once, score=np.full(n, np.nan), **args)
    assert held[:9].min() > 0.9 and held[9:].max() == 0.0
    # A box a third of the person's usual size, however sure the models, is not her face
    # (something else given her track); at 0.6 of it, it is.
    size = np.full(n, 75.0)
    size[3], size[4] = 26.0, 45.0
    small = face_evidence(
        presence=np.full(n, 0.99), score=score, size=size, min_size_ratio=0.5, **args
    )
    assert small[3] == 0.0 and small[4] > 0.95 and np.delete(small, 3).min() > 0.95


def test_a_turned_face_is_compared_with_the_same_person_turned_the_same_way():
    # A person faces the camera (yaw 0, detector 0.9) for 60 frames and turns 50 deg to the
    # other (0.45: a detector scores turned faces lower) for 40; a box on the side of her head
    # at that turn scores 0.12. Against her median over the session (0.9) the turned face reads
    # 0.5 and a stricter check (0.7) would take it for no face; against her own turned faces
    # it reads 1.0, and the side of her head still reads well below any check.
    n = 110
    yaw = np.r_[np.zeros(60), np.full(40, 50.0), np.full(10, 52.0)]
    score = np.r_[np.full(60, 0.9), np.full(40, 0.45), np.full(10, 0.12)]
    args = {"presence": np.zeros(n), "detected": np.ones(n, bool), "present": np.ones(n, bool)}
    whole = face_evidence(score=score, hold_frames=0, **args)
    by_turn = face_evidence(score=score, hold_frames=0, yaw=yaw, yaw_window_deg=15.0, **args)
    assert np.allclose(whole[60:100], 0.5) and np.allclose(by_turn[60:100], 1.0)
    assert np.allclose(by_turn[:60], 1.0)
    assert by_turn[100:].max() < 0.3 and whole[100:].max() < 0.3
    # Mirrored turns are the same turn; a turn the person shows too seldom (fewer than
    # min_frames within the window) and an unknown turn fall back to the whole session.
    mirrored = face_evidence(score=score, hold_frames=0, yaw=-yaw, yaw_window_deg=15.0, **args)
    assert np.allclose(mirrored, by_turn)
    odd = yaw.copy()
    odd[60:65] = 85.0
    odd[65:70] = np.nan
    rare = relative_score(score, np.ones(n, bool), odd, yaw_window_deg=15.0)
    assert np.allclose(rare[60:70], 0.45 / np.median(score))


def test_the_back_of_a_head_is_no_face_whatever_the_detector_scores_it():
    # 60 frames of her face (yaw 10, detector 0.9), then 40 with her back to the camera (WHENet
    # 160 deg) where the detector still scores the box 0.5. At a like turn the 40 back-of-head
    # boxes were their own reference (relative score 1.0, "a face"); past hidden_past_deg the
    # score is no evidence (0), and those boxes set no one's reference.
    yaw = np.r_[np.full(60, 10.0), np.full(40, 160.0)]
    score = np.r_[np.full(60, 0.9), np.full(40, 0.5)]
    detected = np.ones(100, bool)
    before = relative_score(score, detected, yaw, yaw_window_deg=15.0)
    assert np.allclose(before[60:], 1.0)
    after = relative_score(score, detected, yaw, yaw_window_deg=15.0, hidden_past_deg=135.0)
    assert np.allclose(after[60:], 0.0) and np.allclose(after[:60], 1.0)
    # A turn short of the cut (a profile at 100 deg) is still compared with her own at that turn.
    side = relative_score(
        score, detected, np.r_[yaw[:60], np.full(40, 100.0)], yaw_window_deg=15.0,
        hidden_past_deg=135.0,
    )  # fmt: skip
    assert np.allclose(side[60:], 1.0)


def _scan(n: int = 100, *, child_presence: float = 0.99, child_score: float = 0.9) -> ScanResult:
    """Parent (image left) and child (image right) turned 40 deg towards each other and
    smiling; the child's face-mesh presence is ``child_presence`` and her detector score
    ``child_score`` in frames 40-69 (0.99 and 0.9 elsewhere)."""
    rows: dict[str, list[float]] = {}

    def add(
        frame: int, track: int, cx: float, size: float, yaw: float, presence: float, score: float
    ) -> None:
        half = size / 2
        values = {
            "frame": frame, "track": track, "x0": cx - half, "y0": 200 - half,
            "x1": cx + half, "y1": 200 + half, "score": score, "fp_yaw": yaw,
            "lm_tried": 1.0, "lm_ok": 1.0, **{name: 0.0 for name in MEASURE_FIELDS},
            "yaw": yaw, "smile": 0.5, "happy": 0.9, "neutral": 0.05, "presence": presence,
            "sharpness": 40.0,
        }  # fmt: skip
        eyes_nose = (cx - 0.2 * size, 190, cx + 0.2 * size, 190, cx, 205)
        values.update(dict(zip(POINT_FIELDS, eyes_nose, strict=True)))
        for key, value in values.items():
            rows.setdefault(key, []).append(float(value))

    for i in range(n):
        add(i, 0, 160.0, 90.0, -40.0, 0.99, 0.9)
        turned = 40 <= i < 70
        add(
            i,
            1,
            460.0,
            60.0,
            40.0,
            child_presence if turned else 0.99,
            child_score if turned else 0.9,
        )
    return ScanResult(np.arange(n) / FPS, {k: np.asarray(v) for k, v in rows.items()}, 640, 480)


def _features(scan: ScanResult, **vision: object):
    config = copy.deepcopy(load_config())
    config["vision"].update(vision)
    return features_from_scan(scan, config=config, rate=FPS)


def test_below_the_floor_gaze_and_smile_are_unknown_not_carried_over():
    # Frames 40-69: a box the mesh says is no face (the back of a head, a hand over the face).
    features = _features(_scan(child_presence=0.01), quality_min=0.3, quality_mesh_floor=0.0)
    dyad = features.dyad
    inside = slice(45, 65)  # away from the edges where the mesh's last reading is still near
    assert dyad["child_quality"][inside].max() < 0.05
    assert dyad["child_looks_at_parent"][inside].isna().all()
    assert dyad["child_smile"][inside].isna().all()
    assert dyad["mutual_gaze"][inside].isna().all()
    # Before and after, and the parent throughout, stay measured.
    assert (dyad["child_looks_at_parent"][:35] > 0.5).all()
    assert (dyad["child_smile"][75:] > 0.5).all()
    assert (dyad["parent_looks_at_child"] > 0.5).all() and (dyad["parent_smile"] > 0.5).all()
    assert (dyad["parent_quality"] > 0.9).all()
    child = features.table[features.table["role"] == "child"]
    assert child["quality"].to_numpy()[inside].max() < 0.05


def test_a_box_neither_face_model_is_sure_of_gives_unknown_gaze_and_smile():
    # Frames 40-69: the mesh sees no face and the detector scores the box at a third of the
    # child's usual (the side or back of her head): by default, unknown, not the smile and gaze
    # carried over from before.
    features = _features(_scan(child_presence=0.01, child_score=0.3))
    dyad = features.dyad
    inside = slice(45, 65)
    for column in ("child_looks_at_parent", "child_smile", "mutual_gaze"):
        assert dyad[column][inside].isna().all(), column
    # Nor is a mouth read off it (it would name a speaker: vigcv.audio.attribution). The
    # per-person table says why: the face evidence there is below face_min.
    child = features.table[features.table["role"] == "child"]
    evidence = child["face_evidence"].to_numpy()
    assert evidence[inside].max() < 0.4 and evidence[:35].min() > 0.9
    assert np.isnan(child["mouth_open"].to_numpy()[inside]).all()
    assert np.isfinite(child["mouth_open"].to_numpy()[:35]).all()
    assert (dyad["child_looks_at_parent"][:35] > 0.5).all()
    assert (dyad["child_smile"][75:] > 0.5).all()
    assert (dyad["parent_looks_at_child"] > 0.5).all() and (dyad["parent_smile"] > 0.5).all()
    # A profile (the mesh doubts it, the detector scores it as usual) stays measured ...
    profile = _features(_scan(child_presence=0.01, child_score=0.9)).dyad
    assert profile["child_looks_at_parent"].notna().all() and profile["child_smile"].notna().all()
    # ... and with the check off (face_min and child_face_min 0) the doubtful box is read as a
    # face.
    off = _features(_scan(child_presence=0.01, child_score=0.3), face_min=0.0, child_face_min=0.0)
    assert off.dyad["child_smile"][inside].notna().all()


def test_a_child_face_can_be_checked_more_strictly_than_an_adult_one():
    # Frames 40-69: the child's box at half her usual detector score for that head turn with the
    # mesh doubting it (face evidence 0.5): unknown at the shipped child_face_min (0.6, chosen
    # leave-one-family-out), measured at the adults' face_min (0.4); the parent, whose face the
    # adults' check reads, is measured either way.
    inside = slice(45, 65)
    scan = _scan(child_presence=0.01, child_score=0.45)
    shipped = _features(scan)
    child = shipped.table[shipped.table["role"] == "child"]
    assert np.allclose(child["face_evidence"].to_numpy()[inside], 0.5)
    lenient = _features(scan, child_face_min=0.4).dyad
    for column in ("child_looks_at_parent", "child_smile", "mutual_gaze"):
        assert shipped.dyad[column][inside].isna().all(), column
        assert lenient[column][inside].notna().all(), column
    assert (shipped.dyad["parent_looks_at_child"] > 0.5).all()


def test_the_floor_off_changes_nothing_and_a_real_face_is_kept():
    off = _features(_scan(child_presence=0.01), quality_min=0.0).dyad
    assert off["child_looks_at_parent"].notna().all()
    kept = _features(_scan(child_presence=0.99), quality_min=0.3, quality_mesh_floor=0.0).dyad
    assert kept["child_looks_at_parent"].notna().all() and kept["child_smile"].notna().all()


def test_a_scan_without_the_quality_parts_gates_nothing():
    scan = _scan()
    faces = {k: v for k, v in scan.faces.items() if k not in ("presence", "sharpness")}
    faces = {k: v for k, v in faces.items() if k not in POINT_FIELDS}
    old = ScanResult(scan.times, faces, scan.width, scan.height)
    dyad = _features(old, quality_min=0.5).dyad
    assert dyad["child_quality"].isna().all()
    assert dyad["child_looks_at_parent"].notna().all()
