"""Exit codes as the README states them: 0 done, 1 some session or file failed, 2 a usage error
(a wrong path or option), and a usage error creates nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_run import vigcv


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["score", "{empty}"], "no processed sessions here"),
        (["score", "{tmp}/nowhere"], "not a session folder"),
        (["export", "{tmp}/nowhere"], "no such folder"),
        (["synth", "{tmp}/new/film.avi"], "must end in .mp4"),
        (["relink", "{empty}", "{tmp}"], "no analysed sessions here"),
        (["forget", "{tmp}/nowhere", "--all", "--yes"], "no such folder"),
    ],
)
def test_usage_errors_exit_2_and_create_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = [a.format(tmp=tmp_path, empty=empty) for a in args]
    proc = vigcv(*argv)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]
    assert list(empty.iterdir()) == []
