"""The generated two-minute ``mixed`` session processed once per test run (shared by tests/api and
tests/notebooks: both fixtures point at the same folder, so the second finds it done)."""

from __future__ import annotations

import fcntl
import shutil
from pathlib import Path

import pytest
from pympi.Elan import Eaf, to_eaf

from vigcv.api import demo_session


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """OUT with ``mixed/`` (processed by run_session) and ``labels/mixed.json``. Read-only: copy
    it (:func:`copy_out`) before writing reviews or re-scoring.

    Made once per test run: with several test processes (pytest-xdist) in the folder they share,
    the first making it while the others wait on a lock (pytest-xdist's recipe for session
    fixtures)."""
    base = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # each process has its own basetemp under a shared one
        base = base.parent
    out = base / "demo-out"
    with (base / "demo-out.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        demo_session(out, name="mixed")  # finds the session done when another process made it
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
