"""Scripted gaze and smile intervals of a generated session (vigcv.synth) are recovered."""

from __future__ import annotations

import numpy as np
import pytest

from vigcv.config import load_config
from vigcv.evaluation import frame_scores, read_labels, values_at
from vigcv.io import probe
from vigcv.vision import extract_vision


@pytest.fixture(scope="session")
def textbook(tmp_path_factory):
    from vigcv.synth import cached_session

    session = cached_session("textbook")
    features = extract_vision(session.video, config=load_config(), info=probe(session.video))
    return features, read_labels(session.labels)


def test_scripted_gaze_is_recovered(textbook):
    features, labels = textbook
    scores = frame_scores(features.dyad, labels)
    # Regenerating the session is not bit-exact (x264 threads, the mouth envelope), and on these
    # 24 labelled frames that moves mutual-gaze F1 between 0.80 and 0.94: hence the margin.
    for signal in ("mutual_gaze", "parent_looks_at_child", "child_looks_at_parent"):
        assert scores.loc[signal, "f1"] >= 0.7, signal
        assert scores.loc[signal, "f1"] > scores.loc[signal, "f1_all_yes"] + 0.2, signal


def _auc(scores: np.ndarray, truth: np.ndarray) -> float:
    """Probability that a random labelled-yes frame scores above a random labelled-no frame."""
    pos, neg = scores[truth == 1], scores[truth == 0]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (pos.size * neg.size))


@pytest.mark.parametrize(("role", "floor"), [("parent", 0.9), ("child", 0.7)])
def test_scripted_smiles_are_recovered(textbook, role, floor):
    # The smile thresholds are calibrated on webcam-quality real faces, where the blendshape
    # stays low; the rendered faces score higher at rest, so the raw signal's ranking is tested.
    # The child's ranking (AUC) measured 0.77-0.85 across regenerations of the session.
    features, labels = textbook
    raw = values_at(features.person(role), labels["t"].to_numpy(), "smile_raw", tolerance_s=0.25)
    truth = labels[f"{role}_smile"].to_numpy()
    keep = ~np.isnan(raw) & ~np.isnan(truth)
    assert keep.sum() >= 15 and 0 < truth[keep].sum() < keep.sum()
    assert _auc(raw[keep], truth[keep]) >= floor
    assert features.provenance["roles"]["method"] == "face_size"
