"""One session of a batch, run or skipped, its problems turned into a one-line reason.

The batch (:mod:`vigcv.batch`) makes :class:`Job` s; the executors (:mod:`vigcv.executors`) run
each with :func:`run_one`, here, in a worker process or on a Dask worker. Both import this
module; neither imports the other's internals through it.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from vigcv.config import Config
from vigcv.errors import VigcvError
from vigcv.hooks import Hook
from vigcv.pipeline import is_complete, run_session
from vigcv.results import SessionResult, read_run


@dataclass(frozen=True)
class Job:
    """One input to process: a media file and its session name (or why it cannot be)."""

    input: Path
    session: str
    problem: str = ""  # non-empty: this input fails before processing (missing, unreadable…)
    moved_from: str = ""  # non-empty: the session's recording was at this path before it moved


def run_one(
    job: Job,
    out: Path,
    config: Config,
    *,
    force: bool = False,
    parent_side: str | None = None,
    overlay: bool = False,
    debug: bool = False,
    hook: Hook | None = None,
) -> SessionResult:
    """Run (or skip, when already done) one job; a failure becomes a result with one-line reason."""
    started = time.perf_counter()
    if job.problem:
        return SessionResult(job.session, job.input, "failed", reason=job.problem)
    session_dir = out / job.session
    try:
        if not force and is_complete(session_dir, media=job.input, config=config):
            run = read_run(session_dir, missing_ok=True)
            return SessionResult(
                job.session,
                job.input,
                "skipped",
                reason=(
                    f"moved: path updated, not re-analysed (was {job.moved_from})"
                    if job.moved_from
                    else "already done (use --force to redo)"
                ),
                duration=float(run.get("media", {}).get("duration_s", 0.0)),
                moments=int(run.get("moments", 0)),
                warnings=list(run.get("warnings", [])),
                out_dir=session_dir,
            )
        return run_session(
            job.input,
            session_dir,
            config=config,
            session=job.session,
            hook=hook,
            parent_side=parent_side,
            overlay=overlay,
        )
    except VigcvError as exc:
        reason = str(exc)
    except MemoryError:
        reason = f"{job.input}: ran out of memory; try a lower [ingest] max_side or analysis_fps"
    except Exception as exc:  # a bug must not stop the batch; say so plainly
        detail = " ".join(str(exc).split())
        reason = f"{job.input}: internal error {type(exc).__name__}: {detail} (--debug shows more)"
        if debug:
            traceback.print_exc()
    return SessionResult(
        job.session, job.input, "failed", reason=reason, seconds=time.perf_counter() - started
    )
