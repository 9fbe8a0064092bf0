"""The session folder: moments, windows, speech, turns, run.json, summary.csv, listing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.scoring.builders import hand_built_session
from vigcv import load_config, results
from vigcv.audio import find_turns
from vigcv.config import score_hash
from vigcv.errors import VigcvError
from vigcv.scoring import COMPONENTS, score_session
from vigcv.types import Moment, SpeechTrack


def test_write_moments_files(tmp_path):
    cfg = load_config()
    frames, speech, _ = hand_built_session()
    scores, moments, _ = score_session(frames, speech, config=cfg)
    out = tmp_path / "session1"
    paths = results.write_moments(
        out, moments, windows=scores.table, session="session1", config_hash=score_hash(cfg)
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "moments.csv",
        "moments.json",
        "windows.parquet",
    ]

    doc = json.loads(paths["json"].read_text())
    assert doc["session"] == "session1" and doc["config_hash"] == scores.config_hash
    assert [m["rank"] for m in doc["moments"]] == list(range(1, len(moments) + 1))
    first = doc["moments"][0]
    assert set(first) == {"rank", "start", "end", "score", "components", "principles", "reasons"}
    assert 0.0 <= first["score"] <= 1.0 and first["end"] > first["start"]
    assert set(first["components"]) <= set(COMPONENTS)
    assert Moment.from_dict(first).to_dict() == first

    csv = pd.read_csv(paths["csv"])
    assert list(csv.columns[:4]) == ["rank", "start", "end", "score"]
    assert set(COMPONENTS) <= set(csv.columns)
    assert len(csv) == len(moments)
    assert csv.loc[0, "reasons"].split(" | ")[0] == first["reasons"][0]

    windows = pd.read_parquet(paths["windows"])
    assert len(windows) == len(scores)
    assert {"start", "end", "score", "config_hash", *COMPONENTS} <= set(windows.columns)


def test_moments_csv_gives_times_as_mm_ss_beside_seconds(tmp_path):
    from vigcv.types import Segment

    moments = [
        Moment(Segment(72.4, 80.9), 2, 0.6, {}, reasons=("They smile together.",)),
        Moment(Segment(5.0, 9.999), 1, 0.8, {}),
        Moment(Segment(3599.5, 3725.2), 3, 0.5, {}),
    ]
    results.write_moments(tmp_path, moments, windows=pd.DataFrame(), session="s", config_hash="a")
    csv = pd.read_csv(tmp_path / "moments.csv", dtype={"start_mmss": str, "end_mmss": str})
    assert list(csv.columns[:6]) == ["rank", "start", "end", "score", "start_mmss", "end_mmss"]
    assert csv[["start_mmss", "end_mmss"]].values.tolist() == [
        ["00:05", "00:09"],
        ["01:12", "01:20"],
        ["59:59", "1:02:05"],
    ]
    assert csv["start"].tolist() == [5.0, 72.4, 3599.5]  # seconds stay as they were


def test_rewrite_replaces_files(tmp_path):
    cfg = load_config()
    frames, speech, _ = hand_built_session()
    scores, moments, _ = score_session(frames, speech, config=cfg)
    results.write_moments(tmp_path, moments, windows=scores.table, session="s", config_hash="a")
    results.write_moments(tmp_path, moments[:1], windows=scores.table, session="s", config_hash="b")
    doc = json.loads((tmp_path / "moments.json").read_text())
    assert doc["config_hash"] == "b" and len(doc["moments"]) == 1
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_moments_read_back_as_moment_objects(tmp_path):
    cfg = load_config()
    frames, speech, _ = hand_built_session()
    scores, moments, _ = score_session(frames, speech, config=cfg)
    assert results.read_moments(tmp_path) == []  # none yet
    results.write_moments(tmp_path, moments, windows=scores.table, session="s", config_hash="a")
    back = results.read_moments(tmp_path)
    assert [m.to_dict() for m in back] == [
        m.to_dict() for m in sorted(moments, key=lambda m: m.rank)
    ]
    (tmp_path / results.MOMENTS_JSON).write_text("{not json")
    with pytest.raises(VigcvError, match=r"moments\.json"):
        results.read_moments(tmp_path)


def test_speech_and_turns_are_complete_files(tmp_path):
    segments = pd.DataFrame(
        [(0.0, 1.0, "child", 0.8), (1.5, 2.0, "parent", 0.8)],
        columns=["start", "end", "speaker", "confidence"],
    )
    empty = SpeechTrack.empty()
    speech = SpeechTrack(np.zeros(0), np.zeros(0), segments, empty.turns)
    turns = find_turns(speech, None, config=load_config())
    results.write_speech(tmp_path, SpeechTrack(speech.times, speech.vad, segments, turns))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["speech.csv", "speech.rttm", "turns.csv"]
    rttm = (tmp_path / results.SPEECH_RTTM).read_text().splitlines()
    assert [line.split()[7] for line in rttm] == ["child", "parent"]
    assert results.read_turns(tmp_path)["contingent"].tolist() == ["yes"]
    assert list(results.read_speech(tmp_path).columns[:4]) == [
        "start",
        "end",
        "speaker",
        "confidence",
    ]


def test_sessions_of_an_out_folder(tmp_path):
    out = tmp_path / "OUT"
    for name in ("b", "a"):
        results.write_run(out / name, {"session": name, "status": "ok", "input": f"/x/{name}.mp4"})
    (out / "not-a-session").mkdir()
    (out / ".hidden").mkdir()
    results.write_run(out / ".hidden", {"status": "ok"})
    assert results.list_sessions(out) == ["a", "b"]
    assert results.session_dirs(out) == [out / "a", out / "b"]
    assert results.session_dirs(out / "a") == [out / "a"]  # a session folder is itself
    assert results.known_inputs(out) == {
        Path("/x/a.mp4").resolve(): "a",
        Path("/x/b.mp4").resolve(): "b",
    }
    assert results.read_run(out / "not-a-session", missing_ok=True) == {}
    with pytest.raises(VigcvError, match="not a processed session"):
        results.read_run(out / "not-a-session")


def test_summary_keeps_earlier_rows(tmp_path):
    results.write_summary(tmp_path, [results.SessionResult("a", Path("a.mp4"), "ok")])
    results.write_summary(
        tmp_path,
        [results.SessionResult("b", Path("b.mp4"), "failed", reason="b.mp4: not media")],
    )
    table = results.read_summary(tmp_path)
    assert table["session"].tolist() == ["a", "b"]
    assert results.failed_sessions(tmp_path) == [
        {"name": "b", "reason": "b.mp4: not media", "input": "b.mp4"}
    ]
