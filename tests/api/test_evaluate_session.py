"""``vigcv evaluate`` on the generated session: JSON and ELAN coding agree, --config re-scores."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from tests.api.fixtures import copy_out, write_eaf
from vigcv.cli import app
from vigcv.evaluation.coding import read_coding
from vigcv.evaluation.report import evaluate_out
from vigcv.io import store

SIGNALS = ("mutual_gaze", "parent_looks_at_child", "child_looks_at_parent")


def coding_as_eaf(json_path, eaf_path):
    """The same coding as ELAN tiers: runs of 1 in the 0.5 s frame labels, moments by strength."""
    coding = read_coding(json_path)
    t = coding.frames["t"].to_numpy()
    tiers = {}
    for name in SIGNALS:
        on = coding.frames[name].to_numpy() >= 0.5
        edges = np.diff(np.concatenate([[0], on.astype(int), [0]]))
        first, last = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
        tiers[name] = [
            (round(1000 * (t[a] - 0.25)), round(1000 * (t[b] + 0.25)), "")
            for a, b in zip(first, last, strict=True)
        ]
    tiers["attuned_moments"] = [
        (round(1000 * m.segment.start), round(1000 * m.segment.end), str(m.strength))
        for m in coding.moments
    ]
    return write_eaf(eaf_path, tiers)


def test_eaf_and_json_coding_give_the_same_figures(demo_out, tmp_path):
    from_json = evaluate_out(demo_out, demo_out / "labels").sessions[0]
    eaf_dir = tmp_path / "eaf"
    eaf_dir.mkdir()
    coding_as_eaf(demo_out / "labels" / "mixed.json", eaf_dir / "mixed.eaf")
    from_eaf = evaluate_out(demo_out, eaf_dir).sessions[0]
    assert from_eaf.coding.suffix == ".eaf"
    # Read every 0.5 s, as the JSON coding is, the ELAN tiers give the very same samples ...
    same_step = evaluate_out(demo_out, eaf_dir, eaf_step_s=0.5).sessions[0]
    for name in SIGNALS:
        for figure in ("tp", "fp", "fn", "tn"):
            assert same_step.frame.loc[name, figure] == from_json.frame.loc[name, figure]
        # ... and every 0.1 s (the default) five times as many, of the same intervals: close,
        # not identical (on this session's 47 coded mutual-gaze samples, one standard error of
        # the recall is about 0.07).
        assert abs(from_eaf.frame.loc[name, "f1"] - from_json.frame.loc[name, "f1"]) < 0.1
    assert from_eaf.moments == from_json.moments


def test_evaluate_with_a_config_rescores_from_the_cache(demo_out, tmp_path):
    out = copy_out(demo_out, tmp_path)
    labels = demo_out / "labels"
    runner = CliRunner()
    assert runner.invoke(app, ["evaluate", str(out), "--labels", str(labels)]).exit_code == 0
    plain = store.read_json(out / "evaluation.json")["sessions"]["mixed"]
    cfg = tmp_path / "proximity.toml"
    cfg.write_text(
        "[scoring.weights]\nmutual_gaze = 0.0\ncontingency = 0.0\nshared_affect = 0.0\n"
        "turn_taking = 0.0\nproximity = 1.0\n"
    )
    result = runner.invoke(app, ["evaluate", str(out), "--labels", str(labels), "-c", str(cfg)])
    assert result.exit_code == 0, result.output
    rescored = store.read_json(out / "evaluation.json")["sessions"]["mixed"]
    assert rescored["frame"] == plain["frame"]  # the per-frame signals do not depend on weights
    # ranking by head distance alone loses to the default weights on this session
    assert rescored["moments"]["ndcg_at_5"] < plain["moments"]["ndcg_at_5"]
    assert (out / "mixed" / "moments.json").read_bytes() == (
        demo_out / "mixed" / "moments.json"
    ).read_bytes()  # evaluating writes no moments
