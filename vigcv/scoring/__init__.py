"""Scoring: sliding windows, attunement components, their combination, and ranked moments.

Pure functions over cached features (no disk except :func:`write_moments`, no models)::

    windows = compute_windows(frames, speech, config=config)
    scores = score_windows(windows, weights={"mutual_gaze": 2.0}, combine="geometric")
    moments = select_moments(scores, frames, speech, config=config)
    write_moments(moments, scores, out_dir, session="s1", config_hash=scores.config_hash)
"""

from __future__ import annotations

from vigcv.scoring.combine import COMBINERS, WindowScores, score_windows
from vigcv.scoring.components import COMPONENTS, PRINCIPLES
from vigcv.scoring.reasons import JUDGING_WORDS, format_time
from vigcv.scoring.select import select_moments
from vigcv.scoring.session import score_session, session_notes
from vigcv.scoring.windows import Windows, compute_windows

__all__ = [
    "COMBINERS",
    "COMPONENTS",
    "JUDGING_WORDS",
    "PRINCIPLES",
    "WindowScores",
    "Windows",
    "compute_windows",
    "format_time",
    "score_session",
    "score_windows",
    "select_moments",
    "session_notes",
]
