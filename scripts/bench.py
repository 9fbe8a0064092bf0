"""Benchmark the whole pipeline: decode-only, each stage and the whole run as real-time factors.

Two decode-only floors: the video decoded as the pipeline reads it (frames at the analysis rate,
scaled to ``[ingest] max_side``) and every frame converted to RGB at full size (the floor that
../shared/NOTES.md names); the pipeline's time is divided by each.

Prints a markdown table. Data: every clip of ../shared/eval/parent-child (when present) and a
generated 10-minute 1080p/30 fps two-person session (cached under /tmp, reused by later runs),
each with ``--jobs 1`` and ``--jobs 2``; a single long session is split in time chunks
(``[vision] chunk_s``) that two workers scan at once, and its ``--jobs 1`` vs ``--jobs 2``
speed-up is printed for the generated session and the joined real sessions
(``parent-child/sessions``). A real-time factor (RTF) is processing seconds divided by media
seconds (0.1 = ten times faster than real time). Stage times are summed over sessions from
each ``run.json``; with two workers they overlap, so the wall-clock "pipeline" RTF is the one to
compare with decode-only. Peak RSS is the largest resident set of one worker process.

    python scripts/bench.py                  # both data sets, jobs 1 and 2
    python scripts/bench.py --only synth --jobs 1
    python scripts/bench.py --dask           # also: 1 vs 2 Dask workers on the real clips
    python scripts/bench.py --only dask      # only that (tail, other load, side-by-side ceiling)
    python scripts/bench.py --only long      # one long session at a time: --jobs 1 vs 2
    python scripts/bench.py --only family    # a 640x480 session with three people (siblings)
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "eval" / "parent-child"
CACHE = Path(tempfile.gettempdir()) / "vigcv-bench"

_RANGE = re.compile(r"(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$")
_AT = re.compile(r" at (\d+(?:\.\d+)?)$")


def _shifted(sentence: str, shift: float) -> str:
    """An event sentence with its absolute times moved by ``shift`` seconds."""
    sentence = _RANGE.sub(
        lambda m: f"{float(m[1]) + shift:.2f}-{float(m[2]) + shift:.2f}", sentence
    )
    return _AT.sub(lambda m: f" at {float(m[1]) + shift:.2f}", sentence)


def long_script(*, name: str = "textbook", seconds: float = 600.0) -> dict:
    """A shipped script's events repeated back to back until ``seconds`` are filled."""
    from vigcv.synth import shipped_script

    raw = tomllib.loads(Path(shipped_script(name)).read_text(encoding="utf-8"))
    period = float(raw["duration"])
    events: list[str] = []
    moments: list[dict] = []
    for k in range(int(seconds // period)):
        shift = k * period

        events += [_shifted(str(e), shift) for e in raw["events"]]
        moments += [
            {**m, "start": m["start"] + shift, "end": m["end"] + shift}
            for m in raw.get("attuned_moments", [])
        ]
    out = {k: v for k, v in raw.items() if k not in ("events", "attuned_moments", "duration")}
    return {**out, "duration": seconds, "events": events, "attuned_moments": moments}


def concat_copies(src: Path, dst: Path, *, copies: int, period: float) -> None:
    """Write ``copies`` back-to-back copies of ``src`` to ``dst`` (packets copied, no re-encode)."""
    import av

    with av.open(str(dst), "w") as out:
        streams: dict[int, object] = {}
        last: dict[int, int] = {}
        for k in range(copies):
            with av.open(str(src)) as inp:
                for stream in inp.streams:
                    if k == 0 and stream.type in ("video", "audio"):
                        streams[stream.index] = out.add_stream_from_template(stream)
                for packet in inp.demux():
                    if packet.dts is None or packet.stream.index not in streams:
                        continue
                    offset = round(k * period / packet.time_base)
                    packet.pts += offset
                    packet.dts += offset
                    index = packet.stream.index
                    if packet.dts <= last.get(index, -(2**62)):
                        continue  # audio padding overlapping the next copy
                    last[index] = packet.dts
                    packet.stream = streams[index]
                    out.mux(packet)


def synth_session(*, seconds: float = 600.0, base_s: float = 24.0) -> Path:
    """The generated 1080p/30 fps session (made once, then reused from ``CACHE``).

    A ``base_s`` piece is rendered from the ``textbook`` script repeated, then copied back to
    back (no re-encoding) up to ``seconds``: rendering 18 000 1080p frames takes over an hour on
    a busy 2-core machine, and the repeated piece is what a repeated script would render anyway.
    """
    from vigcv.synth import generate_session

    folder = CACHE / f"long-{int(seconds)}s-1080p30"
    path = folder / "session.mp4"
    if path.is_file() and (folder / "COMPLETE").is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    base = folder / "base.mp4"
    if not (folder / "BASE_COMPLETE").is_file():
        generate_session(
            base, script=long_script(seconds=base_s), seed=0, size=(1920, 1080), fps=30.0
        )
        (folder / "BASE_COMPLETE").write_text("ok\n")
    concat_copies(base, path, copies=round(seconds / base_s), period=base_s)
    (folder / "COMPLETE").write_text("ok\n")
    print(f"  generated {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def family_session(*, seconds: float = 576.0, base_s: float = 36.0) -> Path:
    """A 640x480/25 fps session with three people (the ``siblings`` script repeated, about
    10 minutes, as long as a home visit's film, so that two workers scan its chunks), made
    once and reused from ``CACHE``, copied back to back like :func:`synth_session`."""
    from vigcv.synth import generate_session

    folder = CACHE / f"family-{int(seconds)}s-640x480"
    path = folder / "session.mp4"
    if path.is_file() and (folder / "COMPLETE").is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / "base.mp4"
    if not (folder / "BASE_COMPLETE").is_file():
        script = long_script(name="siblings", seconds=base_s)
        generate_session(base, script=script, seed=0, size=(640, 480), fps=25.0)
        (folder / "BASE_COMPLETE").write_text("ok\n")
    concat_copies(base, path, copies=round(seconds / base_s), period=base_s)
    (folder / "COMPLETE").write_text("ok\n")
    return path


PEAK = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(u.ru_maxrss, u.ru_utime + u.ru_stime, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def media_seconds(files: list[Path]) -> float:
    from vigcv.io import probe

    return sum(probe(f).duration for f in files)


def _decode(path: Path, full: bool = False, detect: bool = False) -> float:
    """Decode one file; returns the CPU seconds this process spent (all its threads).

    As the pipeline reads it (``full=False``): frames at the analysis rate, scaled to
    ``[ingest] max_side``. With ``full``: every frame converted to RGB at full size, the floor
    of ../shared/NOTES.md. With ``detect``: as read, and the face detector run once on each
    whole frame as the vision stage does (``[vision] detect_width``, wider for wide frames, one
    thread), the floor of any pipeline that looks for faces in every analysed frame. Audio is
    decoded to 16 kHz either way.
    """
    from vigcv.config import load_config
    from vigcv.io import iter_audio, iter_frames, probe
    from vigcv.vision.detect import detect_faces, whole_frame_width

    config = load_config()
    vc = config["vision"]
    started = time.process_time()
    info = probe(path)
    if info.has_video:
        fps = 0.0 if full else float(config["ingest"]["analysis_fps"])
        max_side = 0 if full else int(config["ingest"]["max_side"])
        for frame in iter_frames(path, fps=fps, max_side=max_side):
            if detect:
                detect_faces(
                    frame.rgb,
                    width=whole_frame_width(
                        frame.rgb.shape[1],
                        width=int(vc["detect_width"]),
                        min_face_px=float(vc["detect_min_face_px"]),
                    ),
                    threshold=vc["detect_threshold"],
                    nms_iou=vc["nms_iou"],
                    threads=1,
                )
    if info.has_audio:
        for _ in iter_audio(path, rate=16000):
            pass
    return time.process_time() - started


def _decode_full(path: Path) -> float:
    return _decode(path, full=True)


def _decode_detect(path: Path) -> float:
    return _decode(path, detect=True)


def decode_only(
    files: list[Path], *, jobs: int, full: bool = False, detect: bool = False
) -> tuple[float, float]:
    """Wall and CPU seconds to decode every file, ``jobs`` files at a time (see ``_decode``)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from vigcv.executors import _init_worker

    decode = _decode_full if full else _decode_detect if detect else _decode
    started = time.perf_counter()
    if jobs <= 1:
        cpu = sum(decode(f) for f in files)
    else:
        with ProcessPoolExecutor(
            jobs, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(1, None)
        ) as pool:
            cpu = sum(pool.map(decode, files))
    return time.perf_counter() - started, cpu


def pipeline(files: list[Path], *, jobs: int, out: Path) -> dict:
    """Run ``vigcv run`` in a fresh process tree (no cache); wall time, peak RSS, stage sums."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "vigcv.cli", "run", *map(str, files), "--out", str(out)]
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", PEAK, *cmd, "--jobs", str(jobs)],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    rss_kb, cpu = proc.stderr.strip().splitlines()[-1].split()
    peak_mb = int(rss_kb) / 1024
    stages = {"vision": 0.0, "audio": 0.0, "score": 0.0}
    failed = 0
    from vigcv import results

    folders = results.session_dirs(out)
    for folder in folders:
        timings = results.read_run(folder)["timings_s"]
        for name in stages:
            stages[name] += float(timings.get(name, 0.0))
    failed = len(files) - len(folders)
    return {"wall": wall, "cpu": float(cpu), "peak_mb": peak_mb, "stages": stages, "failed": failed}


def machine_busy() -> float:
    """CPU seconds all processes of the machine have used since boot (Linux; else 0)."""
    try:
        fields = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()
    except OSError:
        return 0.0
    ticks = [int(v) for v in fields[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle, iowait


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


_REFERENCE = """
import os, sys, time
import numpy as np
os.sched_setaffinity(0, {int(sys.argv[1])})
if sys.argv[2] == "memory":  # 200 MB copied 20 times: bound by the memory bus
    a = np.ones(25_000_000); b = np.empty_like(a)
    work = lambda: np.copyto(b, a)
    rounds = 20
else:  # small matrix products that stay in the core's own caches
    a = np.random.default_rng(0).random((300, 300))
    work = lambda: a @ a
    rounds = 600
work()
t = time.perf_counter()
for _ in range(rounds):
    work()
print(time.perf_counter() - t)
"""


def side_by_side(repeats: int = 3) -> dict[str, float]:
    """How much slower a reference loop runs beside a copy of itself on the other core.

    Two loops, each pinned to one core and limited to one thread: ``memory`` copies a 200 MB
    array (the memory bus is shared), ``compute`` multiplies small matrices (cache-resident).
    Returns the median over ``repeats`` of (mean paired time / time alone) per loop: the ceiling
    the machine puts on two workers that day is about ``2 / slowdown`` for work like that loop.
    Linux only (``sched_setaffinity``); needs two cores.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

    def start(core: int, kind: str) -> subprocess.Popen[str]:
        cmd = [sys.executable, "-c", _REFERENCE, str(core), kind]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)

    out: dict[str, float] = {}
    for kind in ("memory", "compute"):
        ratios = []
        for _ in range(repeats):
            alone = float(start(0, kind).communicate()[0])
            pair = [start(0, kind), start(1, kind)]
            both = [float(p.communicate()[0]) for p in pair]
            ratios.append(sum(both) / 2 / alone)
        out[kind] = sorted(ratios)[len(ratios) // 2]
    return out


def dask_speedup(files: list[Path], *, out: Path) -> list[dict[str, Any]]:
    """One batch on a LocalCluster of 1 and of 2 single-threaded workers, started cold and with
    ``--preload vigcv.dask_preload`` (what the README recommends for a standing cluster).

    Returns per start and cluster size: ``preload`` (bool), ``workers``, ``wall`` seconds of
    the batch, ``cpu`` seconds of this process (scheduler, client) and the workers from the
    cluster's start to its end (CPU / wall: about the cores the batch really got), ``tail``
    seconds between the first and the last worker running out of work, and ``others`` cores
    the rest of the machine used meanwhile (a disturbed measurement).
    """
    from distributed import Client, LocalCluster, get_task_stream

    from vigcv.batch import discover, run_batch
    from vigcv.config import load_config

    config = load_config()
    rows: list[dict[str, Any]] = []
    for preload, workers in ((False, 1), (False, 2), (True, 1), (True, 2)):
        before, busy, opened = _cpu_seconds(), machine_busy(), time.perf_counter()
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                preload=["vigcv.dask_preload"] if preload else [],
            ) as cluster,
            Client(cluster) as client,
        ):
            target = out / f"dask{workers}"
            shutil.rmtree(target, ignore_errors=True)
            started = time.perf_counter()
            with get_task_stream(client) as stream:
                results = run_batch(
                    discover(files), target, config=config, executor="dask", scheduler=client
                )
            wall = time.perf_counter() - started
            ends: dict[str, float] = {}
            for task in stream.data:
                for span in task["startstops"]:
                    if span["action"] == "compute":
                        ends[task["worker"]] = max(ends.get(task["worker"], 0.0), span["stop"])
            bad = [r for r in results if r.status != "ok"]
            if bad:
                print(f"  dask {workers}: {len(bad)} sessions failed", file=sys.stderr)
        cpu = _cpu_seconds() - before  # with the cluster's start and stop (workers, once exited)
        busy = machine_busy() - busy
        row: dict[str, Any] = {"preload": preload, "workers": workers, "wall": wall, "cpu": cpu}
        row["tail"] = max(ends.values()) - min(ends.values()) if ends else 0.0
        span = time.perf_counter() - opened
        row["others"] = max(0.0, busy - cpu) / span if busy else float("nan")
        rows.append(row)
        start = "preloaded" if preload else "cold"
        print(
            f"  dask {workers} {start} workers: {wall:.1f} s wall, {cpu:.1f} s CPU", file=sys.stderr
        )
    return rows


def long_sessions() -> list[Path]:
    """The generated 10-minute session and the joined real sessions long enough to be split."""
    from vigcv import chunks
    from vigcv.config import load_config
    from vigcv.io import probe

    config = load_config()
    found = [synth_session(), *sorted((EVAL / "sessions").glob("*.mp4"))]
    return [
        f for f in found if len(chunks.plan_chunks(duration=probe(f).duration, config=config)) > 1
    ]


def chunk_speedup(files: list[Path], *, out: Path) -> list[str]:
    """Markdown rows: each long session alone, ``--jobs 1`` vs ``--jobs 2`` (chunks at once)."""
    from vigcv import chunks
    from vigcv.config import load_config
    from vigcv.io import probe

    config = load_config()
    rows = []
    for path in files:
        media = probe(path).duration
        plan = chunks.plan_chunks(duration=media, config=config)
        runs = {}
        for jobs in (1, 2):
            print(f"  long session {path.name}: --jobs {jobs}", file=sys.stderr, flush=True)
            runs[jobs] = pipeline([path], jobs=jobs, out=out / f"long-{path.stem}-{jobs}")
            if runs[jobs]["failed"]:
                print(f"  {path.name} failed with --jobs {jobs}", file=sys.stderr)
        cells = [
            f"{r['wall']:.1f} ({r['wall'] / media:.3f}), {r['cpu'] / r['wall']:.2f}"
            for r in runs.values()
        ]
        rows.append(
            f"| {path.name} | {media:.0f} | {len(plan)} | {cells[0]} | {cells[1]} "
            f"| {runs[1]['wall'] / runs[2]['wall']:.2f}x |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        choices=("real", "synth", "family", "dask", "long"),
        default=None,
        help="one part only (family: a 10-minute 640x480 session with three people)",
    )
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dask", action="store_true", help="also time 1 vs 2 Dask workers")
    parser.add_argument("--out", type=Path, default=CACHE / "runs")
    args = parser.parse_args()
    sets: list[tuple[str, list[Path]]] = []
    if args.only not in ("synth", "family", "dask", "long") and EVAL.is_dir():
        sets.append(
            (f"parent-child ({len(list(EVAL.glob('*.mp4')))} clips)", sorted(EVAL.glob("*.mp4")))
        )
    if args.only not in ("real", "family", "dask", "long"):
        sets.append(("synthetic 10 min 1080p30", [synth_session()]))
    if args.only in (None, "family"):
        sets.append(("synthetic 10 min 640x480, three people", [family_session()]))
    lines = [
        "| data | jobs | media s | decode as read RTF (CPU) | decode all RGB RTF (CPU) "
        "| decode + face detection RTF (CPU) | decode + face detection / decode as read, wall "
        "| vision RTF | audio RTF | score RTF | pipeline RTF (CPU) "
        "| pipeline / decode as read, wall (CPU) | pipeline / decode all, wall (CPU) "
        "| peak RSS MB, one process | failed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, files in sets:
        media = media_seconds(files)
        for jobs in args.jobs:
            print(f"  {name}: --jobs {jobs}", file=sys.stderr, flush=True)
            read = decode_only(files, jobs=jobs)
            full = decode_only(files, jobs=jobs, full=True)
            found = decode_only(files, jobs=jobs, detect=True)
            run = pipeline(files, jobs=jobs, out=args.out / f"{len(files)}-{jobs}")
            st = run["stages"]
            lines.append(
                f"| {name} | {jobs} | {media:.0f} "
                f"| {read[0] / media:.3f} ({read[1] / media:.3f}) "
                f"| {full[0] / media:.3f} ({full[1] / media:.3f}) "
                f"| {found[0] / media:.3f} ({found[1] / media:.3f}) | {found[0] / read[0]:.1f}x "
                f"| {st['vision'] / media:.3f} | {st['audio'] / media:.3f} "
                f"| {st['score'] / media:.4f} "
                f"| {run['wall'] / media:.3f} ({run['cpu'] / media:.3f}) "
                f"| {run['wall'] / read[0]:.1f}x ({run['cpu'] / read[1]:.1f}x) "
                f"| {run['wall'] / full[0]:.1f}x ({run['cpu'] / full[1]:.1f}x) "
                f"| {run['peak_mb']:.0f} | {run['failed']} |"
            )
            print(lines[-1], file=sys.stderr, flush=True)
    if sets:
        print("\n".join(lines))
        print(
            "\nRTF = seconds of processing / seconds of media. Wall clock with that many "
            "processes; (CPU) = user+system CPU seconds of all processes, which a busy shared "
            "machine disturbs less. Decode as read: frames at [ingest] analysis_fps scaled to "
            "max_side, as the pipeline reads them; decode all RGB: every frame converted to RGB "
            "at full size (the floor in ../shared/NOTES.md); both decode the audio to 16 kHz. "
            "Decode + face detection: as read, plus CenterFace once on each whole frame as the "
            "vision stage runs it: no pipeline that looks for faces in every analysed frame "
            "can be faster. "
            "vision/audio/score are wall seconds per session from run.json, summed over "
            "sessions (with 2 jobs they overlap)."
        )
    if args.only in (None, "long"):
        rows = chunk_speedup(long_sessions(), out=args.out)
        print(
            "\nOne long session alone: its vision scan split in time chunks ([vision] chunk_s), "
            "scanned one after another (--jobs 1) or two at once (--jobs 2). Wall seconds "
            "(RTF), then CPU / wall: the cores the run really got (on a busy shared machine, "
            "fewer than the workers).\n\n"
            "| session | media s | chunks | --jobs 1 | --jobs 2 | speed-up |\n"
            "|---|---|---|---|---|---|"
        )
        print("\n".join(rows))
    if (args.dask or args.only == "dask") and EVAL.is_dir():
        files = sorted(EVAL.glob("*.mp4"))
        ceiling = side_by_side() if (os.cpu_count() or 1) >= 2 else {}
        rows = dask_speedup(files, out=args.out)
        print(
            f"\n{len(files)} real clips on a Dask LocalCluster (1 thread per worker):\n\n"
            "| workers start | Dask workers | batch wall s | speed-up | CPU s | cores really used "
            "| tail s | other load, cores |\n"
            "|---|---|---|---|---|---|---|---|"
        )
        for row in rows:
            one = next(r for r in rows if r["preload"] == row["preload"] and r["workers"] == 1)
            print(
                f"| {'--preload vigcv.dask_preload' if row['preload'] else 'cold'} "
                f"| {row['workers']} | {row['wall']:.1f} | {one['wall'] / row['wall']:.2f}x "
                f"| {row['cpu']:.1f} | {row['cpu'] / row['wall']:.2f} | {row['tail']:.1f} "
                f"| {row['others']:.2f} |"
            )
        print(
            "\nCPU: this process (scheduler, client) and the workers. Tail: from the first "
            "worker running out of sessions to the last. Other load: cores the rest of the "
            "machine used meanwhile (above ~0.1 the timing is disturbed; run again)."
        )
        if ceiling:
            print(
                "\nSide by side on this machine now (each pinned to a core of its own): a "
                f"memory-bound copy loop runs {ceiling['memory']:.2f}x slower beside a copy of "
                f"itself, a cache-resident compute loop {ceiling['compute']:.2f}x. Two workers "
                "share the memory bus, so their speed-up over one is at most about "
                f"{2 / ceiling['memory']:.2f}x for memory-bound work and "
                f"{2 / ceiling['compute']:.2f}x for pure compute; the pipeline lies between."
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--prepare"]:
        print(synth_session())
    else:
        main()
