"""One core per one-thread worker: a worker process claims a core no other vigcv worker holds.

Two single-threaded workers on a two-core machine, left to the kernel, run each session ~18%
slower than one worker alone: the kernel moves their threads (the scan, MediaPipe's graph
threads) between the cores, and a thread woken on the core the other worker occupies waits
there while its own core idles. Pinned, one to each core, they run as fast as one alone
(the 28 real clips on Dask, preloaded workers: 2 workers 1.83-1.92x faster than 1 instead of
1.66-1.76x; ``scripts/bench.py --only dask``).

A worker claims a core by holding an exclusive ``flock`` on a file named after it in a folder
of this user's (:func:`lock_dir`), for as long as the process lives; the kernel drops the lock
when it exits, however it ends. Workers of other batches, local or Dask, on the same machine
claim the other cores; a worker that finds every core taken is not pinned. Linux only (no-op
elsewhere), and only for workers that run one thread of work (``[batch] pin_cores``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

LOCK_DIR_ENV = "VIGCV_CORE_LOCKS"  # the folder of the core locks (default: see lock_dir)

_claimed: tuple[int, int] | None = None  # (core, the locked file's descriptor) of this process


def lock_dir() -> Path:
    """The folder of the core locks: ``$VIGCV_CORE_LOCKS``, else ``<tmp>/vigcv-cores-<uid>``."""
    chosen = os.environ.get(LOCK_DIR_ENV, "")
    if chosen:
        return Path(chosen)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"vigcv-cores-{uid}"


def claimed_core() -> int | None:
    """The core this process holds (None when it holds none)."""
    return _claimed[0] if _claimed is not None else None


def claim_core() -> int | None:
    """Pin every thread of this process (and the threads they start) to a free core.

    Returns
    -------
    int or None
        The core, or None: not Linux, fewer than two cores allowed to this process, the lock
        folder not writable, or every core held by another process.
    """
    global _claimed
    if _claimed is not None:
        return _claimed[0]
    if not hasattr(os, "sched_setaffinity"):  # pragma: no cover - not Linux
        return None
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return None
    folder = lock_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    for core in allowed:
        try:
            fd = os.open(folder / f"core{core}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another process holds this core
            os.close(fd)
            continue
        _pin_threads({core})
        _claimed = (core, fd)
        return core
    return None


def _pin_threads(cores: set[int]) -> None:
    """Set the affinity of every thread of this process (a thread's own call covers only it)."""
    try:
        threads = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:  # pragma: no cover - no /proc
        threads = [0]
    for tid in threads:
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            os.sched_setaffinity(tid, cores)
