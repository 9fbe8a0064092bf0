"""A moved recording is found again by its content, and its session is told where it is now."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from vigcv import results
from vigcv.errors import VigcvError
from vigcv.models import sha256_file
from vigcv.results import relink as rl


def _session(out: Path, name: str, media: Path) -> Path:
    """OUT/<name>/run.json as `vigcv run` writes it for ``media``."""
    folder = out / name
    folder.mkdir(parents=True)
    stat = media.stat()
    run = {
        "session": name,
        "status": "ok",
        "input": str(media.resolve()),
        "input_sha256": sha256_file(media),
        "input_size": stat.st_size,
        "input_mtime_ns": stat.st_mtime_ns,
        "moments": 0,
    }
    (folder / "run.json").write_text(json.dumps(run))
    return folder


@pytest.fixture
def moved(tmp_path: Path) -> dict:
    films = tmp_path / "films"
    films.mkdir()
    a, b, c = films / "a.mp4", films / "b.mp4", films / "c.mp4"
    a.write_bytes(b"family a " * 1000)
    b.write_bytes(b"family b " * 1000)
    c.write_bytes(b"family c " * 2000)
    out = tmp_path / "out"
    for media in (a, b, c):
        _session(out, media.stem, media)
    new = tmp_path / "new" / "deep"
    new.mkdir(parents=True)
    shutil.move(a, new / "renamed a.mp4")
    shutil.move(b, new / "b.mp4")
    decoy = tmp_path / "new" / "decoy.mp4"  # same size as a and b, other content
    decoy.write_bytes(b"family x " * 1000)
    c.unlink()  # c is gone for good
    return {"out": out, "new": tmp_path / "new", "films": films}


def test_relink_finds_moved_films_by_content_and_updates_run_json(moved: dict) -> None:
    out, new = moved["out"], moved["new"]
    before = results.read_run(out / "a")
    assert set(rl.missing_recordings(out)) == {"a", "b", "c"}
    done = {item.session: item for item in rl.relink(out, [new])}
    assert done["a"].new == (new / "deep" / "renamed a.mp4").resolve()
    assert done["b"].new == (new / "deep" / "b.mp4").resolve()
    assert done["c"].new is None and done["c"].old.endswith("c.mp4")
    run = results.read_run(out / "a")
    assert run["input"] == str(new / "deep" / "renamed a.mp4")
    assert run["input_sha256"] == before["input_sha256"]  # not re-analysed: same content
    assert run["input_mtime_ns"] == (new / "deep" / "renamed a.mp4").stat().st_mtime_ns
    assert run["moved_from"] == before["input"]
    assert results.recording(run) is not None
    assert set(rl.missing_recordings(out)) == {"c"}
    assert rl.relink(out, [new])[0].session == "c"  # a second pass looks only for c


def test_only_files_of_the_recorded_size_are_hashed(moved: dict, monkeypatch) -> None:
    out, new = moved["out"], moved["new"]
    (new / "big.mp4").write_bytes(b"z" * 50_000)  # another size: never hashed
    hashed: list[Path] = []
    real = rl.sha256_file

    def spy(path: Path) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(rl, "sha256_file", spy)
    rl.relink(out, [new])
    assert (new / "big.mp4").resolve() not in hashed
    assert len(hashed) == len(set(hashed)) == 3  # a, b and the decoy, each once


def test_recording_state_says_what_to_do(moved: dict) -> None:
    out = moved["out"]
    state = rl.recording_state(out, results.read_run(out / "a"))
    assert state["found"] is False
    assert state["path"].endswith("a.mp4")
    assert f"vigcv relink {out}" in state["hint"] and "\n" not in state["hint"]
    rl.relink(out, [moved["new"]])
    state = rl.recording_state(out, results.read_run(out / "a"))
    assert state == {
        "found": True,
        "path": str(moved["new"] / "deep" / "renamed a.mp4"),
        "hint": "",
    }


def test_update_refuses_a_film_with_other_content(moved: dict) -> None:
    out, new = moved["out"], moved["new"]
    before = (out / "a" / "run.json").read_text()
    with pytest.raises(VigcvError, match="different content"):
        rl.update_recording(out / "a", new / "decoy.mp4", sha256=sha256_file(new / "decoy.mp4"))
    assert (out / "a" / "run.json").read_text() == before
