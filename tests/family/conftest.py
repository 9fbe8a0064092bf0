"""The synthetic family (configs/synth/family_visit1..3.toml) run once per test session: the
three visits filed as films/lee/<date>.mp4 and run as a family, and visit 2 run alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from vigcv.synth import cached_session

VISITS = {  # file date -> script; created here in another order than their dates
    "2026-03-06": "family_visit3",
    "2026-01-10": "family_visit1",
    "2026-02-07": "family_visit2",
}
FAMILY = "lee"


def vigcv(*args: str | Path, timeout: float = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    cmd = [sys.executable, "-m", "vigcv.cli", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


@dataclass(frozen=True)
class FamilyRun:
    films: Path
    out: Path  # the family run: out/lee/<date>/
    alone: Path  # visit 2 run on its own: alone/2026-02-07/

    @property
    def family(self) -> Path:
        return self.out / FAMILY


@pytest.fixture(scope="session")
def family_run(tmp_path_factory: pytest.TempPathFactory) -> FamilyRun:
    """Read-only: copy ``out`` before writing decisions or reports into it."""
    root = tmp_path_factory.mktemp("family")
    films = root / "films" / FAMILY
    films.mkdir(parents=True)
    for i, (date, script) in enumerate(VISITS.items()):
        path = films / f"{date}.mp4"
        shutil.copy(cached_session(script).video, path)
        # modification times in yet another order: the dates come from the names
        os.utime(path, (1_700_000_000 + 1000 * (3 - i),) * 2)
    out, alone = root / "out", root / "alone"
    proc = vigcv("run", films.parent, "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = vigcv("run", films / "2026-02-07.mp4", "--out", alone)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return FamilyRun(films=films.parent, out=out, alone=alone)
