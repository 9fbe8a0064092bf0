"""Workers take the longest recordings first, and a worker allowed one thread uses one core."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from vigcv import executors
from vigcv.batch import discover
from vigcv.config import load_config
from vigcv.errors import ConfigError, VigcvError
from vigcv.vision import scan


def _tasks(inputs: Path, out: Path, **overrides: dict) -> list[executors.Task]:
    config = load_config(overrides=overrides)
    return [executors.Task(job, out, config) for job in discover([inputs])]


def test_longest_first_puts_long_videos_before_short_ones_and_audio_last(inputs: Path) -> None:
    tasks = _tasks(inputs, inputs / "out")
    assert [t.job.session for t in tasks] == ["plain", "talk", "textbook"]  # file order
    estimates = [executors.work_estimate(t) for t in tasks]
    assert estimates[0][0] and estimates[2][0] and not estimates[1][0]  # talk is a WAV
    assert estimates[2][1] == pytest.approx(12.0, abs=0.2)
    assert estimates[0][1] == pytest.approx(3.0, abs=0.2)
    ordered = executors.longest_first(tasks)
    assert [t.job.session for t in ordered] == ["textbook", "plain", "talk"]
    missing = executors.Task(
        discover([inputs / "gone.mp4"])[0], inputs / "out", load_config()
    )  # cannot be probed: no work, last
    assert executors.longest_first([missing, *tasks])[-1] is missing


def test_the_pool_hands_out_the_longest_session_first(
    inputs: Path, reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(reference, out)  # done sessions: each is a quick "skipped"
    finished: list[tuple[str, str]] = []
    executors.run_local(
        _tasks(inputs, out),
        workers=1,  # one worker runs them in the order they were handed out
        hook=None,
        on_result=lambda r: finished.append((r.session, r.status)),
    )
    assert finished == [("textbook", "skipped"), ("plain", "skipped"), ("talk", "skipped")]


def test_a_bad_decode_ahead_setting_is_one_line_before_any_session(
    inputs: Path, tmp_path: Path
) -> None:
    # refused when the config is read, naming the key, the value and the choices
    with pytest.raises(
        ConfigError,
        match=r"^override: 'batch.decode_ahead' must be one of 'auto', 'on', 'off', "
        r"got 'sometimes'$",
    ):
        _tasks(inputs, tmp_path / "out", batch={"decode_ahead": "sometimes"})
    # a config changed in code after it was read is still refused before any session starts
    tasks = _tasks(inputs, tmp_path / "out")
    tasks[0].config["batch"]["decode_ahead"] = "sometimes"
    with pytest.raises(
        VigcvError, match=r"^'batch.decode_ahead' must be one of auto, on, off, got 'sometimes'$"
    ):
        executors.run_serial(tasks, hook=None, on_result=lambda r: None)
    assert not (tmp_path / "out").exists()


def _scan(video: Path) -> tuple[scan.ScanResult, set[str]]:
    """Scan the first 4 s of ``video``; the names of the threads alive while it ran."""
    config = load_config()
    seen: set[str] = set()

    def hook(step: str, artifact: object = None, **progress: object) -> None:
        seen.update(t.name for t in threading.enumerate())

    result = scan.scan_video(
        video,
        fps=float(config["ingest"]["analysis_fps"]),
        max_side=int(config["ingest"]["max_side"]),
        vc={**config["vision"], "progress_every": 5},
        total=0,
        hook=hook,
        end=4.0,
    )
    return result, seen


def test_decoding_in_the_scans_own_thread_starts_no_thread_and_changes_nothing(
    inputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(scan.DECODE_AHEAD_ENV, "1")
    ahead, threads_ahead = _scan(inputs / "textbook.mp4")
    monkeypatch.setenv(scan.DECODE_AHEAD_ENV, "0")
    inline, threads_inline = _scan(inputs / "textbook.mp4")
    assert scan.DECODE_THREAD in threads_ahead
    assert scan.DECODE_THREAD not in threads_inline
    assert scan.DECODE_THREAD not in {t.name for t in threading.enumerate()}  # none left over
    assert len(inline.times) > 20 and np.array_equal(ahead.times, inline.times)
    assert len(inline.faces["frame"]) > 0
    for name, values in ahead.faces.items():
        assert np.array_equal(values, inline.faces[name], equal_nan=True), name


def test_an_explicit_setting_overrides_the_workers_thread_budget(
    inputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(scan.DECODE_AHEAD_ENV, "0")  # as limit_threads(1) leaves it
    seen: list[bool] = []
    task = _tasks(inputs, inputs / "out", batch={"decode_ahead": "on"})[0]
    with executors._decoding(executors.decode_ahead_for(task.config)):
        seen.append(scan.decode_ahead())
    seen.append(scan.decode_ahead())
    with executors._decoding(executors.decode_ahead_for(load_config())):  # auto: as it was
        seen.append(scan.decode_ahead())
    assert seen == [True, False, False]
