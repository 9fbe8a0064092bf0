"""The bad-input corpus: every odd recording ends in a correct result or a one-line reason.

One batch (``--jobs 2``) runs over all the odd files at once; each row of its summary is checked,
and so is what it leaves on disk: no traceback, no temporary or half-written file, no run.json for
a session that did not finish, and the good session in the batch identical to a clean run.
Separate tests cover what needs its own run: a read-only and a full output disk (tmpfs mounts;
skipped where mounting is not permitted), a run killed with SIGKILL and resumed, and a two-hour
audio file that must be streamed.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.batch.conftest import RESULT_FILES, VIGCV, kill_a_worker, same_results, vigcv
from tests.batch.media import faces_frame, write_image_video, write_long_wav
from tests.builders import truncate, write_video

UNICODE_NAME = "Großmutter spielt 😀"


@pytest.fixture(scope="module")
def corpus(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("corpus")
    films = root / "films"
    (films / "family one").mkdir(parents=True)
    (films / "empty.mp4").write_bytes(b"")
    (films / "notes.mp4").write_text("this is a shopping list, not a video\n" * 40)
    shutil.copy(inputs / "plain.mp4", films / "renamed.avi")  # mp4 inside, .avi outside
    shutil.copy(inputs / "plain.mp4", films / "plain.mp4")  # a good one: must match a clean run
    truncate(inputs / "textbook.mp4", films / "cut.mp4", fraction=0.5)
    write_image_video(films / "no audio.mp4", faces_frame(2), seconds=1.5)
    shutil.copy(inputs / "talk.wav", films / "audio only.wav")
    write_image_video(films / "one face.mp4", faces_frame(1), seconds=1.5, audio=True)
    write_image_video(films / "three faces.mp4", faces_frame(3, width=900), seconds=1.5, audio=True)
    upright = faces_frame(2, width=480, height=270)
    portrait = upright.transpose(1, 0, 2)[::-1].copy()  # stored sideways, as phones do
    write_image_video(films / "phone.mp4", portrait, seconds=1.5, rotation=90, audio=True)
    vfr_times = [0, 0.04, 0.1, 0.3, 0.33, 0.7, 0.71, 1.2, 1.25, 1.3, 2.0, 2.1]
    write_video(films / "vfr.mp4", times=vfr_times)
    write_video(films / "one frame.mp4", times=[0.0])
    huge = faces_frame(2, width=4000, height=3000)
    write_image_video(films / "huge.mp4", huge, seconds=0.3, fps=10.0, audio=True)
    write_video(films / "family one" / f"{UNICODE_NAME}.mov", seconds=1.5, fps=10)
    (root / "report.docx").write_text("not media")
    out = root / "out"
    proc = vigcv("run", films, root / "report.docx", "--out", out, "--jobs", "2")
    table = pd.read_csv(out / "summary.csv", keep_default_na=False).set_index("session")
    return {"root": root, "films": films, "out": out, "proc": proc, "table": table}


FAILS = {
    "empty": "file is empty (0 bytes)",
    "notes": "not a readable video or audio file",
    "cut": "not a readable video or audio file",
    "report": "not a supported media type (.docx)",
}
WORKS = [
    "renamed",
    "plain",
    "no audio",
    "audio only",
    "one face",
    "three faces",
    "phone",
    "vfr",
    "one frame",
    "huge",
    UNICODE_NAME,
]


def test_the_batch_finishes_with_one_line_reasons_and_no_traceback(corpus: dict) -> None:
    proc, table = corpus["proc"], corpus["table"]
    assert proc.returncode == 1, proc.stderr  # some inputs failed; the batch still finished
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "internal error" not in proc.stdout + proc.stderr
    assert sorted(table.index) == sorted([*FAILS, *WORKS])
    for session, words in FAILS.items():
        assert table.loc[session, "status"] == "failed"
        reason = table.loc[session, "reason"]
        assert words in reason and "\n" not in reason
        assert any(words in line for line in proc.stderr.splitlines()), session
    for session in WORKS:
        assert table.loc[session, "status"] == "ok", (session, table.loc[session, "reason"])


def test_nothing_half_written_is_left(corpus: dict) -> None:
    out = corpus["out"]
    assert not list(out.rglob("*.part")), "temporary files left behind"
    for session in FAILS:
        assert not (out / session / "run.json").exists()
    for session in WORKS:
        folder = out / session
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        assert run["status"] == "ok"
        for name in RESULT_FILES:
            assert (folder / name).is_file(), (session, name)
        json.loads((folder / "moments.json").read_text(encoding="utf-8"))
        for name in ("timeline.csv", "speech.csv", "turns.csv"):
            pd.read_csv(folder / name)
        pd.read_parquet(folder / "features.parquet")


def test_a_good_session_in_a_bad_batch_matches_a_clean_run(corpus: dict, reference: Path) -> None:
    same_results(reference, corpus["out"], ["plain"])


def _people(out: Path, session: str) -> pd.Series:
    """Frames in which each role's face was seen."""
    table = pd.read_parquet(out / session / "features.parquet")
    return table[table["visible"].astype(bool)].groupby("role").size()


def test_faces_are_counted_as_they_are(corpus: dict) -> None:
    out, table = corpus["out"], corpus["table"]
    assert _people(out, "one face").to_dict().keys() == {"parent"}
    assert "found 1 of 2 people's faces" in table.loc["one face", "notes"]
    # Three people: the pair and one more, all followed (people.csv lists the three).
    assert set(_people(out, "three faces").index) == {"parent", "child", "unknown"}
    assert len(pd.read_csv(out / "three faces" / "people.csv")) == 3
    assert set(_people(out, "no audio").index) == {"parent", "child"}
    assert "no audio track" in table.loc["no audio", "notes"]
    assert _people(out, "plain").empty
    assert "audio only" in table.loc["audio only", "notes"]


def test_a_rotated_phone_video_is_turned_upright(corpus: dict) -> None:
    run = json.loads((corpus["out"] / "phone" / "run.json").read_text())
    assert run["media"]["rotation"] in (90, -90, 270)
    people = _people(corpus["out"], "phone")
    assert set(people.index) == {"parent", "child"}
    assert people.min() >= 10  # both faces in most of the 15 frames


def test_huge_frames_are_scaled_down_and_still_analysed(corpus: dict) -> None:
    run = json.loads((corpus["out"] / "huge" / "run.json").read_text())
    assert (run["media"]["width"], run["media"]["height"]) == (4000, 3000)
    assert set(_people(corpus["out"], "huge").index) == {"parent", "child"}


def test_odd_timing_gives_an_ordered_timeline(corpus: dict) -> None:
    for session, rows in (("vfr", 2), ("one frame", 1)):
        timeline = pd.read_csv(corpus["out"] / session / "timeline.csv")
        assert len(timeline) >= rows
        assert timeline["t"].is_monotonic_increasing and timeline["t"].is_unique


def test_unicode_and_spaces_in_names(corpus: dict) -> None:
    folder = corpus["out"] / UNICODE_NAME
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run["session"] == UNICODE_NAME
    assert run["input"].endswith(f"family one/{UNICODE_NAME}.mov")
    assert UNICODE_NAME in corpus["proc"].stdout


# -- runs of their own --------------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at ``path`` (skips the test where mounting is not permitted)."""
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip() or proc.returncode}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_a_read_only_output_is_one_line(inputs: Path, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        proc = vigcv("run", inputs / "plain.mp4", "--out", ro / "out", "--jobs", "1")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and "cannot write here" in lines[0], proc.stderr


def test_a_read_only_session_folder_fails_only_that_session(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with tmpfs(out / "plain", "ro,size=1m"):
        proc = vigcv("run", inputs / "plain.mp4", inputs / "talk.wav", "--out", out, "-j", "2")
        table = pd.read_csv(out / "summary.csv", keep_default_na=False).set_index("session")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert table.loc["plain", "status"] == "failed"
    assert "cannot write here" in table.loc["plain", "reason"]
    assert table.loc["talk", "status"] == "ok"


def test_a_full_disk_fails_cleanly_and_a_rerun_after_freeing_space_completes(
    inputs: Path, reference: Path, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "disk", "size=2m") as disk:
        filler = disk / "filler"
        filler.write_bytes(b"\0" * (2048 - 48) * 1024)  # leave 48 KiB: less than one session
        out = disk / "out"
        args = ("run", inputs / "plain.mp4", inputs / "talk.wav", "--out", out, "-j", "2")
        proc = vigcv(*args)
        assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
        summary = out / "summary.csv"  # may itself not fit on the disk
        said = proc.stderr + (summary.read_text(encoding="utf-8") if summary.is_file() else "")
        assert "no space left" in said.lower(), proc.stderr
        assert not list(out.rglob("*.part"))
        for run_file in out.rglob("run.json"):  # a session that did finish is whole
            assert json.loads(run_file.read_text(encoding="utf-8"))["status"] == "ok"
        assert len(list(out.rglob("run.json"))) < 2
        filler.unlink()
        again = vigcv(*args)
        assert again.returncode == 0, again.stderr
        same_results(reference, out, ["plain", "talk"])


def test_a_run_killed_mid_session_leaves_nothing_corrupt_and_resumes(
    inputs: Path, reference: Path, tmp_path: Path
) -> None:
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "out"
    args = [*VIGCV, "run", str(inputs / "textbook.mp4"), str(inputs / "talk.wav")]
    args += ["--out", str(out), "--jobs", "2"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (out / "textbook").is_dir() and time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.1)
    time.sleep(1.0)  # well inside extraction of the 12 s session
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert not (out / "textbook" / "run.json").exists(), "finished before the kill"
    proc.kill()
    proc.wait()
    _, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, f"workers outlived the killed run: {alive}"
    assert not (out / "textbook" / "run.json").exists()
    for path in out.rglob("*"):  # every file under its final name is whole
        if path.name.endswith(".part") or any(p.name.endswith(".part") for p in path.parents):
            continue
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".csv":
            pd.read_csv(path)
        elif path.suffix == ".parquet":
            pd.read_parquet(path)
    again = vigcv(*args[len(VIGCV) :])
    assert again.returncode == 0, again.stderr
    assert not list(out.rglob("*.part"))
    same_results(reference, out, ["textbook", "talk"])


PEAK = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _peak_run(*args: str | Path) -> tuple[subprocess.CompletedProcess, float]:
    """Run the CLI in a fresh process tree; return it and its peak resident memory in MB."""
    proc = subprocess.run(
        [sys.executable, "-c", PEAK, *VIGCV, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    return proc, int(proc.stderr.strip().splitlines()[-1]) / 1024


@pytest.mark.slow
def test_a_two_hour_audio_file_is_streamed(inputs: Path, tmp_path: Path) -> None:
    long = write_long_wav(tmp_path / "two hours.wav", seconds=2 * 3600.0)
    short_proc, short_mb = _peak_run("run", inputs / "talk.wav", "--out", tmp_path / "s", "-j", "1")
    assert short_proc.returncode == 0, short_proc.stderr
    proc, long_mb = _peak_run("run", long, "--out", tmp_path / "out", "-j", "1")
    assert proc.returncode == 0, proc.stderr
    run = json.loads((tmp_path / "out" / "two hours" / "run.json").read_text())
    assert run["media"]["duration_s"] == pytest.approx(7200.0, abs=1.0)
    timeline = pd.read_csv(tmp_path / "out" / "two hours" / "timeline.csv")
    assert timeline["t"].iloc[-1] > 7100
    # decoded whole, two hours of 16 kHz float32 audio alone would be 460 MB more
    assert long_mb - short_mb < 300, f"peak {long_mb:.0f} MB vs {short_mb:.0f} MB for 3 s"


def test_a_worker_killed_mid_session_is_retried_and_the_batch_completes(
    inputs: Path, reference: Path, tmp_path: Path
) -> None:
    pytest.importorskip("psutil")
    out = tmp_path / "out"
    args = [*VIGCV, "run", str(inputs), "--out", str(out), "--jobs", "2"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "textbook").is_dir() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    assert not (out / "textbook" / "run.json").exists(), "finished before the kill"
    kill_a_worker(proc)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stdout + stderr
    table = pd.read_csv(out / "summary.csv", keep_default_na=False).set_index("session")
    assert set(table["status"]) == {"ok"}
    same_results(reference, out, ["textbook", "plain", "talk"])
