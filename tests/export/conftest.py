"""Export tests reuse the review tests' OUT builder (a real short video outside OUT)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.review.outdir import make_out


@pytest.fixture(scope="session")
def export_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_out(tmp_path_factory.mktemp("export-template"))


@pytest.fixture
def out_dir(export_template: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(export_template, out)
    return out
