"""vigcv.api on a generated, processed session: the same numbers as the pipeline, plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from vigcv import api
from vigcv.errors import ConfigError
from vigcv.evaluation.coding import read_coding
from vigcv.io import store
from vigcv.scoring import COMPONENTS, WindowScores
from vigcv.types import FrameFeatures, Moment, Segment, SpeechTrack


@pytest.fixture(scope="module")
def session(demo_out):
    frames, speech = api.load(demo_out / "mixed")
    return frames, speech


def test_load_gives_documented_types(session):
    frames, speech = session
    assert isinstance(frames, FrameFeatures) and isinstance(speech, SpeechTrack)
    assert len(frames.dyad) > 1000  # 120 s at 10 fps
    assert set(speech.segments["speaker"]) & {"parent", "child"}


def test_score_and_select_are_what_the_pipeline_wrote(demo_out, session):
    frames, speech = session
    scores = api.score(frames, speech)
    assert isinstance(scores, WindowScores)
    assert set(COMPONENTS) <= set(scores.table.columns)
    written = pd.read_parquet(demo_out / "mixed" / "windows.parquet")
    np.testing.assert_allclose(scores.scores, written["score"].to_numpy(), atol=1e-9)
    moments = api.select(scores, frames, speech)
    on_disk = store.read_json(demo_out / "mixed" / "moments.json")["moments"]
    assert [m.to_dict() for m in moments] == on_disk


def test_weights_and_top_k_change_the_ranking(session):
    frames, speech = session
    gaze = api.score(frames, speech, weights={"mutual_gaze": 1.0})
    assert gaze.weights == {"mutual_gaze": 1.0}
    np.testing.assert_allclose(gaze.scores, gaze.table["mutual_gaze"].fillna(0.0), atol=1e-9)
    top = api.select(gaze, frames, speech, top_k=3)
    assert [m.rank for m in top] == [1, 2, 3]
    assert all(isinstance(m, Moment) for m in top)
    # the best gaze-only moment holds one of the session's scripted mutual gazes (11-16.5 s,
    # 63-70 s, 85.8-96.5 s; fully inside any of them a window scores alike)
    best = top[0].segment
    scripted = (Segment(11.0, 16.5), Segment(63.0, 70.0), Segment(85.8, 96.5))
    assert max(best.overlap(s) for s in scripted) >= 2.0
    assert top[0].components["mutual_gaze"] >= 0.5
    with pytest.raises(ConfigError, match="top_k"):
        api.select(gaze, frames, speech, top_k=0)
    talk = api.score(frames, speech, weights={"turn_taking": 1.0})
    assert api.select(talk, frames, speech, top_k=1)[0].segment != top[0].segment


def test_compare_moments_puts_lists_side_by_side(session):
    frames, speech = session
    scores = api.score(frames, speech)
    table = api.compare_moments(
        {
            "a": api.select(scores, frames, speech, top_k=4),
            "b": api.select(scores, frames, speech, top_k=2),
        }
    )
    assert list(table.columns) == ["a", "b"] and len(table) == 4
    assert table["b"].iloc[3] == "" and table["a"].iloc[0] == table["b"].iloc[0]


def test_plot_timeline_draws_every_panel(demo_out, session, tmp_path):
    frames, speech = session
    scores = api.score(frames, speech)
    moments = api.select(scores, frames, speech, top_k=4)
    coding = read_coding(demo_out / "labels" / "mixed.json")
    fig = api.plot_timeline(frames, speech, scores=scores, moments=moments, labels=coding)
    assert isinstance(fig, Figure)
    axes = fig.axes
    assert len(axes) == 5  # gaze, smiles, speech, components, coded moments
    legend = [t.get_text() for t in axes[3].get_legend().get_texts()]
    assert sum(name.replace("_", " ") in " ".join(legend) for name in COMPONENTS) == 5
    assert any("score" in t for t in legend)
    # rank numbers 1..4 on the top panel, one shaded span per moment on every panel
    ranks = sorted(t.get_text() for t in axes[0].texts)
    assert ranks == ["1", "2", "3", "4"]
    strengths = sorted(t.get_text() for t in axes[4].texts)
    assert strengths == sorted(str(m.strength) for m in coding.moments)
    path = tmp_path / "timeline.png"
    fig.savefig(path, dpi=50)
    assert path.stat().st_size > 10_000
    no_labels = api.plot_timeline(frames, speech, scores=scores)
    assert len(no_labels.axes) == 4


def test_plot_timeline_into_one_axes_and_a_time_range(session):
    frames, speech = session
    scores = api.score(frames, speech)
    moments = api.select(scores, frames, speech, top_k=5)
    fig = Figure()
    ax: Axes = fig.subplots()
    assert api.plot_timeline(frames, speech, scores=scores, moments=moments, ax=ax) is fig
    assert len(fig.axes) == 1 and len(ax.lines) == len(COMPONENTS) + 1  # components + score
    first = moments[0].segment
    zoom = api.plot_timeline(
        frames, speech, scores=scores, moments=moments, start=first.start - 1, end=first.end + 1
    )
    shown = [t.get_text() for t in zoom.axes[0].texts]
    assert "1" in shown and len(shown) < len(moments)
    assert zoom.axes[0].get_xlim() == pytest.approx((first.start - 1, first.end + 1))
