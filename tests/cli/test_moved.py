"""A film moved after it was analysed: `vigcv run` from the new place, `vigcv relink`, the review
page's session JSON and `vigcv export` all notice, say what to do, and never re-analyse."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest

from tests.builders import write_video
from tests.cli.test_run import vigcv
from tests.review.conftest import Client
from tests.review.outdir import make_out
from vigcv.config import load_config
from vigcv.models import sha256_file
from vigcv.results.decisions import open_store


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One real `vigcv run` of a short film, then the film moved to another folder."""
    root = tmp_path_factory.mktemp("moved")
    films = root / "films"
    films.mkdir()
    write_video(films / "visit.mp4", seconds=4.0, fps=15)
    out = root / "out"
    first = vigcv("run", films, "--out", out)
    assert first.returncode == 0, first.stderr
    return {"root": root, "films": films, "out": out}


def _run(out: Path, session: str) -> dict:
    return json.loads((out / session / "run.json").read_text())


def test_run_from_the_new_place_updates_the_path_without_re_analysing(
    analysed: dict, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(analysed["out"], out)
    before = _run(out, "visit")
    before["input"] = str(tmp_path / "old place" / "visit.mp4")  # where it was: gone now
    (out / "visit" / "run.json").write_text(json.dumps(before))
    moved = tmp_path / "elsewhere" / "renamed visit.mp4"
    moved.parent.mkdir()
    shutil.copy(analysed["films"] / "visit.mp4", moved)  # a copy: a new modification time
    proc = vigcv("run", moved.parent, "--out", out)
    assert proc.returncode == 0, proc.stderr
    reason = pd.read_csv(out / "summary.csv").set_index("session").loc["visit", "reason"]
    assert reason.startswith("moved: path updated, not re-analysed")
    assert "moved: path" in proc.stdout
    run = _run(out, "visit")  # the session keeps its name, though the file's name changed
    assert run["input"] == str(moved.resolve())
    assert run["input_mtime_ns"] == moved.stat().st_mtime_ns
    assert run["finished"] == before["finished"] and run["timings_s"] == before["timings_s"]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["visit"]
    # and now it is simply done
    again = vigcv("run", moved, "--out", out)
    assert again.returncode == 0, again.stderr
    reason = pd.read_csv(out / "summary.csv").set_index("session").loc["visit", "reason"]
    assert reason.startswith("already done")


def test_a_different_film_of_the_same_name_never_takes_over_a_session(
    analysed: dict, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(analysed["out"], out)
    other = tmp_path / "family2" / "visit.mp4"
    other.parent.mkdir()
    write_video(other, seconds=3.0, fps=15)
    proc = vigcv("run", other, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert _run(out, "visit")["input"] == str((analysed["films"] / "visit.mp4").resolve())
    assert _run(out, "visit_2")["input"] == str(other.resolve())


def test_relink_command_exit_codes_and_messages(analysed: dict, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(analysed["out"], out)
    old = _run(out, "visit")["input"]
    empty = tmp_path / "empty"
    empty.mkdir()
    gone = Path(old).with_name("gone-for-the-test.mp4")
    run = _run(out, "visit")
    run["input"] = str(gone)  # as if the film had been moved away from there
    (out / "visit" / "run.json").write_text(json.dumps(run))

    proc = vigcv("relink", out, empty)
    assert proc.returncode == 1
    assert "not found visit" in proc.stderr and f"vigcv relink {out}" in proc.stderr
    assert _run(out, "visit")["input"] == str(gone)

    proc = vigcv("relink", out, empty, analysed["films"])
    assert proc.returncode == 0, proc.stderr
    assert "found     visit" in proc.stdout and "1 of 1" in proc.stdout
    assert _run(out, "visit")["input"] == old

    proc = vigcv("relink", out, analysed["films"])
    assert proc.returncode == 0 and "nothing to do" in proc.stdout
    assert vigcv("relink", out, tmp_path / "nope").returncode == 2
    assert vigcv("relink", empty, analysed["films"]).returncode == 2
    assert vigcv("relink", out).returncode == 2


@pytest.fixture
def reviewed(tmp_path: Path) -> dict:
    """OUT with one kept moment, its film then moved away."""
    out = make_out(tmp_path, sessions=("family-a",))
    media = tmp_path / "media" / "play.mp4"
    run = json.loads((out / "family-a" / "run.json").read_text())
    run |= {"input_sha256": sha256_file(media), "input_size": media.stat().st_size}
    (out / "family-a" / "run.json").write_text(json.dumps(run))
    with open_store(out) as store:
        store.set_field("family-a", start=1.0, end=4.0, field="status", value="accepted")
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.move(media, moved / "play.mp4")
    return {"out": out, "moved": moved}


def test_the_review_page_says_where_the_film_was_and_what_to_do(reviewed: dict) -> None:
    from vigcv.review.server import make_server

    out = reviewed["out"]
    srv = make_server(out, config=load_config())
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        client = Client(srv.app.port, srv.app.token, srv.app.csrf)
        status, listing = client.json("GET", "/api/sessions")
        assert status == 200 and listing["sessions"][0]["recording_found"] is False
        status, session = client.json("GET", "/api/sessions/family-a")
        recording = session["recording"]
        assert recording["found"] is False
        assert recording["path"].endswith("media/play.mp4")
        assert f"vigcv relink {out}" in recording["hint"]
        assert vigcv("relink", out, reviewed["moved"]).returncode == 0
        _, session = client.json("GET", "/api/sessions/family-a")
        assert session["recording"] == {
            "found": True,
            "path": str((reviewed["moved"] / "play.mp4").resolve()),
            "hint": "",
        }
        _, listing = client.json("GET", "/api/sessions")
        assert listing["sessions"][0]["recording_found"] is True
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def test_export_of_a_kept_moment_whose_film_moved_exits_1_naming_relink(reviewed: dict) -> None:
    out = reviewed["out"]
    proc = vigcv("export", out)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    text = " ".join((proc.stdout + proc.stderr).split())
    assert "family-a" in text and f"vigcv relink {out}" in text
    assert vigcv("relink", out, reviewed["moved"]).returncode == 0
    proc = vigcv("export", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 clip(s)" in proc.stdout
