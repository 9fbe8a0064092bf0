"""Peekaboo (configs/synth/peekaboo.toml): a hand over the eyes hides where a person looks.

The real pipeline runs on the generated session. The mother hides her eyes behind a drawn hand
twice while her head keeps pointing at her child: her head alone would say "looks at the child".
Frames within TRANSITION_S of a hand going up or down are left out (the hand model samples one
frame a second, each sample standing for the half second either side).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from vigcv.config import load_config
from vigcv.io import probe
from vigcv.vision import extract_vision

TRANSITION_S = 0.6


@pytest.fixture(scope="module")
def peekaboo():
    from vigcv.synth import cached_session

    session = cached_session("peekaboo")
    config = load_config()
    blind = copy.deepcopy(config)
    blind["vision"]["hands_every"] = 0  # no hand model: the head pose alone
    info = probe(session.video)
    return (
        extract_vision(session.video, config=config, info=info),
        extract_vision(session.video, config=blind, info=info),
        session,
    )


def _stretches(session, t):
    hides = [(ev.start, ev.end) for ev in session.events if ev.action == "hide"]
    assert len(hides) == 2
    inside, near = np.zeros(t.size, bool), np.zeros(t.size, bool)
    for a, b in hides:
        inside |= (t > a + TRANSITION_S) & (t < b - TRANSITION_S)
        near |= (t > a - TRANSITION_S) & (t < b + TRANSITION_S)
    return inside, ~near & (t > 1.1) & (t < 15.0)


def test_no_look_is_claimed_through_a_hand(peekaboo):
    seen, blind, session = peekaboo
    t = seen.dyad["t"].to_numpy()
    hidden, _ = _stretches(session, t)
    assert hidden.sum() >= 30
    for column in ("parent_looks_at_child", "mutual_gaze"):
        values = seen.dyad[column].to_numpy()
        # unknown (or no face): a "yes" only where the face was found between two samples of
        # the hand model that both missed it (a second apart; measured: 1 frame of 36)
        assert np.mean(values[hidden] >= 0.5) <= 0.05, column
    # without the hand model her head pose claims the look through the hand on some frames
    # (measured: 31%)
    assert np.mean(blind.dyad["parent_looks_at_child"].to_numpy()[hidden] >= 0.5) >= 0.15
    # where the face is found behind the hand, the hand is seen over its eyes
    parent = seen.person("parent").drop_duplicates("t")
    share = parent["hand_over_eyes"].to_numpy()[hidden]
    assert np.nanmax(share) >= 0.3


def test_looks_are_read_again_when_the_hand_comes_down(peekaboo):
    seen, _, session = peekaboo
    t = seen.dyad["t"].to_numpy()
    _, steady = _stretches(session, t)
    assert steady.sum() >= 40
    assert np.mean(seen.dyad["parent_looks_at_child"].to_numpy()[steady] >= 0.5) >= 0.9
    parent = seen.person("parent").drop_duplicates("t")
    assert not np.any(parent["hand_over_eyes"].to_numpy()[steady] >= 0.3)
