"""A file processed before keeps its session name when it is run again on its own."""

from __future__ import annotations

import json
from pathlib import Path

from vigcv.batch import discover


def test_a_rerun_of_one_file_resumes_its_earlier_session(tmp_path: Path) -> None:
    films = tmp_path / "films"
    for family in ("family a", "family b"):
        (films / family).mkdir(parents=True)
        (films / family / "visit.mp4").write_bytes(b"\0")
    out = tmp_path / "out"
    first = {j.input.parent.name: j.session for j in discover([films], out=out)}
    assert first == {"family a": "family a_visit", "family b": "family b_visit"}
    for family, session in first.items():  # as a finished run leaves them
        (out / session).mkdir(parents=True)
        run = {"input": str((films / family / "visit.mp4").resolve())}
        (out / session / "run.json").write_text(json.dumps(run))
    (films / "visit.mp4").write_bytes(b"\0")  # a new file of the same name
    again = discover([films / "family b" / "visit.mp4", films / "visit.mp4"], out=out)
    assert [j.session for j in again] == ["family b_visit", "visit"]
    assert [j.session for j in discover([films / "family b" / "visit.mp4"])] == ["visit"]
