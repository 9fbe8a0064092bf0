"""The pieces of the blur, on small hand-made data: face tracks over time, the blur itself,
whom --keep names, and a face the detector finds held over the frames between its runs."""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np
import pandas as pd
import pytest

from vigcv.config import load_config
from vigcv.errors import ConfigError, VigcvError
from vigcv.privacy.blur import BlurPlan, BlurSettings, FaceTracks, FrameBlurrer, blur_boxes, iou
from vigcv.privacy.consent import resolve_keep, split_keep


def _sharpness(rgb: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


def test_tracks_interpolate_between_sightings_and_hold_over_a_miss() -> None:
    table = pd.DataFrame(
        {
            "t": [0.0, 0.1, 0.2, 0.9, 0.0],
            "person": [1, 1, 1, 1, 2],
            "x": [10.0, 20.0, np.nan, 100.0, 300.0],  # 0.2: not found (NaN box)
            "y": [0.0, 0.0, np.nan, 0.0, 0.0],
            "w": [10.0, 10.0, np.nan, 10.0, 10.0],
            "h": [10.0, 10.0, np.nan, 10.0, 10.0],
        }
    )
    tracks = FaceTracks(table, hold_s=0.3)
    assert tracks.people == [1, 2]
    np.testing.assert_allclose(tracks.at(0.05)[1], [15, 0, 25, 10])  # interpolated
    np.testing.assert_allclose(tracks.at(0.35)[1], [20, 0, 30, 10])  # held after 0.1 (0.25 s)
    assert 1 not in tracks.at(0.5)  # 0.1 -> 0.9 is too long a gap to bridge, too far from both
    np.testing.assert_allclose(tracks.at(0.7)[1], [100, 0, 110, 10])  # held before it returns
    assert set(tracks.at(0.2)) == {1, 2}
    assert 2 not in tracks.at(0.31)


def test_the_blur_leaves_no_detail_and_stays_inside_its_box() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    before = image.copy()
    blur_boxes(image, [np.array([40.0, 30.0, 80.0, 80.0])], margin=0.25, cells=8)
    face = (slice(30, 80), slice(40, 80))
    assert _sharpness(image[face]) < 0.01 * _sharpness(before[face])
    # the enlarged box is x 30..90, y 17.5..92.5: nothing outside it changes
    outside = np.ones(image.shape[:2], bool)
    outside[17:93, 30:90] = False
    assert np.array_equal(image[outside], before[outside])


def test_iou() -> None:
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(iou(a, b), [[1.0, 1 / 3, 0.0]])


PEOPLE = pd.DataFrame(
    {
        "person": [0, 1, 2, 3],
        "name": ["Mum", "Ellie", "Sam", ""],
        "role_guess": ["adult", "child", "child", "adult"],
        "pair_role": ["parent", "child", "", ""],
        "parent_figure": [True, False, False, False],
        "index_child": [False, True, False, False],
        "may_show": [True, True, False, False],
    }
)


def test_keep_takes_roles_names_and_ids() -> None:
    assert resolve_keep(PEOPLE, ["parent", "child"]) == {0, 1}
    assert resolve_keep(PEOPLE, ["sam"]) == {2}  # names in any case
    assert resolve_keep(PEOPLE, ["3", "person-2"]) == {2, 3}
    assert resolve_keep(PEOPLE, []) == frozenset()
    assert split_keep("parent, Sam,,") == ["parent", "Sam"]
    assert split_keep(None) is None


def test_keep_refuses_someone_who_is_not_there() -> None:
    with pytest.raises(VigcvError, match=r"visit3: no one called 'Dad'.*0 \(Mum, parent\)"):
        resolve_keep(PEOPLE, ["parent", "Dad"], where="visit3")
    with pytest.raises(VigcvError, match="no one called '7'"):
        resolve_keep(PEOPLE, ["7"])
    with pytest.raises(VigcvError, match="no one called 'adult'"):
        resolve_keep(PEOPLE, ["adult"])  # guesses are not accepted: a bystander is an adult too


def test_settings_come_from_export_and_are_checked(tmp_path) -> None:
    assert (
        BlurSettings.from_config(None).detect_every == load_config()["export"]["blur_detect_every"]
    )
    bad = tmp_path / "bad.toml"
    bad.write_text("[export]\nblur_match_iou = 1.5\n")
    with pytest.raises(ConfigError, match="blur_match_iou"):
        load_config(bad)
    with pytest.raises(ConfigError, match="blur_margin"):
        BlurSettings.from_config({"export": {"blur_margin": -0.1}})


class _Plan(BlurPlan):
    """A plan whose "detector" finds a face only in the frames listed (no model run)."""

    found: ClassVar[dict[float, np.ndarray]] = {}

    def unkept_detections(self, rgb: np.ndarray, t: float, *, scale: float) -> np.ndarray:
        return self.found.get(round(t, 2), np.zeros((0, 4)))


def test_a_detected_face_covers_the_frames_around_its_run() -> None:
    settings = BlurSettings(detect_every=3, hold_s=0.1, margin=0.0)
    plan = _Plan(tracks=None, keep=frozenset(), settings=settings)
    _Plan.found = {0.12: np.array([[10.0, 10.0, 30.0, 30.0]])}  # found at the run of frame 3
    blurrer = FrameBlurrer(plan, scale=1.0)
    rng = np.random.default_rng(1)
    frames = {round(0.04 * i, 2): rng.integers(0, 255, (40, 40, 3), np.uint8) for i in range(12)}
    sharp = {t: _sharpness(f[10:30, 10:30]) for t, f in frames.items()}
    out = []
    for t, rgb in frames.items():
        out.extend(blurrer.feed(t, rgb.copy()))
    out.extend(blurrer.flush())
    assert [t for t, _, _ in out] == list(frames)  # every frame, in order
    blurred = {t for t, _, rgb in out if _sharpness(rgb[10:30, 10:30]) < 0.05 * sharp[t]}
    # frames 1, 2 (before the run: it is the next one), 3 (the run), 4..5 (held 0.1 s)
    assert blurred == {0.04, 0.08, 0.12, 0.16, 0.2}
    assert blurrer.stats.detector_runs == 5  # frames 0, 3, 6, 9 and the last (11) at the end
