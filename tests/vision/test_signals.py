"""Smile and looking-at signals, region detection and mirrored landmarking, with known answers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vigcv.checks import NonFiniteError
from vigcv.vision.detect import detect_faces, detect_in_regions
from vigcv.vision.landmarks import Landmarker, mesh_geometry
from vigcv.vision.signals import (
    below_usual,
    calibrated_smile,
    combine_smile,
    elevation_to,
    expected_calibration_error,
    fit_logistic,
    happy_score,
    hold,
    looks_towards,
    mixture_cut,
    person_baseline,
    person_neutral,
    relative_to_neutral,
    reliability_bins,
    rolling_split,
    session_threshold,
    smile_design,
    smile_log_score,
    smile_probability_series,
    wider_than_usual,
)
from vigcv.vision.social import looks_at_probability, mutual_gaze_probability, shared_depth
from vigcv.vision.track import FaceTracker


def _smile_track(rest: float, smile: float, n: int = 800, every: int = 4) -> np.ndarray:
    """A blendshape track measured every ``every`` frames (80 s at 10 fps: the person's own
    baseline outweighs the prior): rest, then smiling in frames 300-500."""
    values = np.full(n, np.nan)
    idx = np.arange(0, n, every)
    values[idx] = np.where((idx >= 300) & (idx < 500), smile, rest)
    return values


def _probability(values: np.ndarray, *, relative: float, prior: float = -5.5) -> np.ndarray:
    score = smile_log_score(values, np.zeros(values.size), smooth_frames=9, yaw_gain=0.0)
    base = person_baseline(score[~np.isnan(values)], quantile=0.05, prior=prior, prior_frames=10)
    return smile_probability_series(
        score,
        np.ones(values.size, bool),
        threshold=0.02,
        log_scale=0.5,
        baseline=base,
        prior_baseline=prior,
        relative=relative,
        hold_frames=50,
        fill_with_rate=False,
    )


@pytest.mark.parametrize(("rest", "smile"), [(0.002, 0.2), (0.75, 0.98)])
def test_per_person_baseline_finds_smiles_whatever_the_resting_level(rest, smile):
    # A webcam face reads ~0.002 at rest; a rendered face ~0.75. Relative to each person's own
    # resting level both smiles are found and both resting faces are not smiles.
    p = _probability(_smile_track(rest, smile), relative=1.0)
    assert np.all(p[310:490] > 0.8)
    assert np.all(p[:280] < 0.2) and np.all(p[520:] < 0.2)


def test_absolute_threshold_calls_a_face_that_reads_high_at_rest_smiling():
    p = _probability(_smile_track(0.75, 0.98), relative=0.0)
    assert np.all(p[:280] > 0.9)  # the failure per-person normalisation fixes


def test_smile_score_averages_mirror_alternation_and_corrects_for_head_turn():
    values = np.full(12, np.nan)
    values[[0, 4, 8]] = [0.01, 0.04, 0.01]  # crop, mirror, crop of the same face
    flat = smile_log_score(values, np.zeros(12), smooth_frames=9, yaw_gain=0.0)
    logit = np.log(np.array([0.01, 0.04]) / (1 - np.array([0.01, 0.04])))
    assert flat[4] == pytest.approx(np.mean(logit[[0, 1, 0]]))
    turned = smile_log_score(values, np.full(12, -40.0), smooth_frames=9, yaw_gain=0.03)
    assert turned[4] - flat[4] == pytest.approx(1.2)  # 40 degrees x 0.03


def test_unmeasured_present_face_gets_the_persons_rate_or_nothing():
    values = np.full(100, np.nan)
    values[:20:4] = 0.3  # smiling while measured, then a long profile stretch
    score = smile_log_score(values, np.zeros(100), smooth_frames=1, yaw_gain=0.0)
    present = np.ones(100, bool)
    present[95:] = False
    kw = dict(
        threshold=0.02,
        log_scale=0.5,
        baseline=-5.5,
        prior_baseline=-5.5,
        relative=0.0,
        hold_frames=10,
    )
    filled = smile_probability_series(score, present, fill_with_rate=True, **kw)
    empty = smile_probability_series(score, present, fill_with_rate=False, **kw)
    assert np.all(filled[40:95] > 0.9) and np.all(np.isnan(empty[40:95]))
    assert np.all(np.isnan(filled[95:]))


def test_looks_towards_is_signed_by_the_others_side():
    yaw = np.array([-30.0, -30.0, 30.0])  # yaw > 0 turns towards image left
    own = np.array([100.0, 500.0, 500.0])
    other = np.array([400.0, 200.0, 200.0])
    np.testing.assert_allclose(looks_towards(yaw, own, other), [30.0, -30.0, 30.0])


def test_elevation_is_up_positive_whichever_side_the_other_is_on():
    # image y grows downwards: a face 100 px up and 100 px to either side is 45 deg up
    np.testing.assert_allclose(
        elevation_to(np.array([100.0, -100.0, 100.0, 0.0]), np.array([-100.0, -100.0, 0.0, 50.0])),
        [45.0, 45.0, 0.0, -90.0],
    )


def test_a_look_well_below_the_persons_usual_look_is_turned_down():
    # 60 looks at the face read -12 deg against the line to it (this person's and camera's
    # own offset), 20 read 35 deg lower (a toy held under the face): only those are turned down.
    rng = np.random.default_rng(0)
    d = np.concatenate([-12.0 + rng.normal(0.0, 2.0, 60), np.full(20, -47.0), [np.nan]])
    looks = np.full(d.size, 0.9)
    factor = below_usual(d, looks, margin_deg=20.0)
    assert (factor[:60] > 0.99).all() and (factor[60:80] < 0.01).all() and factor[80] == 1.0
    # The same looks with another offset (a camera higher up): the same answer.
    np.testing.assert_allclose(below_usual(d + 25.0, looks, margin_deg=20.0), factor)
    # Off, or too few looks to know the usual one: nothing changes.
    assert (below_usual(d, looks, margin_deg=0.0) == 1.0).all()
    assert (below_usual(d[:20], looks[:20], margin_deg=20.0, min_frames=25) == 1.0).all()


def test_a_face_much_wider_than_usual_is_not_looking_at_someone_beside_the_camera():
    # 60 frames turned to the side (boxes 40-44 px wide), 20 turned to the camera (60 px), one
    # frame with no box, and 10 held boxes that were not detected (they do not set the median).
    rng = np.random.default_rng(0)
    w = np.concatenate(
        [42.0 + rng.uniform(-2.0, 2.0, 60), np.full(20, 60.0), [np.nan], [90.0] * 10]
    )
    detected = np.concatenate([np.ones(81), np.zeros(10)])
    factor = wider_than_usual(w, detected, ratio=1.2)
    assert (factor[:60] > 0.99).all() and (factor[60:80] < 0.01).all() and factor[80] == 1.0
    # Relative to the person: the same turns of a face twice the size (nearer) read the same.
    np.testing.assert_allclose(wider_than_usual(2.0 * w, detected, ratio=1.2), factor)
    # Off, or too few detected frames to know the usual width: nothing changes.
    assert (wider_than_usual(w, detected, ratio=0.0) == 1.0).all()
    assert (wider_than_usual(w[:20], detected[:20], ratio=1.2, min_frames=25) == 1.0).all()


def test_shared_depth_keeps_image_positions_and_equalises_depth():
    a = np.array([[0.2, 0.1, 1.0]])
    b = np.array([[-0.6, 0.3, 3.0]])
    a2, b2 = shared_depth(a, b)
    assert a2[0, 2] == b2[0, 2] == pytest.approx(2.0)
    np.testing.assert_allclose(a2[0, :2] / a2[0, 2], a[0, :2] / a[0, 2])
    np.testing.assert_allclose(b2[0, :2] / b2[0, 2], b[0, :2] / b[0, 2])


def test_size_weight_keeps_a_track_off_a_smaller_face_nearby():
    big, small = [100, 100, 180, 180], [170, 130, 210, 170]
    for weight, expect_new in ((0.5, False), (3.0, True)):
        tracker = FaceTracker(gate=1.5, max_lost_s=2.0, size_weight=weight)
        first = tracker.update(0.0, np.array([big]))
        # The big face is hidden; only the small one, next to it, is detected.
        second = tracker.update(0.1, np.array([small]))
        assert (second[0] != first[0]) == expect_new


@pytest.fixture(scope="module")
def astronaut():
    import skimage.data

    frame = np.full((480, 640, 3), 90, np.uint8)
    face = skimage.data.astronaut()[10:230, 130:320]
    frame[150 : 150 + face.shape[0], 300 : 300 + face.shape[1]] = face
    return frame


def test_region_detection_finds_the_face_the_whole_frame_detector_finds(astronaut):
    whole = detect_faces(astronaut, width=256, threshold=0.3)
    assert len(whole) == 1
    box = whole.boxes[0]
    # Look around a box shifted by a third of the face (it moved since the last frame), and
    # around an empty corner.
    shifted = box + np.array([30, -20, 30, -20])
    empty = np.array([0, 0, 60, 60])
    found = detect_in_regions(
        astronaut, np.stack([shifted, empty]), margin=3.0, width=96, threshold=0.15
    )
    assert len(found) == 2 and len(found[0]) == 1 and len(found[1]) == 0
    centre = lambda b: 0.5 * (b[:2] + b[2:])  # noqa: E731
    assert np.linalg.norm(centre(found[0].boxes[0]) - centre(box)) < 0.15 * (box[2] - box[0])


def test_mirrored_crop_gives_mirrored_pose_and_the_same_smile(astronaut):
    # A horizontal shear makes the face look a little sideways.
    turned = cv2.warpAffine(astronaut, np.float32([[1, 0.15, -60], [0, 1, 0]]), (640, 480))
    det = detect_faces(turned, width=256, threshold=0.3)
    landmarker = Landmarker()
    a = landmarker.measure(turned, det.boxes[0], det.landmarks[0, :2])
    b = landmarker.measure(turned, det.boxes[0], det.landmarks[0, :2], mirror=True)
    assert a is not None and b is not None
    # Flipping the image and the answer back gives the same conventions: same-sign yaw.
    assert abs(a.yaw - b.yaw) < 4.0 and abs(a.roll - b.roll) < 4.0
    assert abs(a.smile - b.smile) < 0.1
    assert 0.3 < a.mouth_width < 0.6 and -1 < a.iris_x < 1


def test_mesh_geometry_mouth_corners_lift_and_widen():
    rng = np.random.default_rng(0)
    points = rng.uniform(0.4, 0.6, size=(478, 2))
    points[234], points[454] = (0.2, 0.5), (0.8, 0.5)  # cheeks: face width 0.6
    points[10], points[152] = (0.5, 0.1), (0.5, 0.9)  # forehead, chin: face height 0.8
    points[33], points[263] = (0.3, 0.35), (0.7, 0.35)  # eye line level
    points[13], points[14] = (0.5, 0.7), (0.5, 0.72)  # lips centre y 0.71
    points[61], points[291] = (0.38, 0.71), (0.62, 0.71)
    neutral = mesh_geometry(points)
    points[61], points[291] = (0.35, 0.67), (0.65, 0.67)  # wider, corners 0.04 up
    smiling = mesh_geometry(points)
    assert neutral["mouth_width"] == pytest.approx(0.24 / 0.6)
    assert neutral["corner_lift"] == pytest.approx(0.0, abs=1e-9)
    assert smiling["mouth_width"] == pytest.approx(0.30 / 0.6)
    assert smiling["corner_lift"] == pytest.approx(0.04 / 0.8)


def test_shrink_matches_area_averaging(astronaut):
    from vigcv.vision.detect import shrink

    fast = shrink(astronaut, 256, 192).astype(float)
    area = cv2.resize(astronaut, (256, 192), interpolation=cv2.INTER_AREA).astype(float)
    assert fast.shape == area.shape == (192, 256, 3)
    assert np.abs(fast - area).mean() < 2.0  # grey levels, 0..255
    assert shrink(astronaut, 700, 500).shape == (500, 700, 3)


def _person(cx: np.ndarray, size: np.ndarray, tag: float) -> dict[str, np.ndarray]:
    return {
        "x": cx - size / 2,
        "w": size.copy(),
        "h": size.copy(),
        "visible": np.ones(cx.size),
        "smile": np.full(cx.size, tag),
    }


def test_unswap_undoes_a_swap_but_leaves_a_real_crossing():
    from vigcv.vision.extract import unswap_identities

    n = 100
    # Truth: parent (big face) at x=200, child (small face) at x=450; the child crosses to the
    # parent's left in frames 20-35 (a real crossing: her face stays small).
    pcx, ccx = np.full(n, 200.0), np.full(n, 450.0)
    ccx[20:35] = 120.0
    psize, csize = np.full(n, 80.0), np.full(n, 45.0)
    parent, child = _person(pcx, psize, 1.0), _person(ccx, csize, 2.0)
    # The tracker swapped the two people in frames 60-80.
    for key in parent:
        a = parent[key][60:80].copy()
        parent[key][60:80] = child[key][60:80]
        child[key][60:80] = a
    swapped = unswap_identities(parent, child, min_frames=5, gap_frames=5)
    assert swapped == 20
    assert np.all(parent["smile"] == 1.0) and np.all(child["smile"] == 2.0)
    np.testing.assert_allclose(parent["x"] + parent["w"] / 2, pcx)
    np.testing.assert_allclose(child["x"] + child["w"] / 2, ccx)  # the crossing is kept


def test_the_expression_cue_decides_where_the_landmarker_could_not_measure():
    n = 40
    landmark = np.full(n, np.nan)  # the landmarker failed everywhere (a profile) ...
    landmark[:10] = 0.02  # ... except where the face was at rest
    happy = np.where(np.arange(n) >= 20, np.log(0.9 / 0.05), np.log(0.01 / 0.9))  # happy/neutral
    present = np.ones(n, bool)
    p = combine_smile(
        landmark, happy, present, happy_weight=1.0, happy_ratio=1.0, landmark_weight=0.25
    )
    assert np.all(p[20:] > 0.9) and np.all(p[:20] < 0.1)
    # Where the cue is missing the landmarker's probability stands; absent faces are NaN.
    happy[:5] = np.nan
    present[-3:] = False
    p = combine_smile(
        landmark, happy, present, happy_weight=1.0, happy_ratio=1.0, landmark_weight=0.25
    )
    np.testing.assert_allclose(p[:5], 0.02)
    assert np.isnan(p[-3:]).all()
    # A confident landmarker smile lifts a doubtful cue over 0.5 (and the other way round).
    both = combine_smile(
        np.array([0.999, 0.001]),
        np.full(2, np.log(0.3 / 0.4)),
        np.ones(2, bool),
        happy_weight=1.0,
        happy_ratio=1.0,
        landmark_weight=0.25,
    )
    assert both[0] > 0.5 > both[1]
    # Weight 0: the landmarker alone, unchanged.
    same = combine_smile(
        landmark, happy, present, happy_weight=0.0, happy_ratio=1.0, landmark_weight=0.25
    )
    np.testing.assert_array_equal(same, landmark)


def test_the_cue_weighs_happy_against_neutral_only():
    # A mouth opened to talk raises the classifier's surprise or fear, not its neutral: the
    # happy-to-neutral ratio, and so the cue, stays where it was.
    happy = np.array([0.2, 0.2])
    neutral = np.array([0.6, 0.6])
    score = happy_score(happy, neutral, smooth_frames=1)
    np.testing.assert_allclose(score, np.log(0.2 / 0.6))
    smoothed = happy_score(np.array([0.9, np.nan, 0.1]), np.full(3, 0.3), smooth_frames=3)
    np.testing.assert_allclose(smoothed[1], 0.5 * (np.log(3.0) + np.log(1 / 3)), atol=1e-12)


@pytest.mark.parametrize("combine", ["min", "product"])
def test_unknown_gaze_is_not_mutual_and_an_infinite_one_raises(combine):
    p_ab = np.array([0.9, np.nan, 0.9, np.nan])
    p_ba = np.array([0.9, 0.9, np.nan, np.nan])
    mutual = mutual_gaze_probability(p_ab, p_ba, combine=combine)
    assert mutual[0] > 0.5 and np.isnan(mutual[1:]).all()
    assert not (mutual >= 0.5)[1:].any()
    with pytest.raises(NonFiniteError, match="looks-at probability"):
        mutual_gaze_probability(np.array([np.inf]), np.array([0.9]), combine=combine)
    with pytest.raises(NonFiniteError, match="outside"):
        mutual_gaze_probability(np.array([0.9]), np.array([1.2]), combine=combine)


def test_an_infinite_gaze_angle_or_smile_raises_instead_of_deciding():
    angles = np.array([10.0, np.nan, 120.0])
    p = looks_at_probability(angles, threshold_deg=75.0, scale_deg=8.0)
    assert p[0] > 0.99 and np.isnan(p[1]) and p[2] < 0.01
    with pytest.raises(NonFiniteError, match="gaze angle"):
        looks_at_probability(np.array([np.inf]), threshold_deg=75.0, scale_deg=8.0)
    with pytest.raises(NonFiniteError, match="mouthSmile"):
        smile_log_score(np.array([0.2, np.inf]), np.zeros(2), smooth_frames=1, yaw_gain=0.0)
    with pytest.raises(NonFiniteError, match="landmark smile"):
        combine_smile(
            np.array([np.inf]),
            np.array([0.0]),
            np.array([True]),
            happy_weight=1.0,
            happy_ratio=1.0,
            landmark_weight=1.0,
        )


class _FakeMesh:
    """Stands in for the face-mesh session: no points, a chosen presence logit."""

    def __init__(self, logit: float) -> None:
        self.logit = logit

    def run(self, outputs, feeds):
        return [np.zeros((1, 478 * 3), np.float32), np.array([[self.logit]], np.float32), None]


def test_face_presence_is_a_checked_probability():
    landmarker = object.__new__(Landmarker)
    landmarker._mesh_in = "input"
    crop = np.zeros((256, 256, 3), np.uint8)
    landmarker._mesh = _FakeMesh(-1000.0)  # a very sure "no face": 0, not an OverflowError
    assert landmarker.mesh(crop)[1] == 0.0
    landmarker._mesh = _FakeMesh(3.0)
    assert landmarker.mesh(crop)[1] == pytest.approx(1 / (1 + np.exp(-3.0)))
    landmarker._mesh = _FakeMesh(float("nan"))  # would pass `presence < min_presence` as a face
    with pytest.raises(NonFiniteError, match="presence"):
        landmarker.mesh(crop)


def _relative_probability(values: np.ndarray, coef: list[float]) -> np.ndarray:
    """The relative model's probability for one synthetic person with no classifier cue."""
    score = smile_log_score(values, np.zeros(values.size), smooth_frames=9, yaw_gain=0.0)
    level, frames = person_neutral(score, quantile=0.5)
    rel = hold(relative_to_neutral(score, level, frames, prior=-5.0, prior_frames=0.0), 50)
    return calibrated_smile(
        rel, np.full(values.size, np.nan), np.ones(values.size, bool), coef=coef
    )


def test_relative_smile_ignores_a_high_resting_smile_and_finds_smiles_above_it():
    # A mother whose neutral mouth reads 0.6 on mouthSmile (an absolute reading says smiling
    # throughout): relative to her own median she is not smiling at rest, and her smiles
    # (0.9, 30% of the session) are found.
    coef = [2.0, 0.0, 0.0, 0.0, -2.0]  # p = 0.5 at one logit unit above the neutral level
    values = np.full(1000, np.nan)
    idx = np.arange(0, 1000, 4)
    smiling = (idx % 250) < 75
    values[idx] = np.where(smiling, 0.9, 0.6)
    p = _relative_probability(values, coef)
    frame_smiling = (np.arange(1000) % 250) < 75
    inner = (np.arange(1000) % 250 >= 10) & (np.arange(1000) % 250 < 65)
    rest = (np.arange(1000) % 250 >= 90) & (np.arange(1000) % 250 < 240)
    assert np.all(p[inner] > 0.8)
    assert np.all(p[rest] < 0.2)
    assert 0.2 < np.mean(p >= 0.5) < 0.4  # about the 30% she smiles, not ~100%
    assert np.mean(p[frame_smiling] >= 0.5) > 0.8
    # The same face read absolutely (no person baseline) is "smiling" everywhere.
    score = smile_log_score(values, np.zeros(1000), smooth_frames=9, yaw_gain=0.0)
    absolute = hold(relative_to_neutral(score, 0.0, 0, prior=-2.0, prior_frames=np.inf), 50)
    assert np.mean(absolute > 1.0) > 0.95


def test_neutral_prior_weight_moves_between_person_and_prior():
    score = np.array([1.0, 2.0])
    own = relative_to_neutral(score, 1.0, 100, prior=-3.0, prior_frames=0.0)
    assert own == pytest.approx([0.0, 1.0])
    half = relative_to_neutral(score, 1.0, 100, prior=-3.0, prior_frames=100.0)
    assert half == pytest.approx([2.0, 3.0])  # level -1: halfway between 1 and -3
    none = relative_to_neutral(score, 1.0, 100, prior=-3.0, prior_frames=np.inf)
    assert none == pytest.approx([4.0, 5.0])


def test_calibrated_smile_is_a_probability_and_nan_only_where_nothing_was_measured():
    s = np.array([np.nan, 50.0, -50.0, np.nan, 0.0])
    h = np.array([np.nan, np.nan, 3.0, 1e6, 0.0])
    present = np.array([True, True, True, True, False])
    p = calibrated_smile(s, h, present, coef=[3.0, -1.0, 1.0, 0.5, 0.2])
    assert np.isnan(p[0]) and np.isnan(p[4])
    assert np.all((p[1:4] >= 0.0) & (p[1:4] <= 1.0))
    assert p[1] > 0.99 and p[2] < 0.01 and p[3] > 0.99


def test_logistic_calibration_on_a_known_mixture_is_calibrated():
    # Two kinds of frames: smiles with the cue ~ N(1.5, 1), non-smiles ~ N(-1, 1), 35% smiles.
    # The true probability is logistic in the cue; the fit recovers it and its ECE is small on
    # fresh frames from the same mixture, where a fixed uncalibrated mapping is not.
    rng = np.random.default_rng(3)

    def draw(n):
        y = (rng.random(n) < 0.35).astype(float)
        cue = np.where(y == 1, rng.normal(1.5, 1.0, n), rng.normal(-1.0, 1.0, n))
        return cue, y

    cue, y = draw(4000)
    x = smile_design(cue, np.full(cue.size, np.nan))
    coef = fit_logistic(x, y, l2=1e-3)
    cue2, y2 = draw(20000)
    x2 = np.hstack([smile_design(cue2, np.full(cue2.size, np.nan)), np.ones((cue2.size, 1))])
    p = 1.0 / (1.0 + np.exp(-(x2 @ coef)))
    assert np.all((p >= 0) & (p <= 1))
    assert expected_calibration_error(p, y2) < 0.02
    # The true slope is 2.5 (difference of means / variance) and the intercept
    # log(0.35 / 0.65) - (1.5**2 - 1) / 2.
    assert coef[0] == pytest.approx(2.5, abs=0.25)
    assert coef[-1] + coef[3] == pytest.approx(np.log(0.35 / 0.65) - 0.625, abs=0.25)
    uncalibrated = 1.0 / (1.0 + np.exp(-(4.0 * cue2 + 2.0)))
    assert expected_calibration_error(uncalibrated, y2) > 0.1


def test_expected_calibration_error_known_values():
    p = np.array([0.05, 0.05, 0.95, 0.95, np.nan])
    y = np.array([0.0, 0.0, 1.0, 1.0, 1.0])
    assert expected_calibration_error(p, y) == pytest.approx(0.05)
    assert expected_calibration_error(np.full(4, 0.5), np.array([1.0, 1, 1, 1])) == 0.5
    assert np.isnan(expected_calibration_error(np.full(2, np.nan), np.ones(2)))


def test_reliability_bins_give_each_bins_mean_probability_and_coded_share():
    p = np.array([0.05, 0.15, 0.12, 0.95, 0.91, np.nan, 0.5])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 1.0, np.nan])
    table = reliability_bins(p, y)
    assert table["lo"].tolist() == pytest.approx([0.0, 0.1, 0.9])
    assert table["n"].tolist() == [1, 2, 2]  # the NaN probability and the NaN code left out
    assert table["mean_p"].tolist() == pytest.approx([0.05, 0.135, 0.93])
    assert table["rate"].tolist() == pytest.approx([0.0, 0.5, 1.0])
    assert reliability_bins(np.array([np.nan]), np.array([1.0])).empty


def test_the_reliability_figure_draws_a_panel_per_signal(tmp_path):
    from vigcv.plots import reliability_figure

    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 400)
    y = (rng.uniform(0, 1, 400) < p).astype(float)  # calibrated by construction
    fig = reliability_figure({"parent smile": {"A": (p, y)}, "child smile": {"A": (p, 1 - y)}})
    assert len(fig.axes) == 2
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("ECE 0.0" in t for t in legend)  # near the diagonal
    fig.savefig(tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_a_person_is_split_at_their_own_gap_within_bounds():
    rng = np.random.default_rng(0)
    # Two groups of angles: at the other person (~20 deg) and elsewhere (~80 deg).
    angles = np.r_[rng.normal(20, 4, 60), rng.normal(80, 5, 140), [np.nan] * 5]
    cut = session_threshold(angles, low=10.0, high=100.0, fallback=60.0)
    assert 35.0 < cut < 65.0
    # The bounds hold the split where a session's groups sit somewhere odd ...
    assert session_threshold(angles, low=55.0, high=75.0, fallback=60.0) == 55.0
    assert session_threshold(angles + 60.0, low=40.0, high=75.0, fallback=60.0) == 75.0
    # ... and too few measured frames, or no spread, give the fixed threshold.
    assert session_threshold(angles[:9], low=10.0, high=100.0, fallback=60.0) == 60.0
    assert session_threshold(np.full(30, 42.0), low=10.0, high=100.0, fallback=60.0) == 60.0
    assert session_threshold(np.full(30, np.nan), low=10.0, high=100.0, fallback=60.0) == 60.0


def test_a_session_without_an_isodata_cut_gets_the_fixed_threshold(monkeypatch):
    # With most values equal and a few far off (13 frames at 8.41..., two at 47.6 and 48.7, the
    # exact floats) skimage's threshold_isodata finds no cut and raises IndexError; whether a
    # given set of floats does may differ between CPUs, so the failure is made here.
    import skimage.filters

    def no_cut(values):
        raise IndexError("index 0 is out of bounds for axis 0 with size 0")

    monkeypatch.setattr(skimage.filters, "threshold_isodata", no_cut)
    angles = np.r_[np.full(13, 20.0), 80.0, 85.0]
    assert session_threshold(angles, low=0.0, high=100.0, fallback=60.0) == 60.0


def test_a_mixture_cut_follows_the_groups_spreads():
    # A tight group of looks elsewhere (~20 deg) and a wide one of looks at the other (~55 deg,
    # spread 15): isodata cuts midway between the means, the mixture near the tight group's edge,
    # keeping more of the wide group; "lower" takes the lower of the two.
    rng = np.random.default_rng(1)
    angles = np.r_[rng.normal(20, 3, 150), rng.normal(55, 15, 80)]
    midway = session_threshold(angles, low=0.0, high=90.0, fallback=30.0)
    mixture = mixture_cut(angles)
    assert 25.0 < mixture < midway - 3.0  # about 2.5 sd above the tight group
    assert (angles[150:] > mixture).mean() > (angles[150:] > midway).mean()
    lower = session_threshold(angles, low=0.0, high=90.0, fallback=30.0, method="lower")
    assert lower == pytest.approx(min(midway, mixture))
    assert session_threshold(angles, low=0.0, high=90.0, fallback=30.0, method="mixture") == (
        pytest.approx(mixture)
    )
    # Nothing to split: no cut (NaN), and the fixed threshold from session_threshold.
    assert np.isnan(mixture_cut(np.full(20, 42.0)))
    assert session_threshold(np.full(20, 42.0), low=0.0, high=90.0, fallback=30.0) == 30.0


def test_a_rolling_split_gives_each_stretch_its_own_cut():
    # 60 s at 10 fps: first a game of looks (turns of 10 and 70 deg), then a stretch of looks at
    # a toy near the other person (40 deg) and at her (75 deg). Each stretch gets its own cut,
    # within the bounds; a series shorter than the window gets one cut throughout.
    rng = np.random.default_rng(2)
    first = np.where(np.arange(300) % 40 < 20, 10.0, 70.0) + rng.normal(0, 2, 300)
    second = np.where(np.arange(300) % 40 < 20, 40.0, 75.0) + rng.normal(0, 2, 300)
    values = np.r_[first, second]
    values[::7] = np.nan  # frames not measured are left out of each split
    cut = rolling_split(values, window=200, step=10, low=30.0, high=70.0, fallback=30.0)
    assert cut.shape == values.shape
    assert 30.0 <= cut[100] < 45.0  # between 10 and 70, kept at or above 30
    assert 52.0 < cut[500] < 63.0  # between 40 and 75
    assert np.all((cut >= 30.0) & (cut <= 70.0))
    whole = rolling_split(first, window=1000, step=10, low=0.0, high=90.0, fallback=30.0)
    assert np.ptp(whole) == 0.0
    assert whole[0] == session_threshold(first, low=0.0, high=90.0, fallback=30.0)
    assert rolling_split(np.zeros(0), window=10, step=1, low=0, high=1, fallback=0).size == 0
