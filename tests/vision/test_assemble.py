"""The array stage (scan -> FrameFeatures) on constructed scans with known answers."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from vigcv.config import load_config
from vigcv.vision.extract import features_from_scan
from vigcv.vision.scan import MEASURE_FIELDS, ScanResult

FPS = 10.0


def _scan(*, child_missing: slice, parent_missing: slice, n: int = 100) -> ScanResult:
    """Parent (large face, image left) turned 40 deg towards the child (small face, image
    right), who is turned 40 deg back; each face is missing in the given frames."""
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
            "smile": 0.01,
        }
        for key, value in values.items():
            rows.setdefault(key, []).append(float(value))

    for i in range(n):
        if i not in range(n)[parent_missing]:
            add(i, 0, 160.0, 90.0, -40.0)
        if i not in range(n)[child_missing]:
            add(i, 1, 460.0, 60.0, 40.0)
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
    assert np.all(held["parent_looks_at_child"][40:60] > 0.9)
    assert held["child_visible"][45:55].max() == 0.0
    assert held["child_looks_at_parent"][85:95].isna().all()
    assert held["mutual_gaze"][45:55].isna().all()  # the child's own gaze is unknown there
    assert np.all(held["mutual_gaze"][:30] > 0.9)
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
