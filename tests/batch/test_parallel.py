"""`--jobs N`: sessions in worker processes give the same files as one after another."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.batch.conftest import same_results
from tests.builders import progress_recorder
from vigcv import executors
from vigcv.batch import discover, run_batch
from vigcv.config import load_config


@pytest.fixture(scope="module")
def parallel(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("parallel") / "out"
    events: list[tuple[str, dict]] = []
    finished: list[str] = []
    results = run_batch(
        discover([inputs]),
        out,
        config=load_config(),
        jobs_n=2,
        hook=progress_recorder(events),
        on_result=lambda r: finished.append(r.session),
    )
    return {"out": out, "results": results, "events": events, "finished": finished}


def test_two_workers_write_the_same_files_as_one(parallel: dict, reference: Path) -> None:
    assert [r.status for r in parallel["results"]] == ["ok", "ok", "ok"]
    same_results(reference, parallel["out"], ["textbook", "plain", "talk"])
    ours = pd.read_csv(parallel["out"] / "summary.csv").set_index("session")
    theirs = pd.read_csv(reference / "summary.csv").set_index("session")
    assert ours.loc[theirs.index, "moments"].tolist() == theirs["moments"].tolist()
    assert ours.loc[theirs.index, "status"].tolist() == theirs["status"].tolist()
    assert (parallel["out"] / "textbook" / "run.json").is_file()


def test_results_come_back_in_input_order_and_each_is_reported(parallel: dict) -> None:
    assert [r.session for r in parallel["results"]] == ["plain", "talk", "textbook"]
    assert sorted(parallel["finished"]) == ["plain", "talk", "textbook"]


def test_workers_relay_stage_progress_per_session(parallel: dict) -> None:
    progress = [a for _, a in parallel["events"] if isinstance(a, dict)]
    assert progress, "no progress came back from the workers"
    sessions = {a["session"] for a in progress}
    assert {"textbook", "talk"} <= sessions
    steps = {step for step, a in parallel["events"] if a.get("session") == "textbook"}
    assert {"vision", "audio"} & steps
    for a in progress:
        assert 0 <= a["done"] <= a["total"] + 1e-6


def _thread_settings() -> dict[str, Any]:
    import cv2
    from threadpoolctl import threadpool_info

    from vigcv.vision.scan import decode_ahead

    return {
        "cv2": cv2.getNumThreads(),
        "env": {name: os.environ.get(name) for name in executors.THREAD_ENV},
        "pools": {p["internal_api"]: p["num_threads"] for p in threadpool_info()},
        "decode_ahead": decode_ahead(),
    }


def test_a_worker_caps_its_native_thread_pools() -> None:
    ctx = get_context("spawn")
    with ProcessPoolExecutor(
        1, mp_context=ctx, initializer=executors._init_worker, initargs=(1, None)
    ) as pool:
        settings = pool.submit(_thread_settings).result(timeout=120)
    assert settings["cv2"] == 1
    assert set(settings["env"].values()) == {"1"}
    assert all(n == 1 for n in settings["pools"].values()), settings["pools"]
    assert settings["decode_ahead"] is False  # the scan decodes in its own thread: one core


def test_a_worker_allowed_two_threads_decodes_ahead() -> None:
    with ProcessPoolExecutor(
        1, mp_context=get_context("spawn"), initializer=executors._init_worker, initargs=(2, None)
    ) as pool:
        settings = pool.submit(_thread_settings).result(timeout=120)
    assert set(settings["env"].values()) == {"2"}
    assert settings["decode_ahead"] is True


def test_default_jobs_is_the_usable_cores() -> None:
    assert executors.default_jobs() == len(os.sched_getaffinity(0))
