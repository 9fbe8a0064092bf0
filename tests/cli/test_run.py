"""`vigcv run` over a folder: outputs, summary, resume, naming; bad input never stops a batch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.builders import truncate, write_audio, write_video

VIGCV = [sys.executable, "-m", "vigcv.cli"]


def vigcv(
    *args: str | Path, cwd: Path | None = None, prefix: list[str] | None = None
) -> subprocess.CompletedProcess:
    cmd = [*(prefix or []), *VIGCV, *map(str, args)]
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


@pytest.fixture(scope="module")
def good_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short video with a tone and no faces: a valid recording where nothing is found."""
    return write_video(tmp_path_factory.mktemp("media") / "plain.mp4", seconds=4.0, fps=15)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, good_video: Path) -> dict:
    """One batch over good and bad inputs, run once for the tests below."""
    root = tmp_path_factory.mktemp("batch")
    films = root / "films"
    (films / "family a").mkdir(parents=True)
    (films / "family_b").mkdir()
    shutil.copy(good_video, films / "family a" / "visit.mp4")
    shutil.copy(good_video, films / "family_b" / "visit.mp4")  # same name, another folder
    shutil.copy(good_video, films / "family_b" / "Großmutter spielt.mov")  # unicode and spaces
    (films / "empty.mp4").write_bytes(b"")
    (films / "notes.mp4").write_text("this is not a video\n" * 100)
    truncate(good_video, films / "cut.mp4")
    (films / "readme.txt").write_text("ignored: not media")
    write_audio(films / "talk.wav", seconds=3.0)
    write_video(films / "silent.mp4", seconds=3.0, audio=False)
    out = root / "out"
    proc = vigcv("run", films, root / "missing.mp4", "--out", out)
    return {"root": root, "films": films, "out": out, "proc": proc}


def summary(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "summary.csv", keep_default_na=False).set_index("session")


def test_batch_goes_on_past_bad_files_and_says_why(batch: dict) -> None:
    proc, out = batch["proc"], batch["out"]
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    table = summary(out)
    assert table.loc["empty", "status"] == "failed"
    assert "empty (0 bytes)" in table.loc["empty", "reason"]
    assert "not a readable video" in table.loc["notes", "reason"]
    assert "not a readable video" in table.loc["cut", "reason"]
    assert "no such file" in table.loc["missing", "reason"]
    for name in ("family a_visit", "family_b_visit", "Großmutter spielt", "talk"):
        assert table.loc[name, "status"] == "ok", table.loc[name, "reason"]
    assert "readme" not in table.index
    for reason in table["reason"]:
        assert "\n" not in reason
    # every failure is said in one line on stderr, naming the file
    for name in ("empty.mp4", "notes.mp4", "cut.mp4", "missing.mp4"):
        lines = [line for line in proc.stderr.splitlines() if name in line]
        assert lines, f"{name} not reported:\n{proc.stderr}"


def test_each_session_has_its_outputs_and_run_json(batch: dict) -> None:
    out = batch["out"]
    session = out / "family a_visit"
    for name in (
        "run.json",
        "timeline.csv",
        "features.parquet",
        "speech.csv",
        "turns.csv",
        "moments.json",
    ):
        assert (session / name).is_file(), name
    run = json.loads((session / "run.json").read_text())
    assert run["status"] == "ok"
    assert len(run["input_sha256"]) == 64
    assert set(run["models"]) >= {"centerface", "face_landmarker", "silero_vad"}
    assert {"vision", "audio", "score", "total"} <= set(run["timings_s"])
    assert run["config_hash"] and run["extraction_key"]
    assert not list(out.rglob("*.part")), "temporary files left behind"
    audio_only = json.loads((out / "talk" / "run.json").read_text())
    assert not audio_only["media"]["has_video"]
    assert any("audio only" in w for w in audio_only["warnings"])
    assert "audio only" in summary(out).loc["talk", "notes"]
    assert summary(out).loc["silent", "status"] == "ok"
    assert "no audio track" in summary(out).loc["silent", "notes"]


def test_rerun_skips_done_sessions_and_force_redoes_them(batch: dict) -> None:
    films, out = batch["films"], batch["out"]
    good = films / "family a" / "visit.mp4"
    before = (out / "family a_visit" / "run.json").stat().st_mtime_ns
    again = vigcv("run", good, "--out", out)
    assert again.returncode == 0, again.stderr
    assert summary(out).loc["family a_visit", "status"] == "skipped"
    assert (out / "family a_visit" / "run.json").stat().st_mtime_ns == before
    assert "empty" in summary(out).index  # rows of the earlier batch are kept
    forced = vigcv("run", good, "--out", out, "--force")
    assert forced.returncode == 0, forced.stderr
    run = json.loads((out / "family a_visit" / "run.json").read_text())
    assert run["timings_s"].get("cache_hit") == 1.0  # extraction reused from the cache
    assert (out / "family a_visit" / "run.json").stat().st_mtime_ns != before


def test_new_scoring_settings_rescore_without_extracting(batch: dict, tmp_path: Path) -> None:
    films, out = batch["films"], batch["out"]
    config = tmp_path / "weights.toml"
    config.write_text("[scoring]\nwindow_s = 4.0\n")
    proc = vigcv("run", films / "family_b" / "visit.mp4", "--out", out, "--config", config)
    assert proc.returncode == 0, proc.stderr
    run = json.loads((out / "family_b_visit" / "run.json").read_text())
    assert run["timings_s"].get("cache_hit") == 1.0
    moments = json.loads((out / "family_b_visit" / "moments.json").read_text())
    assert moments["config_hash"] == run["config_hash"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--out"], "requires an argument"),
        (["run", "x.mp4"], "Missing option '--out'"),
        (
            ["run", "x.mp4", "--out", "o", "--parent-side", "top"],
            "--parent-side must be left or right",
        ),
        (["frobnicate"], "No such command"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    proc = vigcv(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_nothing_to_run_is_a_usage_error_and_creates_no_output(tmp_path: Path) -> None:
    empty = tmp_path / "films"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("no media here")
    cases = [
        ([tmp_path / "missing.mp4"], "missing.mp4: no such file or folder"),
        ([empty], "no video or audio files"),
        ([empty / "notes.txt"], "not a supported media type"),
    ]
    for inputs, message in cases:
        out = tmp_path / "out" / "deeper"
        proc = vigcv("run", *inputs, "--out", out)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "out").exists()
    both = vigcv("run", tmp_path / "missing.mp4", empty / "notes.txt", "--out", tmp_path / "out")
    assert both.returncode == 2 and not (tmp_path / "out").exists()
    assert "missing.mp4" in both.stderr and "notes.txt" in both.stderr


def test_bad_config_key_is_a_usage_error_naming_the_key(tmp_path: Path, good_video: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[scoring]\nwindow_length = 3\n")
    proc = vigcv("run", good_video, "--out", tmp_path / "o", "--config", config)
    assert proc.returncode == 2
    assert "unknown config key 'scoring.window_length'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unwritable_output_is_one_line(tmp_path: Path, good_video: Path) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    proc = vigcv("run", good_video, "--out", blocker / "out")
    assert proc.returncode == 1
    assert "cannot write" in proc.stderr and "Traceback" not in proc.stderr


def test_unreadable_folder_is_reported_and_the_rest_runs(
    tmp_path: Path, good_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from vigcv import batch as batch_module
    from vigcv.cli import app

    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(good_video, tmp_path / "ok.mp4")
    real_scandir = os.scandir

    def scandir(path):  # root reads every folder, so refuse this one by hand
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(batch_module.os, "scandir", scandir)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["run", str(locked), str(tmp_path / "ok.mp4"), "--out", str(out)]
    )
    assert result.exit_code == 1
    table = summary(out)
    assert table.loc["locked", "status"] == "failed"
    assert "permission denied" in table.loc["locked", "reason"]
    assert table.loc["ok", "status"] == "ok"


def test_run_works_with_the_network_cut_off(tmp_path: Path, good_video: Path) -> None:
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-n", "true"]).returncode != 0:
        pytest.skip("unshare -n is not permitted here")
    proc = vigcv("run", good_video, "--out", tmp_path / "out", prefix=["unshare", "-n"])
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "plain" / "run.json").is_file()


def test_square_brackets_in_names_and_messages_are_printed_as_they_are(tmp_path: Path) -> None:
    # The console reads "[word]" as a style; names and reasons must come through untouched.
    films = tmp_path / "films"
    films.mkdir()
    (films / "visit [home].mp4").write_bytes(b"")
    proc = vigcv("run", films, "--out", tmp_path / "out")
    assert proc.returncode == 1
    assert "visit [home]" in proc.stdout
    config = tmp_path / "my [home] settings.toml"
    config.write_text("[scoring]\nwindow_length = 3\n")
    proc = vigcv("run", films, "--out", tmp_path / "o", "--config", config)
    assert f"{config}: unknown config key 'scoring.window_length'" in proc.stderr
