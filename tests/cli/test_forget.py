"""`vigcv forget`: a family's data leaves OUT in one command; the recordings and the other
families' data stay as they were."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.review.outdir import make_out
from vigcv.models import sha256_file
from vigcv.results.decisions import open_store

NOTE_A = "PRIVATE-NOTE-A the mother seemed tired today"
NOTE_B = "PRIVATE-NOTE-B lovely turn taking"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """OUT with two reviewed sessions, their exports, caches, summary rows and a failed one."""
    out = make_out(tmp_path, sessions=("family-a", "family-b"))
    with open_store(out) as store:
        for name, note in (("family-a", NOTE_A), ("family-b", NOTE_B)):
            store.set_field(name, start=1.0, end=4.0, field="status", value="accepted")
            store.set_field(name, start=1.0, end=4.0, field="note", value=note)
    for name in ("family-a", "family-b"):
        cache = out / name / "cache" / "0123-abcd" / "vision"
        cache.mkdir(parents=True)
        (cache / "frames_table.parquet").write_bytes(b"cached features")
        (out / name / "overlay.mp4").write_bytes(b"overlay video")
        export = out / "exports" / name / "2025-01-01_120000-parent"
        export.mkdir(parents=True)
        (export / "report.html").write_text(f"<p>{name}</p>")
    pd.DataFrame({"session": ["family-a", "family-b"], "note": [NOTE_A, NOTE_B]}).to_csv(
        out / "exports" / "decisions.csv", index=False
    )
    pd.DataFrame(
        {
            "session": ["family-a", "family-b", "family-c"],
            "input": ["/films/a.mp4", "/films/b.mp4", "/films/c.mp4"],
            "status": ["ok", "ok", "failed"],
            "reason": ["", "", "/films/c.mp4: not a readable video"],
        }
    ).to_csv(out / "summary.csv", index=False)
    return out


def vigcv(*args: str | Path, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    cmd = [sys.executable, "-m", "vigcv.cli", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=stdin, timeout=120)


def _database_bytes(out: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(out.glob("reviews.sqlite*")))


def test_forget_removes_one_family_and_nothing_else(out: Path, tmp_path: Path) -> None:
    recording = tmp_path / "media" / "play.mp4"
    film = sha256_file(recording)
    assert NOTE_A.encode() in _database_bytes(out)
    proc = vigcv("forget", out, "family-a", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert not (out / "family-a").exists()
    assert not (out / "exports" / "family-a").exists()
    assert NOTE_A.encode() not in _database_bytes(out)  # vacuumed: not lingering in free pages
    with open_store(out) as store:
        assert store.decisions("family-a") == [] and store.history("family-a") == []
        kept = store.decisions("family-b")
        assert [d.note for d in kept] == [NOTE_B] and len(store.history("family-b")) == 2
    summary = pd.read_csv(out / "summary.csv")
    assert summary["session"].tolist() == ["family-b", "family-c"]
    assert pd.read_csv(out / "exports" / "decisions.csv")["session"].tolist() == ["family-b"]
    for left in ("run.json", "moments.json", "overlay.mp4", "cache"):
        assert (out / "family-b" / left).exists()
    assert (out / "exports" / "family-b" / "2025-01-01_120000-parent" / "report.html").is_file()
    assert sha256_file(recording) == film  # the original recording is untouched
    assert "removed" in proc.stdout and "family-a" in proc.stdout
    assert "recordings were not touched" in proc.stdout


def test_forget_all_and_a_failed_session(out: Path) -> None:
    proc = vigcv("forget", out, "--all", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["exports"]
    assert list((out / "exports").iterdir()) == [out / "exports" / "decisions.csv"]
    assert pd.read_csv(out / "summary.csv").empty
    assert NOTE_A.encode() not in _database_bytes(out)
    assert NOTE_B.encode() not in _database_bytes(out)


def test_a_recording_kept_inside_a_session_folder_is_never_deleted(out: Path) -> None:
    film = out / "family-a" / "visit.mov"
    film.write_bytes(b"the family's own film")
    proc = vigcv("forget", out, "family-a", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert film.read_bytes() == b"the family's own film"
    assert sorted(p.name for p in (out / "family-a").iterdir()) == ["visit.mov"]
    assert "kept" in proc.stdout and "visit.mov" in proc.stdout


def test_without_yes_and_no_terminal_it_refuses_with_a_hint(out: Path) -> None:
    proc = vigcv("forget", out, "family-a")
    assert proc.returncode == 2
    assert "--yes" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert (out / "family-a" / "run.json").is_file()
    with open_store(out) as store:
        assert [d.note for d in store.decisions("family-a")] == [NOTE_A]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["family-x"], "no session named 'family-x'"),
        ([], "name the sessions to forget, or --all"),
        (["family-a", "--all"], "not both"),
    ],
)
def test_usage_errors_exit_2_and_delete_nothing(out: Path, args: list[str], message: str) -> None:
    proc = vigcv("forget", out, *args, "--yes")
    assert proc.returncode == 2 and message in proc.stderr
    assert (out / "family-a" / "run.json").is_file()
    assert (out / "exports" / "family-a").is_dir()
    assert vigcv("forget", out.parent / "nowhere", "family-a", "--yes").returncode == 2


def test_it_asks_at_a_terminal(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vigcv.cli import app
    from vigcv.commands import forget

    monkeypatch.setattr(forget, "_interactive", lambda: True)
    answer_no = CliRunner().invoke(app, ["forget", str(out), "family-b"], input="n\n")
    assert answer_no.exit_code == 1 and "nothing deleted" in answer_no.output
    assert (out / "family-b" / "run.json").is_file()
    answer_yes = CliRunner().invoke(app, ["forget", str(out), "family-b"], input="y\n")
    assert answer_yes.exit_code == 0, answer_yes.output
    assert "recordings are kept" in answer_yes.output
    assert not (out / "family-b").exists()
