"""``vigcv evaluate`` against a hand computation on a tiny made-up session."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from vigcv.cli import app
from vigcv.evaluation.moments import LabelledMoment
from vigcv.evaluation.report import (
    evaluate_out,
    grid_events,
    match_events,
    moment_scores,
    random_moment_scores,
)
from vigcv.types import Segment

MOMENTS = [(0.5, 3.5), (4.5, 5.5), (8.0, 9.0), (2.5, 4.5)]  # suggestions, rank order
LABELLED = [(0.0, 2.0, 3), (5.0, 7.0, 1), (7.5, 9.5, 2)]
# label times 0.0 .. 9.5 every 0.5 s; mutual gaze coded up to 4.5 s (null afterwards)
CODED_GAZE = [0, 1, 1, 1, 0, None, 0, 1, 1, 0] + [None] * 10


def tiny_out(root: Path) -> tuple[Path, Path]:
    """OUT/tiny with a 10 fps timeline over 0-4.9 s and four moments; labels/tiny.json."""
    out, labels = root / "out", root / "labels"
    (out / "tiny").mkdir(parents=True)
    labels.mkdir()
    t = np.round(np.arange(0.0, 5.0, 0.1), 1)
    gaze = np.full(t.size, 0.2)
    for a, b in ((0.4, 1.6), (2.9, 3.1), (3.9, 4.6)):
        gaze[(t >= a - 1e-9) & (t <= b + 1e-9)] = 0.9
    pd.DataFrame({"t": t, "mutual_gaze": gaze}).to_csv(out / "tiny" / "timeline.csv", index=False)
    (out / "tiny" / "run.json").write_text(
        json.dumps({"session": "tiny", "status": "ok", "media": {"duration_s": 10.0}})
    )
    moments = [
        {"rank": i, "start": a, "end": b, "score": 1.0 - i / 10}
        for i, (a, b) in enumerate(MOMENTS, start=1)
    ]
    (out / "tiny" / "moments.json").write_text(json.dumps({"session": "tiny", "moments": moments}))
    frames = [{"t": i * 0.5, "mutual_gaze": v} for i, v in enumerate(CODED_GAZE)]
    doc = {
        "clip": "tiny.mp4",
        "step_s": 0.5,
        "frames": frames,
        "attuned_moments": [{"start": a, "end": b, "strength": s} for a, b, s in LABELLED],
    }
    (labels / "tiny.json").write_text(json.dumps(doc))
    return out, labels


def test_figures_match_a_hand_computation(tmp_path):
    out, labels = tiny_out(tmp_path)
    result = CliRunner().invoke(app, ["evaluate", str(out), "--labels", str(labels)])
    assert result.exit_code == 0, result.output
    assert "mutual_gaze" in result.output and "P@3" in result.output
    doc = json.loads((out / "evaluation.json").read_text())
    s = doc["sessions"]["tiny"]

    # Frame level. System at the 9 known label times (0.0-4.5 s, 2.5 s is null):
    #   label : 0 1 1 1 0 . 0 1 1 0      system >= 0.5 at 0.5 1.0 1.5 3.0 4.0 4.5
    #   tp = 0.5, 1.0, 1.5, 4.0 -> 4;  fp = 3.0, 4.5 -> 2;  fn = 3.5 -> 1;  tn = 0.0, 2.0 -> 2
    frame = s["frame"]["mutual_gaze"]
    assert (frame["tp"], frame["fp"], frame["fn"], frame["tn"], frame["n"]) == (4, 2, 1, 2, 9)
    assert frame["precision"] == pytest.approx(4 / 6, abs=1e-4)
    assert frame["recall"] == pytest.approx(4 / 5, abs=1e-4)
    assert frame["f1"] == pytest.approx(8 / 11, abs=1e-4)

    # Event level on the 0.5 s grid (the null at 2.5 s breaks runs):
    #   system  [0.25, 1.75], [2.75, 3.25], [3.75, 4.75];  coded [0.25, 1.75], [3.25, 4.25]
    #   only the first pair reaches IoU 0.5 ([3.75, 4.75] vs [3.25, 4.25]: 0.5 / 1.5 = 0.33)
    event = s["event"]["mutual_gaze"]
    assert (event["tp"], event["system"], event["labelled"]) == (1, 3, 2)
    assert event["precision"] == pytest.approx(1 / 3, abs=1e-4)
    assert event["recall"] == pytest.approx(1 / 2, abs=1e-4)
    assert event["f1"] == pytest.approx(2 / 5, abs=1e-4)

    # Moments. Gains: #1 overlaps [0, 2] by 1.5 s -> 3; #2's centre 5.0 lies in [5, 7] -> 1;
    # #3 lies in [7.5, 9.5] -> 2; #4 (centre 3.5, no 1 s overlap) -> 0.
    m = s["moments"]
    assert m["precision_at_3"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["precision_at_5"] == pytest.approx(2 / 5, abs=1e-4)
    dcg = 3 + 1 / math.log2(3) + 2 / math.log2(4)
    ideal = 3 + 2 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg_at_5"] == pytest.approx(dcg / ideal, abs=1e-4)
    assert m["recall_at_10"] == 1.0  # both moments of strength >= 2 are hit
    assert m["clip_recall_at_5"] == 1.0
    assert 0.0 < s["random_4s"]["precision_at_3"] < m["precision_at_3"]

    table = pd.read_csv(out / "evaluation.csv")
    row = table[(table["level"] == "frame") & (table["metric"] == "f1")].iloc[0]
    assert row["session"] == "tiny" and row["value"] == pytest.approx(8 / 11, abs=1e-4)
    assert set(table["level"]) == {"frame", "event", "moment"}


def test_pooled_figures_add_counts_and_average_moments(tmp_path):
    out, labels = tiny_out(tmp_path)
    # a second session: a copy of the first, named "tiny2"
    import shutil

    shutil.copytree(out / "tiny", out / "tiny2")
    doc = json.loads((labels / "tiny.json").read_text())
    (labels / "tiny2.json").write_text(json.dumps(dict(doc, clip="tiny2.mp4")))
    result = evaluate_out(out, labels)
    assert [s.session for s in result.sessions] == ["tiny", "tiny2"]
    pooled = result.pooled
    assert pooled["frame"].loc["mutual_gaze", "tp"] == 8
    assert pooled["frame"].loc["mutual_gaze", "f1"] == pytest.approx(8 / 11)
    assert pooled["event"].loc["mutual_gaze", "system"] == 6
    assert pooled["moments"]["precision_at_3"] == pytest.approx(2 / 3)


def test_unmatched_sessions_and_missing_coding_are_one_line_errors(tmp_path):
    out, _ = tiny_out(tmp_path)
    empty = tmp_path / "nothing"
    empty.mkdir()
    result = CliRunner().invoke(app, ["evaluate", str(out), "--labels", str(empty)])
    assert result.exit_code == 1
    assert "no coding file" in result.output and "Traceback" not in result.output


def test_events_and_matching():
    t = np.arange(0.0, 3.0, 0.5)
    assert grid_events(t, np.array([0, 1, 1, 0, 0, 1], bool), step=0.5) == [
        Segment(0.25, 1.25),
        Segment(2.25, 2.75),
    ]
    pairs = match_events([Segment(0, 2), Segment(1, 3)], [Segment(1, 3)], min_iou=0.5)
    assert pairs == [(1, 0, 1.0)]  # one to one, the best pair wins


def test_random_windows_score_by_chance_only():
    everywhere = [LabelledMoment(Segment(0.0, 60.0), 3)]
    assert random_moment_scores(everywhere, duration=60.0)["precision_at_3"] == 1.0
    nowhere = [LabelledMoment(Segment(100.0, 104.0), 3)]
    assert random_moment_scores(nowhere, duration=60.0)["precision_at_3"] == 0.0
    assert math.isnan(moment_scores([Segment(0, 4)], [])["recall_at_10"])
