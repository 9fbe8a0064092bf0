"""Warm a Dask worker up for vigcv when it starts: ``dask worker ... --preload vigcv.dask_preload``.

A cold worker spends its first session's first seconds of CPU on importing what every session
needs (pandas, PyAV, OpenCV, MediaPipe) and loading the models. A cluster that runs many
batches pays that once per worker anyway; with this preload the worker pays it while it starts,
before it takes work, and caps its native thread pools at one thread as every vigcv task does.
A model that is missing is left for the sessions to report (one line each), so the worker still
starts.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np


def warm_up() -> None:
    """Import the pipeline, load the models and run the audio features once on 1 s of noise."""
    from vigcv.audio.features import acoustic_frames
    from vigcv.audio.vad import vad_session
    from vigcv.audio.voice_encoder import encoder_session
    from vigcv.batch import run_one  # noqa: F401 - the import is the warm-up
    from vigcv.errors import VigcvError
    from vigcv.vision.detect import load_centerface
    from vigcv.vision.expression import expression_session
    from vigcv.vision.landmarks import Landmarker

    with contextlib.suppress(VigcvError, OSError):
        load_centerface(1)
        expression_session()
        vad_session()
        encoder_session()
        Landmarker().close()
    noise = np.random.default_rng(0).normal(0.0, 0.05, 16000).astype(np.float32)
    acoustic_frames(noise)


def dask_setup(worker: Any) -> None:
    """Dask's preload hook: one thread per native pool, then :func:`warm_up`."""
    from vigcv.executors import limit_threads
    from vigcv.io.quiet import native_stderr_silenced

    limit_threads(1)
    with native_stderr_silenced():
        warm_up()
