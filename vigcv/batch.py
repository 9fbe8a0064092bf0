"""Many recordings: find the media files, name their sessions, run each, and keep going.

One bad file never stops a batch: its failure becomes a row of ``summary.csv`` with a one-line
reason. A session that finished before (same input, same config) is skipped unless ``force``.
Sessions run here, in worker processes or on a Dask cluster (:mod:`vigcv.executors`); the files
they write do not depend on which. With fewer sessions than workers, the time chunks of long
recordings are scanned at once too (:mod:`vigcv.chunks`), so one long session uses every worker.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from vigcv import executors
from vigcv.config import Config, section_values
from vigcv.errors import VigcvError
from vigcv.family.dates import name_date, record_visits
from vigcv.hooks import Hook
from vigcv.io import MEDIA_EXTENSIONS
from vigcv.pipeline import is_complete
from vigcv.results import SessionResult, known_inputs, list_sessions, write_summary
from vigcv.results.relink import ContentIndex, find_recordings, missing_recordings, update_recording
from vigcv.runner import Job, run_one

__all__ = ["Job", "SessionResult", "discover", "run_batch", "run_one"]


def _scan(folder: Path, found: list[Path], problems: list[tuple[Path, str]]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except PermissionError:
        problems.append(
            (folder, "cannot open this folder (permission denied); check its permissions")
        )
        return
    except OSError as exc:
        problems.append((folder, f"cannot open this folder ({exc.strerror})"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=True):
                _scan(path, found, problems)
            elif entry.is_file() and path.suffix.lower() in MEDIA_EXTENSIONS:
                found.append(path)
        except OSError as exc:
            problems.append((path, f"cannot read ({exc.strerror})"))


def discover(
    inputs: Iterable[str | Path],
    *,
    out: Path | None = None,
    families: bool = False,
    family_of: Mapping[str, str] | None = None,
) -> list[Job]:
    """Turn files and folders (searched recursively) into jobs with unique session names.

    A session is named after its file without extension; when two inputs share a name, the
    parent folder's name is put in front (``family1_session``), then a number if still needed.
    With ``out``, a file already processed there keeps its session name (re-running one file of
    an earlier folder batch resumes ``family1_session`` rather than starting ``session``), and so
    does a film that was moved: a session whose recording is missing is matched by content
    (size, then sha256) and its job carries ``moved_from``. A new file never takes the name of a
    session already in ``out``.

    Families: a recording in a sub-folder of a folder given is a visit of the family named after
    that sub-folder (session ``<family>/<visit>``, written to ``out/<family>/<visit>/``) when a
    recording of that sub-folder has a date (YYYY-MM-DD) in its name, or for every sub-folder
    with ``families``. ``family_of`` (file name, stem or path -> family, from a sessions CSV)
    files a recording under a family wherever it is. Recordings given directly, or directly in
    a folder given, keep the flat layout ``out/<session>/``.
    """
    found: list[Path] = []
    problems: list[tuple[Path, str]] = []
    roots: dict[Path, Path] = {}  # a file found in a folder given -> that folder
    for raw in inputs:
        path = Path(raw)
        if not path.exists():
            problems.append((path, "no such file or folder; check the path"))
        elif path.is_dir():
            before = len(found)
            _scan(path, found, problems)
            for file in found[before:]:
                roots.setdefault(file, path)
        elif path.suffix.lower() not in MEDIA_EXTENSIONS:
            kinds = " ".join(sorted(MEDIA_EXTENSIONS))
            problems.append(
                (path, f"not a supported media type ({path.suffix or 'no extension'}); use {kinds}")
            )
        else:
            found.append(path)
    unique: list[Path] = []
    seen: set[Path] = set()
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    known = known_inputs(out) if out is not None else {}
    moved = _moved(unique, out, known) if out is not None else {}
    names = _session_names(
        unique,
        known=known | {path: name for path, (name, _) in moved.items()},
        existing=list_sessions(out) if out is not None else [],
        families=_families(unique, roots, families=families, family_of=family_of or {}),
    )
    jobs = [
        Job(input=p, session=n, moved_from=moved.get(p.resolve(), ("", ""))[1])
        for p, n in zip(unique, names, strict=True)
    ]
    jobs += [
        Job(input=p, session=_safe(p.stem or p.name), problem=f"{p}: {why}") for p, why in problems
    ]
    return jobs


def _moved(paths: Sequence[Path], out: Path, known: dict[Path, str]) -> dict[Path, tuple[str, str]]:
    """``{resolved path: (session, old path)}`` for files that are a missing recording of ``out``
    met at a new place (same size and sha256; only files of a missing recording's size are
    hashed)."""
    missing = missing_recordings(out)
    if not missing:
        return {}
    index = ContentIndex.of(p for p in paths if p.resolve() not in known)
    found = find_recordings(missing, index)
    return {
        path: (name, str(missing[name].get("input", "")))
        for name, path in found.items()
        if path is not None
    }


def _families(
    paths: Sequence[Path],
    roots: Mapping[Path, Path],
    *,
    families: bool,
    family_of: Mapping[str, str],
) -> list[str | None]:
    """The family of each recording (None: the flat layout); see :func:`discover`."""
    dated: set[Path] = set()
    for path in paths:
        root = roots.get(path)
        if root is not None and path.parent != root and name_date(path.stem) is not None:
            dated.add(path.parent)
    result: list[str | None] = []
    for path in paths:
        given = next(
            (family_of[k] for k in (str(path), path.name, path.stem) if family_of.get(k)), None
        )
        root = roots.get(path)
        if given:
            result.append(_safe(given))
        elif root is not None and path.parent != root and (families or path.parent in dated):
            result.append(_safe(path.parent.name))
        else:
            result.append(None)
    return result


def _safe(name: str) -> str:
    cleaned = "".join(c if c not in '/\\:*?"<>|\0' else "_" for c in name).strip()
    return cleaned or "session"


def _session_names(
    paths: Sequence[Path],
    *,
    known: dict[Path, str] | None = None,
    existing: Iterable[str] = (),
    families: Sequence[str | None] | None = None,
) -> list[str]:
    known = known or {}
    families = families or [None] * len(paths)
    stems = [_safe(p.stem) for p in paths]
    reused = [known.get(p.resolve()) for p in paths]
    fresh = [
        stem
        for stem, old, family in zip(stems, reused, families, strict=True)
        if not old and family is None
    ]
    counts = pd.Series(fresh).value_counts() if fresh else pd.Series(dtype=int)
    # names in use: this batch's resumed sessions and every session already in OUT, whose
    # results (and the guider's decisions) a new file of the same name must never replace
    taken: dict[str, int] = {name: 1 for name in [*reused, *existing] if name}
    result = []
    for path, stem, old, family in zip(paths, stems, reused, families, strict=True):
        if old:
            result.append(old)
            continue
        if family is not None:
            name = f"{family}/{stem}"
        else:
            name = f"{_safe(path.parent.name)}_{stem}" if counts.get(stem, 0) > 1 else stem
        n = taken.get(name, 0)
        taken[name] = n + 1
        result.append(name if n == 0 else f"{name}_{n + 1}")
    return result


def run_batch(
    jobs: Sequence[Job],
    out: Path,
    *,
    config: Config,
    force: bool = False,
    parent_side: str | None = None,
    overlay: bool = False,
    jobs_n: int = 1,
    executor: str = "local",
    scheduler: Any = None,
    debug: bool = False,
    hook: Hook | None = None,
    on_result: Callable[[SessionResult], None] | None = None,
    visit_dates: Mapping[str, str] | None = None,
) -> list[SessionResult]:
    """Run every job and write ``out/summary.csv``; never raises for one session's problem.

    Parameters
    ----------
    jobs : sequence of Job
        From :func:`discover`.
    out : Path
        The results folder (``out/<session>/`` per job).
    jobs_n : int
        ``executor="local"``: worker processes (1: everything in this process). With fewer
        sessions than that, the chunks of a long recording's scan run at once too.
    executor : {"local", "dask"}
        Where sessions run; ``"dask"`` sends each to the cluster at ``scheduler``.
    scheduler : str or distributed.Client, optional
        The Dask scheduler address (``tcp://host:8786``) or a connected client.
    hook : callable, optional
        ``hook(step, session, completed=..., total=...)`` with each session's progress (the
        artifact is the session's name); see :mod:`vigcv.hooks`.
    on_result : callable, optional
        Called with each :class:`SessionResult` as its session finishes (in finishing order).
    visit_dates : mapping, optional
        Session name -> ``YYYY-MM-DD`` for visits of a family (``<family>/<visit>``) whose date
        is given (a sessions CSV); the others are dated from their recording
        (:mod:`vigcv.family.dates`), once, in the family's ``family.json``.

    Returns
    -------
    list of SessionResult
        In the order of ``jobs``, whatever order they finished in.
    """
    results: list[SessionResult] = []

    def done(result: SessionResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    if executor not in executors.EXECUTORS:
        raise VigcvError(
            f"unknown executor {executor!r}; use one of {', '.join(executors.EXECUTORS)}"
        )
    if executor == "dask" and scheduler is None:
        raise VigcvError("--executor dask needs --scheduler tcp://HOST:8786")
    # a family's folder (and each new visit's date) is recorded before its visits run
    try:
        record_visits(out, [(j.session, j.input) for j in jobs if not j.problem], dates=visit_dates)
    except VigcvError as exc:
        jobs = [replace(j, problem=j.problem or str(exc)) if "/" in j.session else j for j in jobs]
    # inputs that cannot run, and sessions already done, are settled here at once
    work = []
    for job in jobs:
        if job.moved_from and not job.problem:
            job = _relinked(job, out)
        if job.problem or (
            not force and is_complete(out / job.session, media=job.input, config=config)
        ):
            done(run_one(job, out, config, force=force))
        else:
            work.append(executors.Task(job, out, config, force, parent_side, overlay, debug))
    if executor == "dask":
        executors.run_dask(
            work, scheduler=scheduler, on_result=done, hook=hook, split=executors.split_session
        )
    elif jobs_n <= 1 or not work:
        executors.run_serial(work, hook=hook, on_result=done)
    else:
        split, workers = _splitting(work, jobs_n=jobs_n)
        threads = int(section_values(config, "batch", ["worker_threads"])["worker_threads"])
        if workers <= 1:
            executors.run_serial(work, hook=hook, on_result=done)
        else:
            executors.run_local(
                work,
                workers=workers,
                hook=hook,
                on_result=done,
                threads=threads,
                split=split,
                pin=executors.pin_cores_for(config),
            )
    order = {job.session: i for i, job in enumerate(jobs)}
    results.sort(key=lambda r: order.get(r.session, 0))
    write_summary(out, results)
    return results


def _relinked(job: Job, out: Path) -> Job:
    """A moved recording's new place written into its session's run.json (nothing re-analysed);
    a run.json that cannot be written makes the job fail with that reason."""
    try:
        update_recording(out / job.session, job.input)
    except VigcvError as exc:
        return replace(job, problem=str(exc))
    return job


def _splitting(work: Sequence[executors.Task], *, jobs_n: int) -> tuple[executors.Split, int]:
    """How to split sessions into parts for the workers, and how many workers to start.

    With at least ``jobs_n`` sessions every worker is busy with whole sessions: none is split
    (a long one still scans its chunks, one after another, with the same result). With fewer,
    each session's parts are planned here (a probe and a hash per file), and no more workers
    start than there are tasks to run at once.
    """
    if len(work) >= jobs_n:
        return (lambda task: []), jobs_n

    plans = {task.job.session: executors.split_session(task) for task in work}
    units = sum(max(1, len(parts)) for parts in plans.values())
    return (lambda task: plans[task.job.session]), min(jobs_n, units)
