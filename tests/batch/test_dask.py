"""`--executor dask`: sessions sent to a Dask cluster give the same files as a local run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.batch.conftest import same_results, vigcv
from vigcv import executors
from vigcv.errors import VigcvError

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
    ) as local:
        yield local


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
    finally:
        client.close()
    assert any(logs.values()), "no Dask worker imported the pipeline"


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
        hook=lambda step, artifact: events.append((step, artifact)),
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
