"""``vigcv tune``: the learner, the refusal, and learning from simulated review decisions."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.api.fixtures import copy_out
from vigcv import api
from vigcv.cli import app
from vigcv.config import load_config
from vigcv.evaluation.coding import read_coding
from vigcv.evaluation.moments import moment_gains
from vigcv.io import store
from vigcv.results.decisions import open_store
from vigcv.scoring import COMPONENTS
from vigcv.tune import SessionExamples, TuneError, fit_weights, separation, tune

MIN_DECISIONS = load_config()["tune"]["min_decisions"]


def test_pairwise_ranking_finds_the_informative_component(rng):
    values = rng.uniform(0, 1, size=(400, len(COMPONENTS)))
    target = (values[:, 2] + 0.1 * rng.normal(size=400) > 0.6).astype(int)  # shared_affect decides
    w = fit_weights([(values[:200], target[:200]), (values[200:], target[200:])])
    assert w.shape == (len(COMPONENTS),) and (w >= 0).all() and w.max() == pytest.approx(1.0)
    assert int(np.argmax(w)) == 2
    assert np.delete(w, 2).max() < 0.2
    # a component that ranks the wrong way gets weight 0, not a negative one
    flipped = values.copy()
    flipped[:, 0] = 1.0 - values[:, 2]
    assert fit_weights([(flipped, target)])[0] == 0.0


def test_separation_says_how_each_component_alone_ranks_the_examples(rng):
    # per session: the AUC of each component's window scores, positives against negatives
    values = rng.uniform(0, 1, size=(300, len(COMPONENTS)))
    target = (values[:, 0] > 0.6).astype(int)  # mutual gaze decides
    target[:20] = -1  # windows with no evidence are left out
    values[:, 1] = 1.0 - values[:, 0]  # answering ranks them the wrong way
    one_kind = SessionExamples("all positive", None, values[:50], np.ones(50, int), ())
    table = separation([SessionExamples("s", None, values, target, ()), one_kind])
    assert list(table.columns) == list(COMPONENTS) and list(table.index) == ["s", "all positive"]
    assert table.loc["s", "mutual_gaze"] == pytest.approx(1.0)
    assert table.loc["s", "contingency"] == pytest.approx(0.0)
    assert 0.35 < table.loc["s", "shared_affect"] < 0.65  # noise: about chance
    assert table.loc["all positive"].isna().all()  # nothing to rank against


def test_too_few_decisions_is_a_clear_refusal(demo_out, tmp_path):
    out = copy_out(demo_out, tmp_path)
    with pytest.raises(TuneError, match=f"need at least {MIN_DECISIONS}"):
        tune(out)
    result = CliRunner().invoke(app, ["tune", str(out)])
    assert result.exit_code == 1
    assert "too few decisions to learn from: 0" in result.output
    assert "Traceback" not in result.output and not (out / "tuned.toml").exists()


@pytest.fixture(scope="module")
def reviewed_out(demo_out, tmp_path_factory):
    """A copy of the demo OUT where a simulated guider accepted the suggestions that hit a coded
    moment of strength >= 2 and rejected the others (up to 16 suggestions, weak ones included:
    how many windows clear ``[selection] min_score`` varies between regenerations of the
    session: one here had 6)."""
    out = copy_out(demo_out, tmp_path_factory.mktemp("reviewed"))
    frames, speech = api.load(out / "mixed")
    coding = read_coding(demo_out / "labels" / "mixed.json")
    scores = api.score(frames, speech)
    config = load_config()
    config["selection"]["min_score"] = 0.0
    moments = api.select(scores, frames, speech, config=config, top_k=16)
    assert len(moments) >= MIN_DECISIONS
    gains = moment_gains([m.segment for m in moments], coding.moments)
    with open_store(out) as db:
        for m, gain in zip(moments, gains, strict=True):
            db.set_field(
                "mixed",
                start=m.segment.start,
                end=m.segment.end,
                field="status",
                value="accepted" if gain >= 2 else "rejected",
            )
    return out


def test_tune_learns_from_decisions_and_writes_a_usable_config(reviewed_out):
    result = CliRunner().invoke(app, ["tune", str(reviewed_out)])
    assert result.exit_code == 0, result.output
    assert "time blocks" in result.output and "P@3 before" in result.output
    assert "Each component alone" in result.output  # why the weights came out as they did
    path = reviewed_out / "tuned.toml"
    doc = tomllib.loads(path.read_text())
    assert list(doc) == ["scoring"] and list(doc["scoring"]) == ["weights"]
    weights = doc["scoring"]["weights"]
    assert set(weights) == set(load_config()["scoring"]["weights"])
    assert min(weights.values()) >= 0 and max(weights.values()) == 1.0
    # `vigcv score --config` takes it, and the moments change with it
    before = store.read_json(reviewed_out / "mixed" / "moments.json")
    scored = CliRunner().invoke(app, ["score", str(reviewed_out), "--config", str(path)])
    assert scored.exit_code == 0, scored.output
    after = store.read_json(reviewed_out / "mixed" / "moments.json")
    assert after["config_hash"] != before["config_hash"]


def test_cross_validated_precision_before_and_after(reviewed_out):
    result = tune(reviewed_out, k=3)
    assert result.method.startswith("5-fold over time blocks")
    assert list(result.folds["session"]) == ["mixed"]
    summary = result.summary()
    for key in ("precision_before", "precision_after", "ndcg_before", "ndcg_after"):
        assert 0.0 <= summary[key] <= 1.0
    assert len(result.fold_weights) == 5
    assert result.positives > 0 and result.negatives > 0  # both kinds of example to learn from
    assert list(result.separation.index) == ["mixed"]
    assert result.separation.loc["mixed"].between(0.0, 1.0).all()


def test_labels_alone_need_enough_strong_moments(demo_out):
    # the mixed session has 3 coded moments of strength >= 2; learning from coding alone needs 4
    with pytest.raises(TuneError, match="3 labelled moments of strength >= 2 \\(need 4\\)"):
        tune(demo_out, labels=demo_out / "labels", use_reviews=False)
