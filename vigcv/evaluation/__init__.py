"""Scoring vigcv against labelled data (development and benchmarks)."""

from vigcv.evaluation.frames import FRAME_SIGNALS, frame_scores, values_at
from vigcv.evaluation.labels import LABEL_SIGNALS, LabelError, read_labels

__all__ = [
    "FRAME_SIGNALS",
    "LABEL_SIGNALS",
    "LabelError",
    "frame_scores",
    "read_labels",
    "values_at",
]
