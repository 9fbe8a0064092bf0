"""The documentation stays true: the examples of docs/labels.md are read by vigcv's own readers,
its Python snippets run, and every module named in ARCHITECTURE.md and docs/*.md exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vigcv.evaluation.coding import read_coding
from vigcv.evaluation.labels import LabelError, read_labels
from vigcv.evaluation.report import evaluate_out
from vigcv.evaluation.speech import read_rttm

REPO = Path(__file__).resolve().parents[1]
LABELS_MD = REPO / "docs" / "labels.md"
FILE_BLOCK = re.compile(r"<!-- file: (\S+) -->\s*```\w*\n(.*?)```", re.S)
RUN_BLOCK = re.compile(r"<!-- run: python -->\s*```python\n(.*?)```", re.S)


def doc_files(folder: Path) -> dict[str, Path]:
    """Write every ``<!-- file: NAME -->`` block of docs/labels.md into ``folder``."""
    written = {}
    for name, body in FILE_BLOCK.findall(LABELS_MD.read_text("utf-8")):
        written[name] = folder / name
        written[name].write_text(body, "utf-8")
    return written


def test_labels_md_has_an_example_of_every_format(tmp_path):
    names = set(doc_files(tmp_path))
    assert {"visit3.json", "family1.session.json", "visit3.eaf", "visit3.rttm"} <= names


def test_json_example_reads_as_documented(tmp_path):
    path = doc_files(tmp_path)["visit3.json"]
    frames = read_labels(path)
    assert frames["t"].tolist() == [1.5, 2.0, 2.5, 3.0, 3.5]
    assert frames["mutual_gaze"].tolist()[:3] == [0.0, 1.0, 1.0]
    assert np.isnan(frames["mutual_gaze"].iloc[3])  # null: the coder could not tell
    assert frames["parent_visible"].tolist() == [1.0] * 5  # true reads as 1
    coding = read_coding(path)
    assert [(m.segment.start, m.segment.end, m.strength) for m in coding.moments] == [
        (1.96, 6.96, 3),
        (9.0, 11.0, 1),
    ]
    assert coding.step_s == 0.5 and "visit3" in coding.names


def test_session_example_reads_its_parts(tmp_path):
    coding = read_coding(doc_files(tmp_path)["family1.session.json"])
    assert [name for name, _ in coding.clips] == ["family1.peekaboo.mp4", "family1.hat.mp4"]
    assert [m.clip for m in coding.moments] == ["family1.peekaboo.mp4", "family1.hat.mp4"]
    assert coding.duration == 12.0 and "family1" in coding.names
    assert np.isnan(coding.frames["child_smile"]).all()  # not coded at all: unknown


def test_eaf_example_reads_as_documented(tmp_path):
    coding = read_coding(doc_files(tmp_path)["visit3.eaf"], duration=12.0)
    frames = coding.frames.set_index("t")
    assert len(frames) == 120  # every 0.1 s over [0, 12)
    gaze = frames["mutual_gaze"]
    assert gaze.loc[1.9] == 0.0 and gaze.loc[2.0] == 1.0 and gaze.loc[2.9] == 1.0
    assert np.isnan(gaze.loc[3.0]) and np.isnan(gaze.loc[3.4]) and gaze.loc[3.5] == 0.0
    assert frames["parent_smile"].isna().all()  # no tier: unknown throughout
    assert [(m.segment.start, m.segment.end, m.strength) for m in coding.moments] == [
        (1.96, 6.96, 3)
    ]


def test_rttm_example_reads(tmp_path):
    table = read_rttm(doc_files(tmp_path)["visit3.rttm"])
    assert table["speaker"].tolist() == ["child", "parent", "parent"]
    assert table["end"].iloc[0] == pytest.approx(2.694 + 0.660)


@pytest.mark.parametrize("index", range(len(RUN_BLOCK.findall(LABELS_MD.read_text("utf-8")))))
def test_python_snippets_run(index, tmp_path, monkeypatch, capsys):
    doc_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    exec(compile(RUN_BLOCK.findall(LABELS_MD.read_text("utf-8"))[index], "labels.md", "exec"), {})
    assert capsys.readouterr().out.strip()


@pytest.mark.parametrize("example", ["visit3.json", "visit3.eaf"])
def test_evaluate_reads_the_examples(example, tmp_path):
    """The whole of ``vigcv evaluate`` on a tiny processed session named visit3."""
    files = doc_files(tmp_path)
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / example).write_bytes(files[example].read_bytes())
    session = tmp_path / "out" / "visit3"
    session.mkdir(parents=True)
    t = np.round(np.arange(0.0, 12.0, 0.1), 1)
    gaze = ((t >= 2.0) & (t < 3.0)).astype(float)
    pd.DataFrame({"t": t, "mutual_gaze": gaze}).to_csv(session / "timeline.csv", index=False)
    (session / "run.json").write_text(json.dumps({"media": {"duration_s": 12.0}}))
    moments = [{"rank": 1, "start": 2.0, "end": 6.0, "score": 0.9, "components": {}}]
    (session / "moments.json").write_text(json.dumps({"moments": moments}))
    result = evaluate_out(tmp_path / "out", labels)
    (evaluated,) = result.sessions
    assert evaluated.session == "visit3"
    assert evaluated.frame.loc["mutual_gaze", "n"] > 0
    assert evaluated.moments["precision_at_3"] == pytest.approx(1 / 3)  # one hit of strength 3


@pytest.mark.parametrize(
    ("moment", "message"),
    [({"start": 1.0, "end": 2.0, "strength": 5}, "strength"), ({"start": 2, "end": 1}, "after")],
)
def test_a_moment_against_the_format_is_a_one_line_error(moment, message, tmp_path):
    path = tmp_path / "bad.json"
    moment = {"strength": 2, **moment}
    path.write_text(json.dumps({"frames": [], "attuned_moments": [moment]}))
    with pytest.raises(LabelError, match=message) as info:
        read_coding(path)
    assert "docs/labels.md" in str(info.value) and "\n" not in str(info.value)


# -- module names in the docs ---------------------------------------------------------------------

DOCS = [REPO / "ARCHITECTURE.md", *sorted((REPO / "docs").glob("*.md"))]
MODULE_PATH = re.compile(r"(?<![\w./-])vigcv/[\w/]*\w\.py\b")
DOTTED = re.compile(r"(?<![\w./-])vigcv(?:\.[A-Za-z_]\w*)+")


def _module_file(parts: list[str]) -> Path | None:
    base = REPO.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def dotted_exists(name: str) -> bool:
    """``vigcv.a.b`` names a module, or a module followed by names defined or imported in it."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        path = _module_file(parts[:cut])
        if path is None:
            continue
        source = path.read_text("utf-8")
        rest = parts[cut:]
        return not rest or re.search(rf"\b{re.escape(rest[0])}\b", source) is not None
    return False


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_module_named_in_the_docs_exists(doc):
    assert doc.is_file(), f"{doc} is missing"
    text = doc.read_text("utf-8")
    paths = set(MODULE_PATH.findall(text))
    missing = sorted(p for p in paths if not (REPO / p).is_file())
    dotted = {d.rstrip(".") for d in DOTTED.findall(text)}
    missing += sorted(d for d in dotted if not dotted_exists(d))
    assert not missing, f"{doc.name} names modules that do not exist: {missing}"
