"""Shared inputs of the batch tests: three small recordings and their reference run (--jobs 1)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import write_audio, write_video

VIGCV = [sys.executable, "-m", "vigcv.cli"]
RESULT_FILES = ("moments.json", "timeline.csv", "speech.csv", "turns.csv")


def vigcv(*args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh process, as a user would."""
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    return subprocess.run(
        [*VIGCV, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout
    )


@pytest.fixture(scope="session")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a real two-person session (synthetic, 12 s), a faceless video and a WAV."""
    from vigcv.synth import cached_session

    folder = tmp_path_factory.mktemp("inputs")
    shutil.copy(cached_session("textbook").video, folder / "textbook.mp4")
    write_video(folder / "plain.mp4", seconds=3.0, fps=15)
    write_audio(folder / "talk.wav", seconds=3.0)
    return folder


@pytest.fixture(scope="session")
def reference(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The inputs run one after another (``--jobs 1``): the outputs every other run must match."""
    out = tmp_path_factory.mktemp("reference") / "out"
    proc = vigcv("run", inputs, "--out", out, "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    return out


def same_results(a: Path, b: Path, sessions: list[str]) -> None:
    """Assert that two result folders hold byte-identical result files for ``sessions``."""
    for session in sessions:
        for name in RESULT_FILES:
            left, right = a / session / name, b / session / name
            assert left.is_file() and right.is_file(), f"{session}/{name} missing"
            assert left.read_bytes() == right.read_bytes(), f"{session}/{name} differs"


def kill_a_worker(proc: subprocess.Popen) -> None:
    """SIGKILL one of ``proc``'s spawned pool workers, as the out-of-memory killer would."""
    psutil = pytest.importorskip("psutil")
    workers = [
        p
        for p in psutil.Process(proc.pid).children()
        if "spawn_main" in " ".join(p.cmdline()) and "resource_tracker" not in " ".join(p.cmdline())
    ]
    assert workers, "no worker processes found"
    workers[0].kill()
