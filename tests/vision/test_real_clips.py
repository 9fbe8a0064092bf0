"""Vision on real parent-child clips of ../shared/eval (skipped in a fresh clone)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from vigcv.config import load_config
from vigcv.evaluation import frame_scores, read_labels, values_at
from vigcv.io import probe
from vigcv.vision import extract_vision

CLIPS = ("6c6MZQ.joke1.rep1.take1.ThatsNotAHat.mp4", "3dC3SQ.joke1.rep2.take1.TearingPaper.mp4")


@pytest.fixture(scope="session")
def real_runs(shared_eval):
    root = shared_eval / "parent-child"
    sides = {
        row["file"]: row["parent_side"].lower()
        for row in csv.DictReader((root / "clips.csv").open())
    }
    config = load_config()
    runs = {}
    for name in CLIPS:
        path = root / name
        features = extract_vision(path, config=config, info=probe(path))
        labels = read_labels(root / "labels" / (path.stem + ".json"))
        runs[name] = (features, labels, sides[name])
    return runs


@pytest.mark.parametrize("name", CLIPS)
def test_both_faces_found_where_labelled_visible(real_runs, name):
    features, labels, _ = real_runs[name]
    both = ((labels["parent_visible"] == 1) & (labels["child_visible"] == 1)).to_numpy()
    t = labels["t"].to_numpy()[both]
    parent = values_at(features.dyad, t, "parent_visible", tolerance_s=0.25)
    child = values_at(features.dyad, t, "child_visible", tolerance_s=0.25)
    assert both.sum() >= 10
    assert np.mean((parent >= 0.5) & (child >= 0.5)) >= 0.9


@pytest.mark.parametrize("name", CLIPS)
def test_roles_match_the_parent_side_and_stay_stable(real_runs, name):
    features, _, side = real_runs[name]
    parent, child = features.person("parent"), features.person("child")
    assert len(parent) == len(child) == len(features.dyad)
    pcx = (parent["x"] + parent["w"] / 2).to_numpy()
    ccx = (child["x"] + child["w"] / 2).to_numpy()
    both = ~np.isnan(pcx) & ~np.isnan(ccx)
    parent_left = pcx[both] < ccx[both]
    expected_left = side == "left"
    # Identity stable: the parent stays on its side of the child in nearly every frame.
    assert np.mean(parent_left == expected_left) >= 0.95
    assert features.provenance["roles"]["method"] == "role_guess"


def test_gaze_and_smile_beat_saying_yes_everywhere(real_runs):
    features, labels, _ = real_runs[CLIPS[0]]
    scores = frame_scores(features.dyad, labels)
    for signal in ("mutual_gaze", "parent_looks_at_child", "child_looks_at_parent"):
        assert scores.loc[signal, "f1"] >= 0.8 > scores.loc[signal, "f1_all_yes"]
    for signal in ("parent_smile", "child_smile"):
        assert scores.loc[signal, "f1"] >= scores.loc[signal, "f1_all_yes"] + 0.15, signal


def test_a_background_face_is_not_taken_for_the_child(shared_eval):
    # In this clip the child never appears; a man at the back of the room is detected now and
    # then with low confidence. He must not become "the child".
    path = shared_eval / "parent-child" / "6c6MZQ.joke5.rep3.take1.TearingPaper.mp4"
    warnings: list[str] = []
    features = extract_vision(path, config=load_config(), info=probe(path), warnings=warnings)
    assert set(features.table["role"]) == {"parent"}
    assert features.dyad["child_visible"].max() == 0.0
    assert any("found 1 of 2 people" in w for w in warnings)


def test_identities_hold_through_hugs(shared_eval):
    # The toddler runs to her mother and hugs her again and again; a track that jumped from
    # one face to the other put the parent on the wrong side for seconds (5% of the frames).
    path = shared_eval / "parent-child" / "3dC3SQ.joke5.rep3.take1.NomNomNom.mp4"
    features = extract_vision(path, config=load_config(), info=probe(path))
    parent, child = features.person("parent"), features.person("child")
    pcx = (parent["x"] + parent["w"] / 2).to_numpy()
    ccx = (child["x"] + child["w"] / 2).to_numpy()
    both = ~np.isnan(pcx) & ~np.isnan(ccx)
    assert both.sum() >= 180  # 195: a toddler's face and the print of her shirt are not both
    assert np.mean(pcx[both] < ccx[both]) >= 0.98  # the parent sits on the left
    # The long hug (26-39 s): the coders see the toddler and not her mother (hidden behind her
    # hair) on 21 labelled frames. The mother's track held the toddler's face on 14 of them
    # (first count, 0.5 s grid), 5 after the lone-face rule and the face check, and now 2 (at
    # 26 s a box drifting from the mother's head to the toddler's between two detections, at
    # 32.5 s the mother's own hair).
    labels = read_labels(path.with_name("labels") / (path.stem + ".json"))
    hug = labels[(labels["t"] >= 26) & (labels["t"] <= 39)]
    hug = hug[(hug["child_visible"] == 1) & (hug["parent_visible"] == 0)]
    t = hug["t"].to_numpy()
    assert t.size >= 20
    mother = np.isfinite(values_at(parent, t, "x", tolerance_s=0.25))
    toddler = np.isfinite(values_at(child, t, "x", tolerance_s=0.25))
    assert mother.sum() <= 2
    assert toddler.mean() >= 0.9


def test_smiles_of_a_profile_face_are_read(shared_eval):
    # The mother sits in profile. FaceLandmarker's own detector found her face in few frames, so
    # her smiles were mostly carried over from old measurements (parent smile F1 0.61 here
    # without the expression cue); the face mesh run on CenterFace's crop measures the side view
    # itself, and the expression classifier's cue, which also reads it, adds to that.
    path = shared_eval / "parent-child" / "6c6MZQ.joke1.rep2.take1.ThatsNotAHat.mp4"
    labels = read_labels(path.with_name("labels") / (path.stem + ".json"))
    f1 = {}
    for weight in (0.0, 1.0):
        config = load_config()
        config["vision"]["happy_weight"] = weight
        features = extract_vision(path, config=config, info=probe(path))
        f1[weight] = frame_scores(features.dyad, labels).loc["parent_smile", "f1"]
    assert f1[0.0] >= 0.85
    assert f1[1.0] >= max(0.9, f1[0.0])
