"""Pipeline pieces that need no models: role overrides, swaps, the cache, naming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vigcv.batch import discover
from vigcv.io import store
from vigcv.pipeline import apply_roles
from vigcv.types import PERSON_COLUMNS, FrameFeatures, SpeechTrack


def two_people(*, parent_x: float, child_x: float) -> FrameFeatures:
    rows = []
    for t in np.arange(0, 2, 0.1):
        for person, role, x, w in ((0, "parent", parent_x, 80.0), (1, "child", child_x, 50.0)):
            row = dict.fromkeys(PERSON_COLUMNS, 0.0)
            row.update(t=t, person=person, role=role, x=x, y=100.0, w=w, h=w, visible=1.0)
            row["smile"] = 0.9 if role == "parent" else 0.1
            rows.append(row)
    dyad = pd.DataFrame(
        {
            "t": np.arange(0, 2, 0.1),
            "parent_visible": 1.0,
            "child_visible": 1.0,
            "parent_looks_at_child": 0.8,
            "child_looks_at_parent": 0.2,
            "mutual_gaze": 0.2,
            "parent_smile": 0.9,
            "child_smile": 0.1,
            "head_distance": 4.0,
        }
    )
    return FrameFeatures(pd.DataFrame(rows), dyad, fps=10.0, video_id="x", width=640, height=480)


def speech() -> SpeechTrack:
    seg = pd.DataFrame(
        {
            "start": [0.0, 1.0],
            "end": [0.5, 1.5],
            "speaker": ["parent", "child"],
            "confidence": [0.9, 0.8],
        }
    )
    turns = pd.DataFrame(
        {
            "time": [0.5],
            "from": ["parent"],
            "to": ["child"],
            "latency_s": [0.5],
            "kind": ["vocal"],
            "contingent": [True],
        }
    )
    return SpeechTrack(np.zeros(0), np.zeros(0), seg, turns)


def test_parent_side_override_swaps_only_when_needed() -> None:
    frames = two_people(parent_x=400, child_x=100)  # found parent on the right
    kept, _ = apply_roles(frames, speech(), swapped=False, parent_side="right")
    assert kept.dyad["parent_smile"].iloc[0] == pytest.approx(0.9)
    moved, moved_speech = apply_roles(frames, speech(), swapped=False, parent_side="left")
    assert moved.dyad["parent_smile"].iloc[0] == pytest.approx(0.1)
    assert moved.dyad["parent_looks_at_child"].iloc[0] == pytest.approx(0.2)
    left = moved.table[moved.table["role"] == "parent"]
    assert float(left["x"].iloc[0]) == 100
    assert list(moved_speech.segments["speaker"]) == ["child", "parent"]
    assert list(moved_speech.turns["from"]) == ["child"]


def test_guider_swap_applies_after_the_side_override() -> None:
    frames = two_people(parent_x=100, child_x=400)
    swapped, _ = apply_roles(frames, speech(), swapped=True, parent_side=None)
    assert swapped.dyad["parent_smile"].iloc[0] == pytest.approx(0.1)
    assert swapped.provenance["roles_swapped"] is True
    twice = swapped.swap_roles()
    pd.testing.assert_frame_equal(twice.dyad, frames.dyad)


def test_cache_round_trip_and_damaged_entries_are_recomputed(tmp_path: Path) -> None:
    frames = two_people(parent_x=100, child_x=400)
    calls = []

    def compute() -> FrameFeatures:
        calls.append(1)
        return frames

    folder = tmp_path / "cache" / "vision"
    _, hit = store.cached(folder, compute, save=store.save_frames, load=store.load_frames)
    again, hit2 = store.cached(folder, compute, save=store.save_frames, load=store.load_frames)
    assert (hit, hit2, len(calls)) == (False, True, 1)
    pd.testing.assert_frame_equal(again.dyad, frames.dyad)
    (folder / "frames_dyad.parquet").write_bytes(b"garbage")
    _, hit3 = store.cached(folder, compute, save=store.save_frames, load=store.load_frames)
    assert (hit3, len(calls)) == (False, 2)
    assert not list(tmp_path.rglob("*.part"))


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "moments.json"
    store.write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), store.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert store.read_json(target) == {"v": 1}
    assert not list(tmp_path.glob(".*.part"))


def test_session_names_are_unique(tmp_path: Path) -> None:
    for folder in ("a", "b", "c/a"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "visit.mp4").write_bytes(b"x")
    (tmp_path / "solo.mov").write_bytes(b"x")
    jobs = discover([tmp_path, tmp_path / "solo.mov"])
    names = sorted(j.session for j in jobs)
    assert names == ["a_visit", "a_visit_2", "b_visit", "solo"]
    assert all(not j.problem for j in jobs)
