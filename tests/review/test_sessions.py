"""Reading OUT for the page: sessions, broken files, timeline data, the review command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vigcv.results.sessions import list_sessions, load_session, timeline_data


def test_sessions_are_folders_with_run_json(out_dir: Path) -> None:
    (out_dir / "notes").mkdir()
    (out_dir / ".hidden").mkdir()
    (out_dir / ".hidden" / "run.json").write_text("{}")
    (out_dir / "linked").symlink_to(out_dir / "family-a", target_is_directory=True)
    assert list_sessions(out_dir) == ["family-a", "family-b"]
    with pytest.raises(KeyError):
        load_session(out_dir, "../family-a")


def test_broken_files_become_problems_not_errors(out_dir: Path) -> None:
    folder = out_dir / "family-b"
    (folder / "moments.json").write_text("{not json")
    (folder / "windows.parquet").write_bytes(b"PAR1 broken")
    (folder / "speech.csv").write_text("start,end\n1,2\n")
    session = load_session(out_dir, "family-b")
    assert session.moments == [] and any("moments.json" in p for p in session.problems)
    data = timeline_data(session)
    assert data["windows"] == {"t": []}
    assert any("windows.parquet" in p for p in data["problems"])
    assert any("speech.csv" in p for p in data["problems"])
    assert data["duration"] == pytest.approx(12.0)  # from run.json and timeline.csv


def test_long_timelines_are_thinned_keeping_peaks(out_dir: Path) -> None:
    folder = out_dir / "family-a"
    t = np.arange(0.0, 3600.0, 0.1)  # an hour at 10 fps
    gaze = np.zeros_like(t)
    gaze[(t > 1800.0) & (t < 1810.0)] = 1.0
    pd.DataFrame({"t": t, "mutual_gaze": gaze, "parent_smile": 0.0}).to_csv(
        folder / "timeline.csv", index=False
    )
    data = timeline_data(load_session(out_dir, "family-a"), max_points=1000)
    signals = data["signals"]
    assert len(signals["t"]) == 1000 and "child_smile" not in signals
    peak = int(np.argmax(signals["mutual_gaze"]))
    assert signals["t"][peak] == pytest.approx(1805.0, abs=4.0)
    assert max(signals["mutual_gaze"]) > 0.9
    assert data["duration"] == pytest.approx(3600.0, abs=2.0)


def test_review_command_help_and_bad_folder(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "vigcv.cli", "review"]
    done = subprocess.run([*run, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "127.0.0.1" in done.stdout and "reviews.sqlite" in done.stdout
    bad = subprocess.run(
        [*run, str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "no such folder" in bad.stderr and "Traceback" not in bad.stderr
