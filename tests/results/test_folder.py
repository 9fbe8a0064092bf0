"""moments.json, moments.csv and windows.parquet."""

from __future__ import annotations

import json

import pandas as pd

from tests.scoring.builders import hand_built_session
from vigcv import load_config
from vigcv.config import score_hash
from vigcv.scoring import COMPONENTS, score_session, write_moments
from vigcv.types import Moment


def test_write_moments_files(tmp_path):
    cfg = load_config()
    frames, speech, _ = hand_built_session()
    scores, moments, _ = score_session(frames, speech, config=cfg)
    out = tmp_path / "session1"
    paths = write_moments(moments, scores, out, session="session1", config_hash=score_hash(cfg))
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


def test_rewrite_replaces_files(tmp_path):
    cfg = load_config()
    frames, speech, _ = hand_built_session()
    scores, moments, _ = score_session(frames, speech, config=cfg)
    write_moments(moments, scores, tmp_path, session="s", config_hash="a")
    write_moments(moments[:1], scores, tmp_path, session="s", config_hash="b")
    doc = json.loads((tmp_path / "moments.json").read_text())
    assert doc["config_hash"] == "b" and len(doc["moments"]) == 1
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]
