"""vigcv: suggests attuned parent-child micro-moments in Video Interaction Guidance films.

Everything runs offline on this machine; nothing is sent anywhere.
"""

from __future__ import annotations

__version__ = "0.1.0"

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vigcv.api import plot_timeline, score, select
    from vigcv.config import load_config
    from vigcv.pipeline import load, rescore, run_session
    from vigcv.types import FrameFeatures, Moment, Segment, SpeechTrack

# The public names are imported on first use, so that ``vigcv --help`` or a tool importing one
# submodule does not pay for pandas, PyAV, OpenCV and onnxruntime (about 1 s).
_HOME = {
    "plot_timeline": "vigcv.api",
    "score": "vigcv.api",
    "select": "vigcv.api",
    "load_config": "vigcv.config",
    "load": "vigcv.pipeline",
    "rescore": "vigcv.pipeline",
    "run_session": "vigcv.pipeline",
    "FrameFeatures": "vigcv.types",
    "Moment": "vigcv.types",
    "Segment": "vigcv.types",
    "SpeechTrack": "vigcv.types",
}

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


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(import_module(_HOME[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vigcv' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])
