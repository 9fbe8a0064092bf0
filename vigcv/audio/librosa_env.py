"""librosa, imported with numba's compiled code kept between runs.

librosa's pitch tracker (pYIN's Viterbi decoding, its local minima) and a few of its helpers are
compiled by numba the first time they run in a process. numba can keep that machine code on disk
(``cache=True``), but by default it writes beside librosa's own source files, which a shared or
read-only installation does not allow, and then falls back to a folder that depends on the
platform. :func:`import_librosa` points ``NUMBA_CACHE_DIR`` (unless the user set it) at a folder
of the user's own, ``~/.cache/vigcv/numba`` (``$XDG_CACHE_HOME/vigcv/numba``), or a folder in
the temporary directory when the home folder cannot be written, before librosa is first
imported: every later process, batch worker and Dask worker then loads the compiled code instead
of compiling it again. The cache is keyed by numba on the source file, its time stamp and the
CPU, so machines that share a home folder but not a CPU keep separate entries.

librosa is imported inside the functions that use it, through :func:`import_librosa`, so that
``vigcv --help`` and the light commands never load it or numba.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ENV = "NUMBA_CACHE_DIR"


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def numba_cache_dir() -> Path:
    """The per-user folder for numba's compiled code (created; see the module notes)."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    home = Path(base) if base else Path.home() / ".cache"
    folder = home / "vigcv" / "numba"
    if _writable(folder):
        return folder
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    folder = Path(tempfile.gettempdir()) / f"vigcv-{user}" / "numba"
    _writable(folder)  # if even this fails, numba warns and compiles without a cache
    return folder


def configure_numba_cache() -> str:
    """Set ``NUMBA_CACHE_DIR`` to :func:`numba_cache_dir` unless already set; returns it.

    Takes effect for librosa only when called before librosa is imported; numba itself reads
    the variable when it is imported, so an already imported numba is told as well.
    """
    folder = os.environ.get(ENV)
    if not folder:
        folder = str(numba_cache_dir())
        os.environ[ENV] = folder
    numba = sys.modules.get("numba")
    if numba is not None:
        with contextlib.suppress(AttributeError):
            numba.core.config.CACHE_DIR = folder
    return folder


def import_librosa() -> ModuleType:
    """``librosa``, with numba's cache configured first (see the module notes)."""
    if "librosa" not in sys.modules:
        configure_numba_cache()
    import librosa

    return librosa
