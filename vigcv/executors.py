"""Where sessions run: one after another here, in a local process pool, or on a Dask cluster.

Every executor runs the same picklable :class:`Task` through :func:`run_task`, so a session's
outputs do not depend on where it ran. A worker process limits its own native thread pools
(:func:`limit_threads`) so ``N`` workers on ``N`` cores do not fight over them.

Progress: local workers send ``(session, step, done, total)`` through a queue to the parent,
which calls ``hook(step, {"session": ..., "done": ..., "total": ...})``; Dask reports only whole
sessions (``on_result``).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import queue as queue_mod
import signal
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigcv.config import Config
from vigcv.errors import VigcvError
from vigcv.pipeline import SessionResult

Hook = Callable[[str, Any], None]
OnResult = Callable[[SessionResult], None]

EXECUTORS = ("local", "dask")
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "VIGCV_DECODE_THREADS",  # PyAV's H.264 decoder threads (vigcv.io.media)
)
PR_SET_PDEATHSIG = 1  # prctl option, linux/prctl.h
PROGRESS_INTERVAL_S = 0.25  # a worker sends at most one progress message per session this often


@dataclass(frozen=True)
class Task:
    """Everything a worker needs to run one session (picklable)."""

    job: Any  # vigcv.batch.Job (kept loose to avoid an import cycle)
    out: Path
    config: Config
    force: bool = False
    parent_side: str | None = None
    overlay: bool = False
    debug: bool = False


# -- inside a worker ------------------------------------------------------------------------------

_QUEUE: Any = None  # the progress queue of this worker process (set by _init_worker)
_LIMITS: Any = None  # threadpoolctl's limiter, kept alive for the worker's life


def limit_threads(threads: int = 1) -> None:
    """Cap the native thread pools of this process (OpenMP, BLAS, OpenCV) at ``threads``.

    Environment variables cover libraries loaded later; threadpoolctl (when installed) and
    ``cv2.setNumThreads`` cover those already loaded. onnxruntime sessions take their thread
    count from ``[vision] threads`` and the VAD's own setting (1).
    """
    global _LIMITS
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
    try:
        import cv2

        cv2.setNumThreads(threads)
    except ImportError:  # pragma: no cover - opencv is a dependency
        pass
    try:
        from threadpoolctl import threadpool_limits

        _LIMITS = threadpool_limits(limits=threads)
    except ImportError:
        pass


def die_with_parent(parent_pid: int) -> None:
    """Make the kernel kill this process when its parent dies (Linux; elsewhere a no-op).

    A ``kill -9`` of ``vigcv run`` then stops its workers too, instead of leaving them writing.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _init_worker(threads: int, progress: Any, parent_pid: int | None = None) -> None:
    global _QUEUE
    if parent_pid is not None:
        die_with_parent(parent_pid)
    _QUEUE = progress
    if threads > 0:
        limit_threads(threads)


class _Relay:
    """A worker-side hook that forwards progress dicts to the parent, at most every 0.25 s."""

    def __init__(self, session: str, sink: Any) -> None:
        self.session = session
        self.sink = sink
        self.last = 0.0

    def __call__(self, step: str, artifact: Any) -> None:
        if not (isinstance(artifact, dict) and "done" in artifact and "total" in artifact):
            return
        now = time.monotonic()
        finished = float(artifact["done"]) >= float(artifact["total"])
        if not finished and now - self.last < PROGRESS_INTERVAL_S:
            return
        self.last = now
        with contextlib.suppress(OSError, ValueError, queue_mod.Full):  # best effort
            self.sink.put_nowait(
                (self.session, step, float(artifact["done"]), float(artifact["total"]))
            )


def with_session(hook: Hook, session: str) -> Hook:
    """``hook`` with ``session`` added to every progress dict it receives."""

    def wrapped(step: str, artifact: Any) -> None:
        if isinstance(artifact, dict) and "done" in artifact:
            artifact = {**artifact, "session": session}
        hook(step, artifact)

    return wrapped


def run_task(task: Task, hook: Hook | None = None) -> SessionResult:
    """Run one session; never raises for the session's own problems (a failed result instead)."""
    from vigcv.batch import run_one

    if hook is None and _QUEUE is not None:
        hook = _Relay(task.job.session, _QUEUE)
    return run_one(
        task.job,
        task.out,
        task.config,
        force=task.force,
        parent_side=task.parent_side,
        overlay=task.overlay,
        debug=task.debug,
        hook=hook,
    )


def _dask_task(task: Task) -> SessionResult:
    limit_threads(1)
    return run_task(task)


def _failed(task: Task, reason: str) -> SessionResult:
    return SessionResult(task.job.session, task.job.input, "failed", reason=reason)


# -- executors ------------------------------------------------------------------------------------


def run_serial(tasks: Sequence[Task], *, hook: Hook | None, on_result: OnResult) -> None:
    """One session after another in this process."""
    for task in tasks:
        relay = with_session(hook, task.job.session) if hook is not None else None
        on_result(run_task(task, relay))


def run_local(
    tasks: Sequence[Task],
    *,
    workers: int,
    hook: Hook | None,
    on_result: OnResult,
    threads: int = 1,
) -> None:
    """Sessions in ``workers`` fresh (spawned) processes, each capped at ``threads`` threads.

    A worker that dies (killed, out of memory) breaks the pool and every session it was running
    with; those sessions are run again, each alone in a new worker, so only a session that kills
    its worker again fails (with a one-line reason). Ctrl-C stops the workers at once.
    """
    ctx = mp.get_context("spawn")  # no inherited threads or model sessions from this process
    progress = ctx.Queue()
    try:
        broken = _run_pool(tasks, ctx=ctx, workers=workers, threads=threads, progress=progress,
                           hook=hook, on_result=on_result)  # fmt: skip
        for task in broken:
            again = _run_pool([task], ctx=ctx, workers=1, threads=threads, progress=progress,
                              hook=hook, on_result=on_result)  # fmt: skip
            if again:
                on_result(
                    _failed(
                        task,
                        f"{task.job.input}: the worker process died twice (killed or out of "
                        "memory); try a lower [ingest] max_side, or fewer --jobs",
                    )
                )
    finally:
        progress.close()


def _run_pool(
    tasks: Sequence[Task],
    *,
    ctx: Any,
    workers: int,
    threads: int,
    progress: Any,
    hook: Hook | None,
    on_result: OnResult,
) -> list[Task]:
    """Run ``tasks`` in one process pool; report results; return the tasks a dead worker broke."""
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(threads, progress, os.getpid()),
    )
    futures: dict[Future[SessionResult], Task] = {}
    broken: list[Task] = []
    try:
        futures = {pool.submit(run_task, task): task for task in tasks}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(progress, hook)
            for future in done:
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken.append(futures[future])
                    continue
                except Exception as exc:  # run_task catches session errors: a pool problem
                    task = futures[future]
                    reason = f"{task.job.input}: worker error {type(exc).__name__}: {exc}"
                    result = _failed(task, " ".join(reason.split()))
                on_result(result)
        _drain(progress, hook)
    except BaseException:
        for future in futures:
            future.cancel()
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    order = {id(t): i for i, t in enumerate(tasks)}
    return sorted(broken, key=lambda t: order[id(t)])


def _drain(progress: Any, hook: Hook | None) -> None:
    while True:
        try:
            session, step, done, total = progress.get_nowait()
        except (queue_mod.Empty, OSError, ValueError, EOFError):
            return
        if hook is not None:
            hook(step, {"session": session, "done": done, "total": total})


def run_dask(
    tasks: Sequence[Task],
    *,
    scheduler: Any,
    on_result: OnResult,
    timeout_s: float = 20.0,
) -> None:
    """Send each session to a Dask distributed cluster and report results as they finish.

    Parameters
    ----------
    scheduler : str or distributed.Client
        ``tcp://HOST:8786`` of a running scheduler (or a connected client). The workers must
        see the input files and ``out`` at the same paths (a shared file system) and have vigcv
        installed.
    timeout_s : float
        How long to wait for the scheduler, seconds.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise VigcvError("--executor dask needs Dask: pip install 'dask[distributed]'") from None
    own = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler, timeout=f"{timeout_s}s") if own else scheduler
    except (OSError, TimeoutError, ValueError) as exc:
        raise VigcvError(
            f"cannot reach the Dask scheduler at {scheduler} ({type(exc).__name__}); "
            "check --scheduler and that the cluster is running"
        ) from None
    try:
        batch_id = uuid.uuid4().hex[:8]
        futures = {
            client.submit(
                _dask_task, task, key=f"vigcv-{batch_id}-{i}-{task.job.session}", pure=False
            ): task
            for i, task in enumerate(tasks)
        }
        for future in as_completed(list(futures)):
            task = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # a worker died or the cluster went away
                reason = f"{task.job.input}: Dask worker error {type(exc).__name__}: {exc}"
                result = _failed(task, " ".join(reason.split()))
            on_result(result)
    finally:
        if own:
            client.close()


def default_jobs() -> int:
    """Sessions in parallel by default: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)
