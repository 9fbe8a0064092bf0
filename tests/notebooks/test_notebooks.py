"""Every notebook in notebooks/ runs green on the generated, processed demo session."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_the_four_notebooks_are_there_and_committed_without_outputs():
    names = [p.name for p in NOTEBOOKS]
    assert names == [
        "01_explore_session.ipynb",
        "02_tune_scoring.ipynb",
        "03_evaluate_against_coding.ipynb",
        "04_learn_from_reviews.ipynb",
    ]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_draws(path, demo_out, monkeypatch, tmp_path):
    monkeypatch.setenv("VIGCV_OUT", str(demo_out))
    monkeypatch.setenv("VIGCV_SESSION", "mixed")
    monkeypatch.setenv("VIGCV_LABELS", str(demo_out / "labels"))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 1, "the notebook drew no figure"
