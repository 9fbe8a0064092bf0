"""librosa is imported late, and numba's compiled code is kept in a per-user folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from vigcv.audio import features, librosa_env

REPORT = (
    "import json, os, sys\n"
    "import vigcv.audio, vigcv.audio.features, vigcv.audio.extract\n"
    "before = [m for m in ('librosa', 'numba') if m in sys.modules]\n"
    "from vigcv.audio.librosa_env import configure_numba_cache\n"
    "configure_numba_cache()\n"
    "import numba\n"
    "print(json.dumps({'before': before, 'env': os.environ.get('NUMBA_CACHE_DIR'),"
    " 'numba': numba.config.CACHE_DIR}))\n"
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A home in ``tmp_path``, no cache variables, and a stand-in numba to be told the folder.

    Whatever the test sets in the environment is undone afterwards (``setenv`` first, so that
    ``delenv`` remembers that the variable was absent), and this process's numba is untouched.
    """
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("XDG_CACHE_HOME", "NUMBA_CACHE_DIR"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    config = SimpleNamespace(CACHE_DIR="")
    monkeypatch.setitem(sys.modules, "numba", SimpleNamespace(core=SimpleNamespace(config=config)))
    return monkeypatch


def test_the_audio_stage_loads_librosa_late_and_numba_reads_the_cache_folder(
    tmp_path: Path,
) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    done = subprocess.run(
        [sys.executable, "-c", REPORT],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**clean, "HOME": str(tmp_path)},
    )
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["before"] == []
    folder = str(tmp_path / ".cache" / "vigcv" / "numba")
    assert found["env"] == found["numba"] == folder


def test_the_cache_folder_is_the_users_own(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "home" / ".cache" / "vigcv" / "numba"
    assert librosa_env.configure_numba_cache() == str(folder)
    assert os.environ["NUMBA_CACHE_DIR"] == str(folder) and folder.is_dir()
    told = sys.modules["numba"].core.config.CACHE_DIR  # an imported numba is told too
    assert told == str(folder)
    env.delenv("NUMBA_CACHE_DIR")
    env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert librosa_env.configure_numba_cache() == str(tmp_path / "xdg" / "vigcv" / "numba")


def test_an_unwritable_home_falls_back_to_the_temporary_folder(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "home-is-a-file"
    blocker.write_text("")
    env.setenv("HOME", str(blocker))
    env.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    folder = Path(librosa_env.configure_numba_cache())
    assert folder.is_relative_to(tmp_path / "tmp") and folder.is_dir()


def test_a_cache_folder_the_user_chose_is_kept(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert librosa_env.configure_numba_cache() == str(tmp_path / "mine")
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")
    assert str(tmp_path / "mine") == sys.modules["numba"].core.config.CACHE_DIR


def test_warm_librosa_loads_it() -> None:
    features.warm_librosa()
    assert "librosa" in sys.modules and "numba" in sys.modules
