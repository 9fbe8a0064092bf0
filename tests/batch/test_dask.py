"""`--executor dask`: sessions sent to a Dask cluster give the same files as a local run."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from tests.batch.conftest import same_results, vigcv
from tests.builders import progress_recorder
from vigcv import cores, executors
from vigcv.errors import VigcvError

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    before = os.environ.get(cores.LOCK_DIR_ENV)
    os.environ[cores.LOCK_DIR_ENV] = str(tmp_path_factory.mktemp("core-locks"))  # workers see it
    try:
        with distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as local:
            yield local
    finally:
        if before is None:
            os.environ.pop(cores.LOCK_DIR_ENV, None)
        else:
            os.environ[cores.LOCK_DIR_ENV] = before


def test_a_dask_cluster_writes_the_same_files_as_a_local_run(
    cluster, inputs: Path, reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    missing = tmp_path / "missing.mp4"
    proc = vigcv(
        "run", inputs, missing, "--out", out, "--executor", "dask",
        "--scheduler", cluster.scheduler_address,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # the missing file fails, the rest is done
    assert "Traceback" not in proc.stderr + proc.stdout
    same_results(reference, out, ["textbook", "plain", "talk"])
    table = pd.read_csv(out / "summary.csv", keep_default_na=False).set_index("session")
    assert table.loc[["textbook", "plain", "talk"], "status"].tolist() == ["ok"] * 3
    assert table.loc["missing", "status"] == "failed"
    assert "no such file" in table.loc["missing", "reason"]
    # the work really ran on the cluster's worker processes
    client = distributed.Client(cluster.scheduler_address)
    try:
        logs = client.run(lambda: __import__("sys").modules.get("vigcv.pipeline") is not None)
        affinity = client.run(lambda: sorted(os.sched_getaffinity(0)))
    finally:
        client.close()
    assert any(logs.values()), "no Dask worker imported the pipeline"
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) >= 2:  # each one-thread worker ran on a core of its own (vigcv.cores)
        assert sorted(c for cs in affinity.values() for c in cs) == allowed[:2], affinity


def test_an_unreachable_scheduler_is_one_line() -> None:
    with pytest.raises(
        VigcvError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"
    ):
        executors.run_dask(
            [], scheduler="tcp://127.0.0.1:9", on_result=lambda r: None, timeout_s=2.0
        )


def test_dask_without_a_scheduler_is_a_usage_error(tmp_path: Path) -> None:
    proc = vigcv("run", tmp_path, "--out", tmp_path / "o", "--executor", "dask")
    assert proc.returncode == 2
    assert "--executor dask needs --scheduler" in proc.stderr


def test_a_session_split_in_chunks_on_dask_matches_one_process_and_reports_progress(
    cluster, inputs: Path, tmp_path: Path
) -> None:
    from vigcv.api import load
    from vigcv.batch import discover, run_batch
    from vigcv.config import load_config

    config = load_config(overrides={"vision": {"chunk_s": 5.0, "chunk_overlap_s": 2.0}})
    jobs = discover([inputs / "textbook.mp4"])  # 12 s: two chunks, 0-5 s and 5-12 s
    local = run_batch(jobs, tmp_path / "local", config=config, jobs_n=1)
    events: list[tuple[str, dict]] = []
    remote = run_batch(
        jobs,
        tmp_path / "dask",
        config=config,
        executor="dask",
        scheduler=cluster.scheduler_address,
        hook=progress_recorder(events),
    )
    assert [r.status for r in local + remote] == ["ok", "ok"]
    same_results(tmp_path / "local", tmp_path / "dask", ["textbook"])
    frames, _ = load(tmp_path / "dask" / "textbook")
    assert frames.provenance["chunks"] == [[0.0, 5.0], [5.0, None]]
    vision = [a for step, a in events if step == "vision"]
    assert vision, "no progress came back from the Dask workers"
    assert {a["session"] for a in vision} == {"textbook"}
    assert all(0 <= a["done"] <= a["total"] for a in vision)
    assert vision[-1]["done"] == vision[-1]["total"]
    assert any(a["done"] < a["total"] for a in vision), "only the end was reported"


def test_a_dask_worker_takes_the_longest_session_first_and_decodes_in_one_thread(
    inputs: Path, reference: Path, tmp_path: Path
) -> None:
    import shutil

    from vigcv.batch import discover
    from vigcv.config import load_config

    out = tmp_path / "out"
    shutil.copytree(reference, out)  # done sessions: each is a quick "skipped"
    config = load_config()
    tasks = [executors.Task(job, out, config) for job in discover([inputs])]
    assert [t.job.session for t in tasks] == ["plain", "talk", "textbook"]  # file order
    with (
        distributed.LocalCluster(
            n_workers=1,  # one worker thread: it runs the sessions in the order it is given them
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # the module's cluster holds the default port
            host="127.0.0.1",
        ) as one,
        distributed.Client(one) as client,
    ):
        with distributed.get_task_stream(client) as stream:
            executors.run_dask(tasks, scheduler=client, on_result=lambda r: None)
        settings = client.run(lambda: __import__("os").environ.get(executors.DECODE_AHEAD_ENV))
    started = {
        str(task["key"]).rsplit("-", 1)[-1]: min(
            s["start"] for s in task["startstops"] if s["action"] == "compute"
        )
        for task in stream.data
    }
    assert sorted(started, key=started.__getitem__) == ["textbook", "plain", "talk"]
    assert list(settings.values()) == ["0"]  # the task was allowed one thread


def test_a_preloaded_worker_is_warm_before_its_first_session() -> None:
    def state() -> dict:
        import os
        import sys

        from vigcv.vision.expression import expression_session

        return {
            "audio features": "vigcv.audio.features" in sys.modules,
            "pipeline": "vigcv.batch" in sys.modules,
            "expression model loaded": expression_session.cache_info().currsize == 1,
            "decode ahead": os.environ.get("VIGCV_DECODE_AHEAD"),
        }

    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            host="127.0.0.1",
            preload=["vigcv.dask_preload"],
        ) as warm,
        distributed.Client(warm) as client,
    ):
        (found,) = client.run(state).values()
    assert found == {
        "audio features": True,
        "pipeline": True,
        "expression model loaded": True,
        "decode ahead": "0",
    }
