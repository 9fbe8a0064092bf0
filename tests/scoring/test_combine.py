"""Combining components: named strategies, callables, weights, and the errors that list names."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.scoring.builders import hand_built_session, make_frames
from vigcv import load_config
from vigcv.checks import NonFiniteError
from vigcv.errors import ConfigError
from vigcv.scoring import COMBINERS, compute_windows, score_windows
from vigcv.types import SpeechTrack


@pytest.fixture(scope="module")
def windows():
    frames, speech, _ = hand_built_session()
    return compute_windows(frames, speech, config=load_config())


def test_weighted_mean_by_hand(windows):
    weights = {"mutual_gaze": 2.0, "contingency": 1.0}
    s = score_windows(windows, weights=weights)
    t = s.table
    expected = (2 * t["mutual_gaze"].fillna(0) + t["contingency"].fillna(0)) / 3
    np.testing.assert_allclose(s.scores, expected)
    assert s.weights == weights and s.combine == "weighted_mean"


def test_default_weights_come_from_config(windows):
    equal = {"mutual_gaze": 1.0, "contingency": 1.0, "shared_affect": 1.0}
    cfg = load_config(
        overrides={"scoring": {"weights": {**equal, "proximity": 0.0, "turn_taking": 0.0}}}
    )
    s = score_windows(windows, config=cfg)
    assert set(s.weights) == {"mutual_gaze", "contingency", "shared_affect"}
    t = s.table
    cols = ["mutual_gaze", "contingency", "shared_affect"]
    np.testing.assert_allclose(s.scores, t[cols].fillna(0).mean(axis=1))


def test_geometric_needs_every_component():
    frames = make_frames(
        30.0,
        parent_looks=[(2, 12)],
        child_looks=[(2, 12)],
        parent_smile=[(8, 12), (20, 26)],
        child_smile=[(8, 12), (20, 26)],
    )
    w = compute_windows(frames, SpeechTrack.empty(), config=load_config())
    weights = {"mutual_gaze": 1.0, "shared_affect": 1.0}
    geo = score_windows(w, weights=weights, combine="geometric").table
    mean = score_windows(w, weights=weights, combine="weighted_mean").table
    gaze_only = (geo["start"] >= 2) & (geo["end"] <= 8)
    smile_only = (geo["start"] >= 20) & (geo["end"] <= 26)
    both = (geo["start"] >= 8) & (geo["end"] <= 12)
    for one_sided in (gaze_only, smile_only):
        np.testing.assert_allclose(mean.loc[one_sided, "score"], 0.5)
        # sqrt(0.05 * 1) rescaled: (0.2236 - 0.05) / 0.95
        np.testing.assert_allclose(geo.loc[one_sided, "score"], 0.1828, atol=1e-3)
    np.testing.assert_allclose(geo.loc[both, "score"], 1.0, atol=1e-9)


def test_max_takes_strongest_signal(windows):
    s = score_windows(windows, weights={"mutual_gaze": 1.0, "contingency": 1.0}, combine="max")
    t = s.table
    np.testing.assert_allclose(
        s.scores, np.maximum(t["mutual_gaze"].fillna(0), t["contingency"].fillna(0))
    )


def test_custom_callable(windows):
    def only_first(values, weights):
        assert values.shape == (len(windows), len(weights))
        return values[:, 0] ** 2

    s = score_windows(windows, weights={"shared_affect": 1.0}, combine=only_first)
    np.testing.assert_allclose(s.scores, s.table["shared_affect"].fillna(0) ** 2)
    assert s.combine == "only_first"


def test_callable_with_wrong_shape_is_explained(windows):
    with pytest.raises(ConfigError, match="returned shape"):
        score_windows(windows, combine=lambda v, w: v)


def test_unknown_combination_lists_valid_names(windows):
    with pytest.raises(ConfigError) as err:
        score_windows(windows, combine="harmonic")
    for name in COMBINERS:
        assert name in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_weight_lists_components(windows):
    with pytest.raises(ConfigError, match="mutual_gaze, contingency, shared_affect"):
        score_windows(windows, weights={"eye_contact": 1.0})
    with pytest.raises(ConfigError, match="must be a number"):
        score_windows(windows, weights={"mutual_gaze": -1.0})


def test_unmeasurable_components_do_not_drag_scores():
    frames = make_frames(20.0, parent_looks=[(0, 20)], child_looks=[(0, 20)], head_distance=1.5)
    w = compute_windows(frames, SpeechTrack.empty(), config=load_config())
    assert "turn_taking" not in w.active  # no speech at all
    weights = {
        "mutual_gaze": 1.0,
        "contingency": 1.0,
        "shared_affect": 1.0,
        "turn_taking": 0.5,
        "proximity": 0.25,
    }
    s = score_windows(w, weights=weights)
    assert "turn_taking" not in s.weights
    # first window: gaze 1, contingency ~1 (the child looks at a parent already looking),
    # shared affect 0, proximity 1; weights 1, 1, 1, 0.25 -> 2.25 / 3.25
    first = s.table.iloc[0]
    assert first["mutual_gaze"] == pytest.approx(1.0)
    assert first["score"] == pytest.approx(2.25 / 3.25, abs=1e-3)
    # later windows: no new initiative -> (1 + 0.25) / 3.25, not diluted by turn_taking
    assert s.table["score"].iloc[-1] == pytest.approx(1.25 / 3.25, abs=1e-6)


def test_a_component_not_seen_counts_as_no_evidence_and_an_infinite_one_raises(windows):
    seen = score_windows(windows, weights={"mutual_gaze": 1.0, "shared_affect": 1.0})
    table = windows.table.copy()
    table["shared_affect"] = np.nan
    unseen = score_windows(
        replace(windows, table=table), weights={"mutual_gaze": 1.0, "shared_affect": 1.0}
    )
    np.testing.assert_allclose(unseen.scores, 0.5 * windows.table["mutual_gaze"].fillna(0))
    assert unseen.scores.max() <= seen.scores.max()
    table["shared_affect"] = np.inf
    with pytest.raises(NonFiniteError, match="component scores"):
        score_windows(replace(windows, table=table), weights={"shared_affect": 1.0})


def test_a_combination_that_returns_nan_raises(windows):
    def broken(values, weights):
        return np.full(len(values), np.nan)

    with pytest.raises(NonFiniteError, match="broken"):
        score_windows(windows, weights={"mutual_gaze": 1.0}, combine=broken)
