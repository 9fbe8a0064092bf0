"""Each person's own cut of the "towards" angle (``[vision] looks_towards_split``, not shipped).

One scan of a synthetic session, its columns assembled with and without the split
(``features_from_scan``), scored against the script on steady frames as in
tests/vision/test_synth_session.py. Measured on seed 0 (docs/benchmarks.md): in ``family_visit2``
the child's looks at her parent read 27-81 deg (10th-90th percentile) beside a tight group of
looks elsewhere; isodata's cut midway between the two means drops a quarter of her looks (mutual
gaze F1 0.872 -> 0.623), the mixture's cut and the lower of the two keep them (0.872).
"""

from __future__ import annotations

import copy

import pytest
from test_synth_session import (  # tests/vision is on sys.path (no __init__.py)
    gaze_figures,
    scan_session,
)

from vigcv.config import load_config
from vigcv.vision.extract import features_from_scan


@pytest.fixture(scope="module")
def visit():
    session, config, rate, scan = scan_session("family_visit2")

    def figures(**settings):  # type: ignore[no-untyped-def]
        cfg = copy.deepcopy(config)
        cfg["vision"].update(settings)
        features = features_from_scan(scan, config=cfg, rate=rate, name="family_visit2")
        return gaze_figures(features.dyad, session.events, session.script.idle_gaze)["f1"]

    return figures


def test_the_split_is_off_by_default():
    assert load_config()["vision"]["looks_towards_split"] == "none"


def test_a_midway_cut_loses_a_wide_group_of_looks_and_the_lower_cut_keeps_them(visit):
    fixed = visit()
    midway = visit(looks_towards_split="person", looks_towards_split_method="isodata")
    lower = visit(looks_towards_split="person", looks_towards_split_method="lower")
    print(fixed.round(3).to_dict(), midway.round(3).to_dict(), lower.round(3).to_dict())
    assert fixed["mutual_gaze"] >= 0.8
    assert midway["child_looks_at_parent"] < fixed["child_looks_at_parent"] - 0.1
    assert midway["mutual_gaze"] < fixed["mutual_gaze"] - 0.1
    for signal in ("parent_looks_at_child", "child_looks_at_parent", "mutual_gaze"):
        assert lower[signal] >= fixed[signal] - 0.02, signal
    # The child's cut alone leaves the parent's looks exactly as they were.
    child = visit(looks_towards_split="child", looks_towards_split_method="isodata")
    assert child["parent_looks_at_child"] == fixed["parent_looks_at_child"]
    assert child["child_looks_at_parent"] == midway["child_looks_at_parent"]
