"""Warm a Dask worker up for vigcv when it starts: ``dask worker ... --preload vigcv.dask_preload``.

A cold worker spends its first session's first seconds of CPU on importing what every session
needs (pandas, PyAV, OpenCV, MediaPipe, librosa), loading the models and loading numba's
compiled pitch tracker (or compiling it, the first time on a machine:
:mod:`vigcv.audio.librosa_env`). A cluster that runs many batches pays that once per worker
anyway; with this preload the worker pays it while it starts, before it takes work, and caps its
native thread pools at one thread as every vigcv task does. A model that is missing is left for
the sessions to report (one line each), so the worker still starts.
"""

from __future__ import annotations

import contextlib
from typing import Any


def warm_up() -> None:
    """Import the pipeline, load the models and run the audio features (librosa) once."""
    from vigcv.audio.features import warm_librosa
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
    warm_librosa()


def dask_setup(worker: Any) -> None:
    """Dask's preload hook: one thread per native pool, then :func:`warm_up`."""
    from vigcv.executors import limit_threads
    from vigcv.io.quiet import native_stderr_silenced

    limit_threads(1)
    with native_stderr_silenced():
        warm_up()
