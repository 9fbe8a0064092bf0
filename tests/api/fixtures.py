"""The generated two-minute ``mixed`` session processed once per test run (shared by tests/api and
tests/notebooks: both fixtures point at the same folder, so the second finds it done)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pympi.Elan import Eaf, to_eaf

from vigcv.api import demo_session


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUT with ``mixed/`` (processed by run_session) and ``labels/mixed.json``. Read-only: copy
    it (:func:`copy_out`) before writing reviews or re-scoring."""
    out = tmp_path_factory.getbasetemp() / "demo-out"
    demo_session(out, name="mixed")
    return out


def copy_out(demo_out: Path, dest: Path) -> Path:
    """A private copy of the demo OUT (without its labels folder)."""
    out = dest / "out"
    shutil.copytree(demo_out / "mixed", out / "mixed")
    return out


def write_eaf(path: Path, tiers: dict[str, list[tuple[int, int, str]]]) -> Path:
    """An ELAN file with these tiers of ``(start ms, end ms, value)`` annotations."""
    eaf = Eaf(author="test")
    eaf.remove_tier("default")
    for name, rows in tiers.items():
        eaf.add_tier(name)
        for a, b, value in rows:
            eaf.add_annotation(name, a, b, value)
    to_eaf(str(path), eaf)
    return path
