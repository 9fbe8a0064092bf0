"""frame_scores and read_labels against hand computations."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from vigcv.evaluation import frame_scores, read_labels, values_at


def test_read_labels_turns_nulls_into_nan(tmp_path):
    path = tmp_path / "clip.json"
    frames = [
        {
            "t": 0.5,
            "parent_visible": True,
            "child_visible": False,
            "mutual_gaze": None,
            "parent_smile": 1,
        },
        {
            "t": 0.0,
            "parent_visible": True,
            "child_visible": True,
            "mutual_gaze": 1,
            "parent_smile": 0,
        },
    ]
    path.write_text(json.dumps({"clip": "x.mp4", "step_s": 0.5, "frames": frames}))
    labels = read_labels(path)
    assert labels["t"].tolist() == [0.0, 0.5]
    assert labels["mutual_gaze"].iloc[0] == 1.0 and math.isnan(labels["mutual_gaze"].iloc[1])
    assert labels["child_visible"].tolist() == [1.0, 0.0]
    assert labels["child_smile"].isna().all()  # absent signal
    assert labels.attrs["clip"] == "x.mp4"


def test_values_at_uses_nearest_frame_within_tolerance():
    timeline = pd.DataFrame({"t": [0.0, 0.1, 0.9], "s": [0.2, 0.8, 0.6]})
    got = values_at(timeline, np.array([0.04, 0.06, 0.5, 1.2, 1.3]), "s", tolerance_s=0.3)
    np.testing.assert_allclose(got[:2], [0.2, 0.8])
    assert math.isnan(got[2])  # 0.4 s from the nearest frame
    assert got[3] == 0.6 and math.isnan(got[4])


def test_frame_scores_match_hand_count():
    # System every 0.1 s; labels every 0.5 s. Hand count for "mutual_gaze":
    # t=0.0 sys 0.9 lab 1 -> TP; t=0.5 sys 0.5 lab 0 -> FP (>= 0.5 is yes);
    # t=1.0 sys 0.2 lab 1 -> FN;
    # t=1.5 sys 0.7 lab null -> skipped; t=2.0 sys NaN lab 1 -> FN; t=2.5 no frame within 0.25 s,
    # lab 0 -> TN; t=3.0 sys 0.6 lab 1 -> TP (nearest frame 2.9).
    t = np.round(np.arange(0.0, 2.05, 0.1), 2)
    sys_val = np.full(t.size, 0.0)
    sys_val[t == 0.0] = 0.9
    sys_val[t == 0.5] = 0.5
    sys_val[t == 1.0] = 0.2
    sys_val[t == 1.5] = 0.7
    sys_val[t == 2.0] = np.nan
    timeline = pd.DataFrame({"t": np.append(t, 2.9), "mutual_gaze": np.append(sys_val, 0.6)})
    labels = pd.DataFrame(
        {"t": [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0], "mutual_gaze": [1, 0, 1, np.nan, 1, 0, 1]}
    )
    scores = frame_scores(timeline, labels, signals=("mutual_gaze",))
    row = scores.loc["mutual_gaze"]
    assert (row.tp, row.fp, row.fn, row.tn) == (2, 1, 2, 1)
    assert row.n == 6 and row.support == 4
    assert row.precision == pytest.approx(2 / 3)
    assert row.recall == pytest.approx(0.5)
    assert row.f1 == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))
    assert row.f1_all_yes == pytest.approx(2 * 4 / (2 * 4 + 2))
    # What F1 skips: t=1.5, left null by the coders, where the system said yes (0.7).
    assert (row.uncoded, row.uncoded_yes) == (1, 1)
    unknown = timeline.assign(
        mutual_gaze=np.where(timeline["t"] == 1.5, np.nan, timeline["mutual_gaze"])
    )
    honest = frame_scores(unknown, labels, signals=("mutual_gaze",)).loc["mutual_gaze"]
    assert (honest.uncoded, honest.uncoded_yes) == (1, 0)
    assert (honest.tp, honest.fp, honest.fn, honest.tn) == (2, 1, 2, 1)  # F1 cannot tell them apart


def test_frame_scores_threshold_and_tolerance_are_parameters():
    timeline = pd.DataFrame({"t": [0.0, 1.0], "child_smile": [0.4, 0.4]})
    labels = pd.DataFrame({"t": [0.0, 1.2], "child_smile": [1, 1]})
    loose = frame_scores(timeline, labels, signals=("child_smile",), threshold=0.3)
    assert loose.loc["child_smile", "tp"] == 2
    strict = frame_scores(
        timeline, labels, signals=("child_smile",), threshold=0.3, tolerance_s=0.1
    )
    assert strict.loc["child_smile", "tp"] == 1
    assert frame_scores(timeline, labels, signals=("child_smile",)).loc["child_smile", "tp"] == 0
