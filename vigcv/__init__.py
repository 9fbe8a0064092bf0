"""vigcv: suggests attuned parent-child micro-moments in Video Interaction Guidance films.

Everything runs offline on this machine; nothing is sent anywhere.
"""

from __future__ import annotations

__version__ = "0.1.0"

from vigcv.api import plot_timeline, score, select
from vigcv.config import load_config
from vigcv.pipeline import load, rescore, run_session
from vigcv.types import FrameFeatures, Moment, Segment, SpeechTrack

__all__ = [
    "FrameFeatures",
    "Moment",
    "Segment",
    "SpeechTrack",
    "__version__",
    "load",
    "load_config",
    "plot_timeline",
    "rescore",
    "run_session",
    "score",
    "select",
]
