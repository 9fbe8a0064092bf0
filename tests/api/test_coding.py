"""Reading human coding: ELAN .eaf tiers and JSON labels, and matching files to sessions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.api.fixtures import write_eaf
from vigcv.evaluation.coding import coding_files, match_coding, read_coding, sessions_with_coding
from vigcv.evaluation.labels import LabelError


def test_eaf_tiers_become_frame_labels_and_moments(tmp_path):
    path = write_eaf(
        tmp_path / "fam.eaf",
        {
            "mutual_gaze": [(500, 2000, ""), (2500, 3000, "?")],
            "Parent smile": [(1000, 1500, "smiling")],
            "attuned_moments": [(0, 2000, "3: textbook"), (2500, 3500, "2")],
        },
    )
    coding = read_coding(path, duration=4.0, step_s=0.5)
    f = coding.frames
    assert f["t"].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    np.testing.assert_array_equal(f["mutual_gaze"], [0, 1, 1, 1, 0, np.nan, 0, 0])
    np.testing.assert_array_equal(f["parent_smile"], [0, 0, 1, 0, 0, 0, 0, 0])
    assert f["child_smile"].isna().all()  # no tier: unknown throughout
    assert [(m.segment.start, m.segment.end, m.strength) for m in coding.moments] == [
        (0.0, 2.0, 3),
        (2.5, 3.5, 2),
    ]
    assert coding.duration == 4.0 and coding.step_s == 0.5


def test_eaf_moment_without_strength_is_a_one_line_error(tmp_path):
    path = write_eaf(tmp_path / "bad.eaf", {"attuned_moments": [(0, 2000, "nice")]})
    with pytest.raises(LabelError, match=r"bad.eaf: attuned_moments annotation at 0.00 s"):
        read_coding(path)
    unnamed = write_eaf(tmp_path / "other.eaf", {"Gesture": [(0, 1000, "x")]})
    with pytest.raises(LabelError, match="no tier named by a signal"):
        read_coding(unnamed)
    (tmp_path / "broken.eaf").write_text("<ANNOTATION_DOCUMENT")
    with pytest.raises(LabelError, match="not a readable ELAN file"):
        read_coding(tmp_path / "broken.eaf")


def test_json_labels_read_like_the_eval_files(tmp_path):
    doc = {
        "clip": "fam.session.mp4",
        "step_s": 0.5,
        "frames": [
            {"t": 0.0, "mutual_gaze": 1, "parent_smile": None},
            {"t": 0.5, "mutual_gaze": 0, "parent_smile": 1},
        ],
        "attuned_moments": [{"start": 0.0, "end": 1.0, "strength": 2, "why": "x"}],
    }
    path = tmp_path / "fam.session.json"
    path.write_text(json.dumps(doc))
    coding = read_coding(path)
    np.testing.assert_array_equal(coding.frames["parent_smile"], [np.nan, 1.0])
    assert coding.moments[0].strength == 2 and coding.step_s == 0.5
    (tmp_path / "notes.json").write_text("[1, 2]")
    with pytest.raises(LabelError, match=r"notes\.json"):
        read_coding(tmp_path / "notes.json")


def test_sessions_are_matched_to_coding_files_by_name(tmp_path):
    (tmp_path / "6c6MZQ.session.json").write_text(
        json.dumps({"clip": "6c6MZQ.session.mp4", "frames": []})
    )
    (tmp_path / "a1.json").write_text(json.dumps({"clip": "family-a.take1.mp4", "frames": []}))
    write_eaf(tmp_path / "home visit.eaf", {"mutual_gaze": [(0, 1000, "")]})
    (tmp_path / "readme.txt").write_text("not coding")
    files = coding_files(tmp_path)
    assert match_coding("6c6MZQ.session", files).name == "6c6MZQ.session.json"
    assert match_coding("6c6MZQ", files).name == "6c6MZQ.session.json"
    assert match_coding("family-a.take1", files).name == "a1.json"  # by the clip it names
    assert match_coding("home visit", files).name == "home visit.eaf"
    matched, unmatched = sessions_with_coding(["a1", "zz", "home visit"], tmp_path)
    assert sorted(matched) == ["a1", "home visit"] and unmatched == ["zz"]
    with pytest.raises(LabelError, match="labels folder not found"):
        coding_files(tmp_path / "missing")


def test_real_session_labels_match_their_sessions(shared_eval):
    folder = shared_eval / "parent-child" / "sessions"
    matched, unmatched = sessions_with_coding(["6c6MZQ.session", "3dC3SQ"], folder)
    assert not unmatched
    coding = read_coding(matched["6c6MZQ.session"])
    assert len(coding.clips) > 5 and all(1 <= m.strength <= 3 for m in coding.moments)
