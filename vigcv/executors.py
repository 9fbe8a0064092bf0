"""Where sessions run: one after another here, in a local process pool, or on a Dask cluster.

Every executor runs the same picklable :class:`Task` through :func:`run_task`, so a session's
outputs do not depend on where it ran. A worker process limits its own native thread pools
(:func:`limit_threads`) so ``N`` workers on ``N`` cores do not fight over them; a worker allowed
one thread also decodes video in the thread that runs the models, instead of in a thread of its
own (``[batch] decode_ahead``), so it uses one core, not more, and claims a core of its own
(:mod:`vigcv.cores`, ``[batch] pin_cores``), so two workers do not slow each other down.

Order: the pool and Dask executors start the longest recordings first (:func:`longest_first`),
so the batch does not end with one worker finishing a long session while the others idle.

Long recordings: with more than one worker, a session whose vision scan is split in time chunks
(:mod:`vigcv.chunks`) is started as one :class:`ChunkTask` per chunk, plus one for its audio,
which workers run at once; the session itself runs when they are done and finds their results
in its cache. The chunks depend only on the recording and the config, so the files written are
the same for any number of workers (a part no worker did, the session does itself).

Progress: workers send ``(session, step, done, total, part)`` (through a queue to the local
parent, or as Dask worker events) and the parent calls ``hook(step, session, completed=done,
total=total)`` (:mod:`vigcv.hooks`; the artifact is the session's name); the chunks of one
session scanned at once add up to one count.
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
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigcv.chunks import AudioJob, ChunkJob, pending_chunks
from vigcv.config import CHOICES, Config, section_values
from vigcv.cores import claim_core, claimed_core
from vigcv.errors import VigcvError
from vigcv.hooks import Hook, is_progress
from vigcv.io import probe
from vigcv.io.quiet import native_stderr_silenced
from vigcv.results import SessionResult
from vigcv.runner import Job, run_one
from vigcv.vision.scan import DECODE_AHEAD_ENV  # "0": the scan decodes in its own thread

OnResult = Callable[[SessionResult], None]
Part = ChunkJob | AudioJob  # what a worker can do ahead of a long session
Split = Callable[["Task"], Sequence[Part]]  # a session's parts

EXECUTORS = ("local", "dask")
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "VIGCV_DECODE_THREADS",  # PyAV's H.264 decoder threads (vigcv.io.media)
)
DECODE_AHEAD = CHOICES["batch.decode_ahead"]  # the values of [batch] decode_ahead
PR_SET_PDEATHSIG = 1  # prctl option, linux/prctl.h
PROGRESS_INTERVAL_S = 0.25  # a worker sends at most one progress message per session this often


@dataclass(frozen=True)
class Task:
    """Everything a worker needs to run one session (picklable)."""

    job: Job
    out: Path
    config: Config
    force: bool = False
    parent_side: str | None = None
    overlay: bool = False
    debug: bool = False


@dataclass(frozen=True)
class ChunkTask:
    """A part of a session for a worker to do ahead of it: a chunk of its scan, or its audio."""

    session: str
    job: Part


def split_session(task: Task) -> list[Part]:
    """The parts workers can do ahead of ``task`` (none when it is not split)."""
    return pending_chunks(
        task.job.input, session_dir=task.out / task.job.session, config=task.config
    )


# -- inside a worker ------------------------------------------------------------------------------

_QUEUE: Any = None  # the progress queue of this worker process (set by _init_worker)
_LIMITS: Any = None  # threadpoolctl's limiter, kept alive for the worker's life


def limit_threads(threads: int = 1) -> None:
    """Cap the native thread pools of this process (OpenMP, BLAS, OpenCV) at ``threads``.

    Environment variables cover libraries loaded later; threadpoolctl (when installed) and
    ``cv2.setNumThreads`` cover those already loaded. onnxruntime sessions take their thread
    count from ``[vision] threads`` and the VAD's own setting (1). With ``threads == 1`` the
    vision scan decodes in its own thread too (``VIGCV_DECODE_AHEAD=0``), so the process uses
    one core; ``[batch] decode_ahead`` can say otherwise (:func:`decode_ahead_for`).
    """
    global _LIMITS
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
    os.environ[DECODE_AHEAD_ENV] = "0" if threads == 1 else "1"
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


def decode_ahead_for(config: Config) -> bool | None:
    """``[batch] decode_ahead`` of ``config``: True (``"on"``), False (``"off"``) or None.

    None (``"auto"``) leaves it to the process: a worker allowed one thread (``[batch]
    worker_threads = 1``, every Dask task) decodes in the scan's thread, any other process (a
    ``--jobs 1`` run, ``worker_threads = 0``) a few frames ahead in a thread of its own.
    """
    mode = str(section_values(config, "batch", ["decode_ahead"])["decode_ahead"])
    if mode not in DECODE_AHEAD:
        raise VigcvError(
            f"'batch.decode_ahead' must be one of {', '.join(DECODE_AHEAD)}, got {mode!r}"
        )
    return None if mode == "auto" else mode == "on"


@contextlib.contextmanager
def _decoding(ahead: bool | None) -> Iterator[None]:
    """Within: the vision scan decodes ahead or not (None: as the process was set up)."""
    if ahead is None:
        yield
        return
    before = os.environ.get(DECODE_AHEAD_ENV)
    os.environ[DECODE_AHEAD_ENV] = "1" if ahead else "0"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(DECODE_AHEAD_ENV, None)
        else:
            os.environ[DECODE_AHEAD_ENV] = before


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


def pin_cores_for(config: Config) -> bool:
    """Whether a one-thread worker running ``config``'s sessions claims a core of its own.

    ``[batch] pin_cores``, unless ``[batch] decode_ahead = "on"`` gives the scan a second
    thread (:mod:`vigcv.cores`).
    """
    pin = section_values(config, "batch", ["pin_cores"])["pin_cores"]
    return bool(pin) and decode_ahead_for(config) is not True


def _init_worker(
    threads: int, progress: Any, parent_pid: int | None = None, pin: bool = False
) -> None:
    global _QUEUE
    if parent_pid is not None:
        die_with_parent(parent_pid)
    _QUEUE = progress
    if threads > 0:
        limit_threads(threads)
    if threads == 1 and pin:
        claim_core()


def _pin_dask_worker(config: Config) -> None:
    """Claim a core for this Dask worker when it runs one task at a time (:mod:`vigcv.cores`)."""
    if not pin_cores_for(config) or claimed_core() is not None:
        return
    try:
        from distributed import get_worker

        if get_worker().state.nthreads != 1:
            return
    except Exception:  # not in a worker, or another Dask version: leave it to the kernel
        return
    claim_core()


class _Relay:
    """A worker-side hook that forwards progress dicts to the parent, at most every 0.25 s.

    ``part`` is the chunk's number when the worker scans one chunk of the session (else -1).
    """

    def __init__(self, session: str, sink: Any, *, part: int = -1) -> None:
        self.session = session
        self.sink = sink
        self.part = part
        self.last = 0.0

    def __call__(
        self,
        step: str,
        artifact: Any = None,
        *,
        completed: float | None = None,
        total: float | None = None,
    ) -> None:
        if completed is None or total is None:
            return
        now = time.monotonic()
        finished = float(completed) >= float(total)
        if not finished and now - self.last < PROGRESS_INTERVAL_S:
            return
        self.last = now
        with contextlib.suppress(OSError, ValueError, queue_mod.Full):  # best effort
            self.sink.put_nowait((self.session, step, float(completed), float(total), self.part))


class _Meter:
    """The parent's side of progress: worker messages to ``hook`` calls.

    Messages about chunks of one session (``part >= 0``, ``done`` counting that chunk's frames,
    ``total`` the session's) add up to one count for the session.
    """

    def __init__(self, hook: Hook | None) -> None:
        self.hook = hook
        self.parts: dict[str, dict[int, float]] = {}

    def __call__(self, session: str, step: str, done: float, total: float, part: int) -> None:
        if self.hook is None:
            return
        if part >= 0:
            parts = self.parts.setdefault(session, {})
            parts[part] = done
            done = min(sum(parts.values()), total)
        self.hook(step, session, completed=done, total=total)


class _EventSink:
    """A progress sink inside a Dask worker: messages become events on ``topic``."""

    def __init__(self, topic: str) -> None:
        self.topic = topic

    def put_nowait(self, message: tuple[Any, ...]) -> None:
        try:
            from distributed import get_worker

            get_worker().log_event(self.topic, list(message))
        except Exception:  # best effort: progress must never fail a session
            pass


def with_session(hook: Hook, session: str) -> Hook:
    """``hook`` with a session's progress passed on as ``hook(step, session, completed=,
    total=)``, the batch's form (finished steps pass on as they are)."""

    def wrapped(
        step: str,
        artifact: Any = None,
        *,
        completed: float | None = None,
        total: float | None = None,
    ) -> None:
        if is_progress(completed, total):
            hook(step, session, completed=completed, total=total)
        else:
            hook(step, artifact)

    return wrapped


def run_task(task: Task, hook: Hook | None = None) -> SessionResult:
    """Run one session; never raises for the session's own problems (a failed result instead)."""
    if hook is None and _QUEUE is not None:
        hook = _Relay(task.job.session, _QUEUE)
    with _decoding(decode_ahead_for(task.config)):
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


def run_chunk(part: ChunkTask, hook: Hook | None = None) -> str:
    """Do one part into its session's cache; ``""``, or a one-line reason (never raises).

    A part that fails here is done again by its session, which then reports the problem. Only
    chunks report progress (``vision``, in the session's frames, see :class:`_Meter`).
    """
    job = part.job
    if hook is None and _QUEUE is not None:
        hook = _Relay(part.session, _QUEUE, part=job.part)

    def progress(
        step: str,
        artifact: Any = None,
        *,
        completed: float | None = None,
        total: float | None = None,
    ) -> None:
        if hook is not None and completed is not None and isinstance(job, ChunkJob):
            done = min(float(completed), float(job.frames))
            hook(step, None, completed=done, total=float(job.session_frames))

    try:
        with _decoding(decode_ahead_for(job.config)), native_stderr_silenced():
            job.run(hook=progress if job.part >= 0 else None)
    except Exception as exc:
        return " ".join(f"{type(exc).__name__}: {exc}".split())
    return ""


def _dask_task(task: Task, topic: str = "") -> SessionResult:
    limit_threads(1)
    _pin_dask_worker(task.config)
    hook = _Relay(task.job.session, _EventSink(topic)) if topic else None
    return run_task(task, hook)


def _dask_chunk(part: ChunkTask, topic: str = "") -> str:
    limit_threads(1)
    _pin_dask_worker(part.job.config)
    hook = _Relay(part.session, _EventSink(topic), part=part.job.part) if topic else None
    return run_chunk(part, hook)


def _failed(task: Task, reason: str) -> SessionResult:
    return SessionResult(task.job.session, task.job.input, "failed", reason=reason)


# -- executors ------------------------------------------------------------------------------------


def work_estimate(task: Task) -> tuple[bool, float]:
    """How much work ``task`` is, to compare sessions: (has video, media seconds).

    One probe of the file (milliseconds: its header only). A recording with video outweighs
    any audio-only one (the vision scan is most of the work); a file that cannot be probed
    counts as none (its session fails at once).
    """
    try:
        info = probe(task.job.input)
    except (VigcvError, OSError):
        return (False, 0.0)
    return (bool(info.has_video), float(info.duration))


def longest_first(tasks: Sequence[Task]) -> list[Task]:
    """``tasks`` by :func:`work_estimate`, largest first (ties keep their order).

    Workers that take the next session as they free up then end the batch with short sessions,
    so no worker idles long while another finishes a long one.
    """
    estimates = [work_estimate(task) for task in tasks]
    order = sorted(range(len(tasks)), key=lambda i: estimates[i], reverse=True)
    return [tasks[i] for i in order]


def _check(tasks: Sequence[Task]) -> None:
    """Raise the one-line problem of a bad ``[batch]`` setting before any session starts."""
    for config in {id(task.config): task.config for task in tasks}.values():
        decode_ahead_for(config)


def run_serial(tasks: Sequence[Task], *, hook: Hook | None, on_result: OnResult) -> None:
    """One session after another in this process (in the order given)."""
    _check(tasks)
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
    split: Split | None = None,
    pin: bool = False,
) -> None:
    """Sessions in ``workers`` fresh (spawned) processes, each capped at ``threads`` threads.

    ``split(task)`` gives a session's parts (:func:`split_session`): they run as tasks of their
    own, and the session after them. A worker that dies (killed, out of memory) breaks
    the pool and every session it was running with; those sessions are run again, each alone
    in a new worker (scanning there whatever chunks are not done), so only a session that kills
    its worker again fails (with a one-line reason). Ctrl-C stops the workers at once.
    Sessions start longest first (:func:`longest_first`).
    """
    _check(tasks)
    tasks = longest_first(tasks)
    ctx = mp.get_context("spawn")  # no inherited threads or model sessions from this process
    progress = ctx.Queue()
    try:
        broken = _run_pool(tasks, ctx=ctx, workers=workers, threads=threads, progress=progress,
                           hook=hook, on_result=on_result, split=split, pin=pin)  # fmt: skip
        for task in broken:
            again = _run_pool([task], ctx=ctx, workers=1, threads=threads, progress=progress,
                              hook=hook, on_result=on_result, pin=pin)  # fmt: skip
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


class _Schedule:
    """Which sessions wait for their chunks: a session is released when its last chunk ends."""

    def __init__(self) -> None:
        self.waiting: dict[str, int] = {}
        self.held: dict[str, Task] = {}

    def hold(self, task: Task, chunks: int) -> None:
        self.held[task.job.session] = task
        self.waiting[task.job.session] = chunks

    def chunk_done(self, part: ChunkTask) -> Task | None:
        """The session to run now that ``part`` has ended (None while chunks remain)."""
        self.waiting[part.session] -= 1
        if self.waiting[part.session] > 0:
            return None
        del self.waiting[part.session]
        return self.held.pop(part.session)


def _units(task: Task, split: Split | None) -> list[ChunkTask]:
    return [ChunkTask(task.job.session, job) for job in (split(task) if split else [])]


def _run_pool(
    tasks: Sequence[Task],
    *,
    ctx: Any,
    workers: int,
    threads: int,
    progress: Any,
    hook: Hook | None,
    on_result: OnResult,
    split: Split | None = None,
    pin: bool = False,
) -> list[Task]:
    """Run ``tasks`` in one process pool; report results; return the tasks a dead worker broke."""
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(threads, progress, os.getpid(), pin),
    )
    meter = _Meter(hook)
    futures: dict[Future[Any], Task | ChunkTask] = {}
    schedule = _Schedule()
    broken: list[Task] = []

    def submit(unit: Task | ChunkTask) -> Future[Any] | None:
        try:
            if isinstance(unit, ChunkTask):
                future: Future[Any] = pool.submit(run_chunk, unit)
            else:
                future = pool.submit(run_task, unit)
        except RuntimeError:  # the pool broke (a worker died) before this could be queued
            if isinstance(unit, Task):
                broken.append(unit)
            return None
        futures[future] = unit
        return future

    try:
        for task in tasks:  # a session's chunks are planned (probe, hash) while others run
            parts = [part for part in _units(task, split) if submit(part) is not None]
            if parts:
                schedule.hold(task, len(parts))
            else:
                submit(task)
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(progress, meter)
            for future in _in_order(done, futures):  # deterministic: in the order submitted
                unit = futures.pop(future)
                if isinstance(unit, ChunkTask):  # its result or failure is the session's to see
                    session = schedule.chunk_done(unit)
                    released = submit(session) if session is not None else None
                    if released is not None:
                        pending.add(released)
                    continue
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken.append(unit)
                    continue
                except Exception as exc:  # run_task catches session errors: a pool problem
                    reason = f"{unit.job.input}: worker error {type(exc).__name__}: {exc}"
                    result = _failed(unit, " ".join(reason.split()))
                on_result(result)
        _drain(progress, meter)
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


def _drain(progress: Any, meter: Callable[..., None]) -> None:
    while True:
        try:
            message = progress.get_nowait()
        except (queue_mod.Empty, OSError, ValueError, EOFError):
            return
        meter(*message)


def run_dask(
    tasks: Sequence[Task],
    *,
    scheduler: Any,
    on_result: OnResult,
    hook: Hook | None = None,
    split: Split | None = None,
    timeout_s: float = 20.0,
) -> None:
    """Send each session to a Dask distributed cluster and report results as they finish.

    Parameters
    ----------
    scheduler : str or distributed.Client
        ``tcp://HOST:8786`` of a running scheduler (or a connected client). The workers must
        see the input files and ``out`` at the same paths (a shared file system) and have vigcv
        installed.
    hook : callable, optional
        Receives the sessions' stage progress, sent by the workers as Dask events.
    split : callable, optional
        A session's parts (:func:`split_session`), sent as tasks of their own first when there
        are fewer sessions than worker threads in the cluster.
    timeout_s : float
        How long to wait for the scheduler, seconds.

    Notes
    -----
    Sessions are sent longest first (:func:`longest_first`), with falling Dask priorities, so
    the scheduler hands them out in that order. Each task is allowed one thread
    (:func:`limit_threads`), as a worker runs one task per thread.
    """
    _check(tasks)
    try:
        from distributed import Client
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
    batch_id = uuid.uuid4().hex[:8]
    topic = f"vigcv-progress-{batch_id}" if hook is not None else ""
    events: queue_mod.Queue[Any] = queue_mod.Queue()
    meter = _Meter(hook)
    try:
        if topic:
            client.subscribe_topic(topic, lambda event: events.put(event[1]))
        if split is not None and len(tasks) >= sum(client.nthreads().values()):
            split = None  # every worker is busy with whole sessions
        futures: dict[Any, Task | ChunkTask] = {}
        schedule = _Schedule()
        keys: dict[str, str] = {}
        tasks = longest_first(tasks)
        last = len(tasks) + 1  # a session its chunks released goes before any waiting one
        for i, task in enumerate(tasks):
            key = keys[task.job.session] = f"vigcv-{batch_id}-{i}-{task.job.session}"
            parts = _units(task, split)
            rank = len(tasks) - i  # Dask runs higher priorities first
            for part in parts:
                name = f"{key}-{part.job.name}"
                future = client.submit(
                    _dask_chunk, part, topic, key=name, pure=False, priority=rank
                )
                futures[future] = part
            if parts:
                schedule.hold(task, len(parts))
            else:
                future = client.submit(_dask_task, task, topic, key=key, pure=False, priority=rank)
                futures[future] = task
        pending = set(futures)
        while pending:
            done = {future for future in pending if future.done()}
            _drain_events(events, meter)
            if not done:
                time.sleep(0.1)
                continue
            pending -= done
            for future in _in_order(done, futures):
                unit = futures.pop(future)
                if isinstance(unit, ChunkTask):
                    session = schedule.chunk_done(unit)
                    if session is not None:
                        key = keys[session.job.session]
                        new = client.submit(
                            _dask_task, session, topic, key=key, pure=False, priority=last
                        )
                        futures[new] = session
                        pending.add(new)
                    continue
                try:
                    result = future.result()
                except Exception as exc:  # a worker died or the cluster went away
                    reason = f"{unit.job.input}: Dask worker error {type(exc).__name__}: {exc}"
                    result = _failed(unit, " ".join(reason.split()))
                on_result(result)
        time.sleep(0.2)  # the last events may still be on their way
        _drain_events(events, meter)
    finally:
        if topic:
            with contextlib.suppress(Exception):
                client.unsubscribe_topic(topic)
        if own:
            client.close()


def _in_order(done: Iterable[Any], futures: dict[Any, Any]) -> list[Any]:
    """``done`` futures in the order they were submitted (deterministic reporting)."""
    rank = {id(f): i for i, f in enumerate(futures)}
    return sorted(done, key=lambda f: rank[id(f)])


def _drain_events(events: queue_mod.Queue[Any], meter: _Meter) -> None:
    while True:
        try:
            message = events.get_nowait()
        except queue_mod.Empty:
            return
        with contextlib.suppress(TypeError, ValueError):
            meter(*message)


def default_jobs() -> int:
    """Sessions in parallel by default: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)
