"""One-thread workers claim a core each (vigcv.cores); a core is free again when its worker ends."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from vigcv import cores, executors
from vigcv.config import load_config

ALLOWED = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
pytestmark = pytest.mark.skipif(len(ALLOWED) < 2, reason="needs Linux and at least two cores")


def _claim_and_hold(report: mp.Queue, release: mp.Event) -> None:
    """In a child: claim a core, report it and the affinity, hold it until released."""
    core = cores.claim_core()
    report.put((os.getpid(), core, sorted(os.sched_getaffinity(0))))
    release.wait(60)


def _affinity_when_both_busy(barrier: Any) -> tuple[int, list[int], int | None]:
    # Both pool workers are busy at once, so each runs one call (a pause instead let one worker
    # take both calls under load, before the other had started: seen once)
    barrier.wait(60)
    return os.getpid(), sorted(os.sched_getaffinity(0)), cores.claimed_core()


@pytest.fixture
def locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "core-locks"
    monkeypatch.setenv(cores.LOCK_DIR_ENV, str(folder))  # children inherit it
    return folder


def test_each_worker_gets_a_core_of_its_own_and_one_too_many_gets_none(locks: Path) -> None:
    ctx = mp.get_context("spawn")
    report, release = ctx.Queue(), ctx.Event()
    children = [
        ctx.Process(target=_claim_and_hold, args=(report, release)) for _ in range(len(ALLOWED) + 1)
    ]
    for child in children:
        child.start()
    try:
        got = [report.get(timeout=60) for _ in children]
    finally:
        release.set()
        for child in children:
            child.join(30)
    claimed = sorted(core for _, core, _ in got if core is not None)
    assert claimed == ALLOWED  # every core once, none twice
    for _, core, affinity in got:
        assert affinity == ([core] if core is not None else ALLOWED)  # the extra one floats
    assert sorted(p.name for p in locks.iterdir()) == sorted(f"core{c}.lock" for c in ALLOWED)


def test_a_core_is_free_again_when_its_worker_is_killed(locks: Path) -> None:
    ctx = mp.get_context("spawn")
    report, release = ctx.Queue(), ctx.Event()
    never = ctx.Event()  # its own: a process killed while waiting leaves an event unusable
    first = ctx.Process(target=_claim_and_hold, args=(report, never))
    first.start()
    _, core, _ = report.get(timeout=60)
    assert core == ALLOWED[0]
    os.kill(first.pid, signal.SIGKILL)  # no clean-up runs: the kernel drops the lock
    first.join(30)
    # a queue of its own too: the killed process may die between writing its message and
    # releasing the queue's shared write lock, which would then block every later put
    report_again = ctx.Queue()
    second = ctx.Process(target=_claim_and_hold, args=(report_again, release))
    second.start()
    try:
        _, again, affinity = report_again.get(timeout=60)
    finally:
        release.set()
        second.join(30)
    assert again == ALLOWED[0] and affinity == [ALLOWED[0]]


@pytest.mark.parametrize("pin", [True, False])
def test_pool_workers_allowed_one_thread_are_pinned_to_different_cores(
    locks: Path, pin: bool
) -> None:
    ctx = mp.get_context("spawn")
    with (
        ctx.Manager() as manager,
        ProcessPoolExecutor(
            max_workers=2,
            mp_context=ctx,
            initializer=executors._init_worker,
            initargs=(1, None, None, pin),
        ) as pool,
    ):
        barrier = manager.Barrier(2)
        calls = [pool.submit(_affinity_when_both_busy, barrier) for _ in range(2)]
        seen = [f.result(90) for f in calls]
    assert len({pid for pid, _, _ in seen}) == 2
    if pin:
        assert sorted(core for _, _, core in seen) == ALLOWED[:2]
        assert all(affinity == [core] for _, affinity, core in seen)
    else:
        assert all(affinity == ALLOWED and core is None for _, affinity, core in seen)


def test_the_config_says_when_to_pin() -> None:
    assert executors.pin_cores_for(load_config())
    assert not executors.pin_cores_for(load_config(overrides={"batch": {"pin_cores": False}}))
    # a scan that decodes in a second thread needs more than one core
    assert not executors.pin_cores_for(load_config(overrides={"batch": {"decode_ahead": "on"}}))
    assert executors.pin_cores_for(load_config(overrides={"batch": {"decode_ahead": "off"}}))
