"""A long session split in time chunks: the same files for any --jobs, close to an unsplit scan.

The generated two-minute ``mixed`` session is scanned in three 40 s chunks (``[vision] chunk_s``
overridden; the default splits only recordings of 225 s and more), one after another in this
process (``--jobs 1``) and by two worker processes at once (``--jobs 2``), and compared with the
same session scanned whole (``demo_out``, shared with tests/api).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.api.fixtures import demo_out  # noqa: F401  (the session scanned whole)
from tests.batch.conftest import VIGCV, kill_a_worker, same_results, vigcv
from tests.builders import progress_recorder
from vigcv import chunks
from vigcv.api import load
from vigcv.batch import discover, run_batch
from vigcv.config import load_config
from vigcv.vision.scan import ScanResult

CHUNK_S = 40.0
BOUNDARIES = (40.0, 80.0)


@pytest.fixture(scope="module")
def chunked_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chunked") / "chunked.toml"
    path.write_text(f"[vision]\nchunk_s = {CHUNK_S}\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vigcv.synth import cached_session

    folder = tmp_path_factory.mktemp("long")
    shutil.copy(cached_session("mixed").video, folder / "mixed.mp4")
    return folder / "mixed.mp4"


def _run(mixed: Path, out: Path, config: Path, jobs: int) -> dict[str, Any]:
    events: list[tuple[str, dict]] = []
    results = run_batch(
        discover([mixed]),
        out,
        config=load_config(config),
        jobs_n=jobs,
        hook=progress_recorder(events),
    )
    return {"out": out, "results": results, "events": events}


@pytest.fixture(scope="module")
def serial(mixed: Path, chunked_config: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _run(mixed, tmp_path_factory.mktemp("jobs1") / "out", chunked_config, 1)


@pytest.fixture(scope="module")
def parallel(mixed: Path, chunked_config: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _run(mixed, tmp_path_factory.mktemp("jobs2") / "out", chunked_config, 2)


def test_chunks_depend_only_on_the_length_and_the_config() -> None:
    config = load_config(overrides={"vision": {"chunk_s": CHUNK_S, "chunk_overlap_s": 3.0}})
    plan = chunks.plan_chunks(duration=120.4, config=config)
    assert [(c.start, c.end, c.lead) for c in plan] == [
        (0.0, 40.0, 0.0),
        (40.0, 80.0, 3.0),
        (80.0, None, 3.0),
    ]
    assert [c.scan_start for c in plan] == [0.0, 37.0, 77.0]
    assert len(chunks.plan_chunks(duration=59.0, config=config)) == 1  # < 1.5 chunks: whole
    assert len(chunks.plan_chunks(duration=61.0, config=config)) == 2
    never = load_config(overrides={"vision": {"chunk_s": 0.0}})
    assert len(chunks.plan_chunks(duration=7200.0, config=never)) == 1
    assert len(chunks.plan_chunks(duration=120.0, config=load_config())) == 1  # default: whole


def _scan(times: np.ndarray, tracks: dict[int, float]) -> ScanResult:
    """Faces that stand still: track id -> box centre x (px), a 100 px box in every frame."""
    rows: dict[str, list[float]] = {k: [] for k in ScanResult.empty().faces}
    for i in range(times.size):
        for track, x in tracks.items():
            values = {"frame": i, "track": track, "x0": x - 50, "x1": x + 50, "y0": 100}
            values.update(y1=200, score=0.9)
            for k in rows:
                rows[k].append(float(values.get(k, np.nan)))
    return ScanResult(times, {k: np.asarray(v) for k, v in rows.items()}, 640, 480)


def test_stitching_links_each_track_to_the_one_it_continues() -> None:
    config = load_config(overrides={"vision": {"chunk_s": 10.0, "chunk_overlap_s": 2.0}})
    plan = chunks.plan_chunks(duration=20.0, config=config)
    first = _scan(np.arange(0.0, 10.0, 0.1), {0: 100.0, 1: 400.0})
    # the second chunk's tracker numbered the same two faces the other way round, and saw a
    # third face only during its lead-in
    second = _scan(np.arange(8.0, 20.0, 0.1), {0: 400.0, 1: 100.0})
    extra = _scan(np.arange(8.0, 9.0, 0.1), {2: 250.0})
    for k in second.faces:
        second.faces[k] = np.concatenate([second.faces[k], extra.faces[k]])
    whole = chunks.stitch([first, second], plan, config=config)
    assert whole.times.size == 200
    np.testing.assert_allclose(np.diff(whole.faces["frame"][::2]), 1.0)
    centre = (whole.faces["x0"] + whole.faces["x1"]) / 2
    assert set(np.unique(whole.faces["track"])) == {0.0, 1.0}
    assert set(centre[whole.faces["track"] == 0]) == {100.0}
    assert set(centre[whole.faces["track"] == 1]) == {400.0}
    # a face that was not in the overlap is a new track
    moved = _scan(np.arange(8.0, 20.0, 0.1), {0: 100.0, 5: 600.0})
    again = chunks.stitch([first, moved], plan, config=config)
    centre = (again.faces["x0"] + again.faces["x1"]) / 2
    assert set(np.unique(again.faces["track"])) == {0.0, 1.0, 2.0}
    assert set(centre[again.faces["track"] == 2]) == {600.0}


def test_one_and_two_workers_write_the_same_files(serial: dict, parallel: dict) -> None:
    assert [r.status for r in serial["results"]] == ["ok"]
    assert [r.status for r in parallel["results"]] == ["ok"]
    same_results(serial["out"], parallel["out"], ["mixed"])
    for name in ("features.parquet", "moments.csv"):
        a, b = serial["out"] / "mixed" / name, parallel["out"] / "mixed" / name
        assert a.read_bytes() == b.read_bytes(), f"{name} differs"
    frames, _ = load(parallel["out"] / "mixed")
    assert frames.provenance["chunks"] == [[0.0, 40.0], [40.0, 80.0], [80.0, None]]
    # the chunk scans are removed once the session's features are cached
    assert not list((parallel["out"] / "mixed" / "cache").glob(f"*/{chunks.CHUNKS_FOLDER}"))


def _run_json(result: dict) -> dict:
    return json.loads((result["out"] / "mixed" / "run.json").read_text(encoding="utf-8"))


def test_the_workers_did_the_chunks_and_the_audio_and_progress_adds_up(
    serial: dict, parallel: dict
) -> None:
    ours, theirs = _run_json(parallel), _run_json(serial)
    assert ours["warnings"] == theirs["warnings"] and ours["notes"] == theirs["notes"]
    # the session's own process found the chunks scanned and the audio extracted: it stitched
    slow = ("vision", "audio")
    assert sum(ours["timings_s"][k] for k in slow) < 0.1 * sum(theirs["timings_s"][k] for k in slow)
    vision = [a for step, a in parallel["events"] if step == "vision" and "done" in a]
    assert vision and {a["session"] for a in vision} == {"mixed"}
    totals = {a["total"] for a in vision}
    assert len(totals) == 1, "chunks scanned at once must add up to one count"
    assert all(0 <= a["done"] <= a["total"] for a in vision)
    assert vision[-1]["done"] == vision[-1]["total"]


def _boundary_frames(t: np.ndarray, half_s: float = 3.0) -> np.ndarray:
    return np.any([np.abs(t - b) <= half_s for b in BOUNDARIES], axis=0)


def test_chunked_features_agree_with_a_whole_scan(serial: dict, demo_out: Path) -> None:  # noqa: F811
    whole, _ = load(demo_out / "mixed")
    split, _ = load(serial["out"] / "mixed")
    assert "chunks" not in whole.provenance
    # no extra tracks: the boundaries link each face's track to the one it continues
    assert split.provenance["tracks"] <= whole.provenance["tracks"]
    assert split.provenance["roles"]["method"] == whole.provenance["roles"]["method"]
    a = whole.dyad.set_index("t")
    b = split.dyad.set_index("t")
    merged = pd.merge_asof(
        b.reset_index(), a.reset_index(), on="t", direction="nearest", tolerance=0.06,
        suffixes=("_split", "_whole"),
    )  # fmt: skip
    assert merged["mutual_gaze_whole"].notna().mean() > 0.99
    both = {
        name: float(((d["parent_visible"] >= 1) & (d["child_visible"] >= 1)).mean())
        for name, d in (("whole", a), ("split", b))
    }
    assert both["split"] == pytest.approx(both["whole"], abs=0.02)
    assert both["split"] > 0.9
    mg_whole = merged["mutual_gaze_whole"].to_numpy() > 0.5
    mg_split = merged["mutual_gaze_split"].to_numpy() > 0.5
    assert np.mean(mg_whole == mg_split) >= 0.95
    near = _boundary_frames(merged["t"].to_numpy())
    assert np.mean(mg_whole[near] == mg_split[near]) >= 0.9
    # the same person keeps the same role across each boundary: boxes agree with the whole scan
    for role in ("parent", "child"):
        pa = whole.table[whole.table["role"] == role].set_index("t")
        pb = split.table[split.table["role"] == role].set_index("t")
        joined = pd.merge_asof(
            pb[["x", "w"]].reset_index(), pa[["x", "w"]].reset_index(), on="t",
            direction="nearest", tolerance=0.06, suffixes=("_split", "_whole"),
        ).dropna()  # fmt: skip
        centre_gap = (
            np.abs(
                (joined["x_split"] + joined["w_split"] / 2)
                - (joined["x_whole"] + joined["w_whole"] / 2)
            )
            / joined["w_whole"]
        )
        at = _boundary_frames(joined["t"].to_numpy())
        assert np.mean(centre_gap < 0.5) >= 0.98, role
        assert at.sum() > 20 and np.mean(centre_gap[at] < 0.5) >= 0.98, role


def test_a_worker_killed_mid_chunk_is_retried_and_gives_the_same_files(
    mixed: Path, chunked_config: Path, serial: dict, tmp_path: Path
) -> None:
    pytest.importorskip("psutil")
    out = tmp_path / "out"
    args = [*VIGCV, "run", str(mixed), "--out", str(out), "-c", str(chunked_config), "-j", "2"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    done_chunk = f"mixed/cache/*/{chunks.CHUNKS_FOLDER}/*/COMPLETE"
    while not list(out.glob(done_chunk)) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.1)
    assert not (out / "mixed" / "run.json").exists(), "finished before the kill"
    kill_a_worker(proc)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stdout + stderr
    same_results(serial["out"], out, ["mixed"])


def test_a_chunked_session_that_cannot_be_read_is_one_line(
    chunked_config: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x17" * 5000)
    proc = vigcv("run", bad, "--out", tmp_path / "out", "-c", chunked_config, "-j", "2")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    table = pd.read_csv(tmp_path / "out" / "summary.csv", keep_default_na=False)
    assert table["status"].tolist() == ["failed"]
    assert "not a readable video" in table["reason"][0]
