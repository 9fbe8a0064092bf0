"""Long recordings scanned in time chunks, which worker processes can scan at once.

The vision scan (:func:`vigcv.vision.scan.scan_video`) is the slow part of a session. A long
recording is cut into chunks whose boundaries depend only on its length and ``[vision] chunk_s``
(never on how many workers there are), so a session's results are the same for any ``--jobs``.
Each chunk after the first also scans ``chunk_overlap_s`` seconds before its start: there its
tracker picks up the faces, and its tracks are linked to the previous chunk's by matching boxes
in those shared frames (:func:`stitch`). Identities, roles and signals are then computed on the
whole stitched scan, as for a recording scanned in one piece.

```
plan_chunks ─► scan_chunk (each chunk; any process; cached) ─► stitch ─► features_from_scan
```

A chunk's scan is cached in ``<cache>/vision-chunks/<i>-of-<n>/`` (under the session's extraction
cache key), so a worker can scan it ahead of the session (:mod:`vigcv.executors`) and a killed run
resumes from the chunks it finished; the folder is removed once the session's features are cached.
The audio of a split recording is extracted ahead too (:class:`AudioJob`), beside the chunks.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from vigcv.cache import cache_dir, cached_speech, file_sha256, is_cached
from vigcv.config import Config
from vigcv.errors import MediaError, VigcvError
from vigcv.hooks import Hook, is_progress, no_hook
from vigcv.io import MediaInfo, probe, store
from vigcv.types import FrameFeatures
from vigcv.vision.extract import features_from_scan
from vigcv.vision.scan import ScanResult, scan_video
from vigcv.vision.track import match_cost

CHUNKS_FOLDER = "vision-chunks"
LINK_SHARE = 0.3  # two tracks are one when their boxes match in this share of their shared frames


@dataclass(frozen=True)
class Chunk:
    """One time chunk of a recording's vision scan.

    Attributes
    ----------
    index, count : int
        This chunk's number (from 0) and how many chunks the recording has.
    start : float
        Seconds where the frames this chunk contributes begin.
    end : float or None
        Seconds where they end (exclusive); ``None`` for the last chunk (to the end).
    lead : float
        Seconds scanned before ``start`` to pick up faces and link tracks (0 for the first).
    """

    index: int
    count: int
    start: float
    end: float | None
    lead: float = 0.0

    @property
    def scan_start(self) -> float:
        """Seconds where the scan of this chunk begins (``start - lead``)."""
        return max(0.0, self.start - self.lead)

    @property
    def name(self) -> str:
        return f"{self.index:03d}-of-{self.count:03d}"

    def expected_frames(self, *, duration: float, fps: float) -> int:
        """About how many frames the scan of this chunk analyses (for progress)."""
        end = duration if self.end is None else min(self.end, duration)
        return max(1, math.ceil(max(0.0, end - self.scan_start) * fps)) if fps > 0 else 1


@dataclass(frozen=True)
class ChunkScan:
    """A chunk's scan and the problems its decoding met (one line each)."""

    scan: ScanResult
    warnings: tuple[str, ...] = ()


def plan_chunks(*, duration: float, config: Config) -> tuple[Chunk, ...]:
    """The chunks of a recording of ``duration`` seconds (one chunk: not split).

    ``round(duration / chunk_s)`` chunks of ``chunk_s`` seconds, the last taking the rest (so
    chunks are 0.5 to 1.5 ``chunk_s`` long); ``chunk_s = 0`` never splits.
    """
    vc = config["vision"]
    size = float(vc["chunk_s"])
    count = max(1, math.floor(duration / size + 0.5)) if size > 0 and duration > 0 else 1
    lead = min(float(vc["chunk_overlap_s"]), size) if count > 1 else 0.0
    return tuple(
        Chunk(
            index=k,
            count=count,
            start=k * size,
            end=(k + 1) * size if k < count - 1 else None,
            lead=lead if k else 0.0,
        )
        for k in range(count)
    )


def scan_chunk(
    path: Path,
    *,
    chunk: Chunk,
    config: Config,
    total: int,
    hook: Hook | None = None,
) -> ChunkScan:
    """Scan one chunk of a video (its lead-in included).

    A chunk after the first that cannot be decoded (the file ends early) is empty, with a
    warning; the first chunk's decoding errors are raised as for a whole scan.
    """
    warnings: list[str] = []
    try:
        scan = scan_video(
            Path(path),
            fps=float(config["ingest"]["analysis_fps"]),
            max_side=int(config["ingest"]["max_side"]),
            vc=config["vision"],
            total=total,
            hook=hook or no_hook,
            warnings=warnings,
            start=chunk.scan_start,
            end=chunk.end,
        )
    except MediaError as exc:
        if chunk.index == 0:
            raise
        warnings.append(f"video from {chunk.scan_start:.1f} s cannot be decoded ({exc})")
        scan = ScanResult.empty()
    return ChunkScan(scan, tuple(warnings))


def save_chunk(folder: Path, value: ChunkScan) -> None:
    arrays = {f"face_{k}": v for k, v in value.scan.faces.items()}
    np.savez(
        folder / "scan.npz",
        times=value.scan.times,
        size=np.array([value.scan.width, value.scan.height]),
        **arrays,
    )
    store.write_json(folder / "warnings.json", list(value.warnings))


def load_chunk(folder: Path) -> ChunkScan:
    with np.load(folder / "scan.npz") as data:
        faces = {k[5:]: data[k] for k in data.files if k.startswith("face_")}
        width, height = (int(v) for v in data["size"])
        scan = ScanResult(data["times"], faces, width, height)
    warnings = tuple(str(w) for w in store.read_json(folder / "warnings.json"))
    return ChunkScan(scan, warnings)


def cached_chunk(
    path: Path,
    *,
    chunk: Chunk,
    config: Config,
    folder: Path,
    total: int,
    hook: Hook | None = None,
) -> tuple[ChunkScan, bool]:
    """:func:`scan_chunk`, loaded from ``folder/<chunk name>`` when scanned before; ``(scan,
    hit)``."""
    return store.cached(
        folder / chunk.name,
        lambda: scan_chunk(path, chunk=chunk, config=config, total=total, hook=hook),
        save=save_chunk,
        load=load_chunk,
    )


def _pair_frames(a: np.ndarray, b: np.ndarray, *, tolerance: float) -> list[tuple[int, int]]:
    """``(i, j)`` pairs of the nearest times ``a[i]``, ``b[j]`` (both increasing) within
    ``tolerance`` seconds, each index used once."""
    if not a.size or not b.size:
        return []
    nearest = np.clip(np.searchsorted(a, b), 1, a.size - 1) if a.size > 1 else np.zeros_like(b)
    pairs = []
    used: set[int] = set()
    for j, t in enumerate(b):
        k = int(nearest[j])
        i = k if a.size == 1 or abs(a[k] - t) < abs(a[k - 1] - t) else k - 1
        if abs(a[i] - t) <= tolerance and i not in used:
            used.add(i)
            pairs.append((i, j))
    return pairs


def _boxes(faces: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    return np.stack([faces[k][rows] for k in ("x0", "y0", "x1", "y1")], axis=1)


def link_tracks(
    before: ScanResult,
    after: ScanResult,
    *,
    gate: float,
    size_weight: float,
    tolerance: float,
) -> dict[int, int]:
    """Which track of ``after`` continues which track of ``before``, from their shared frames.

    Frames of the two scans closer in time than ``tolerance`` seconds are paired; in each pair
    the boxes are matched by :func:`vigcv.vision.track.match_cost` (at most ``gate``). A track
    of ``after`` continues the track of ``before`` it matched most often, when that is at least
    :data:`LINK_SHARE` of the paired frames either track is in; each continues at most one.

    Returns
    -------
    dict of int to int
        ``{track in after: track in before}``.
    """
    fa, fb = before.faces, after.faces
    counts: dict[tuple[int, int], int] = {}
    seen_a: dict[int, int] = {}
    seen_b: dict[int, int] = {}
    for i, j in _pair_frames(before.times, after.times, tolerance=tolerance):
        rows_a = np.nonzero(fa["frame"] == i)[0]
        rows_b = np.nonzero(fb["frame"] == j)[0]
        for r in rows_a:
            seen_a[int(fa["track"][r])] = seen_a.get(int(fa["track"][r]), 0) + 1
        for r in rows_b:
            seen_b[int(fb["track"][r])] = seen_b.get(int(fb["track"][r]), 0) + 1
        if not rows_a.size or not rows_b.size:
            continue
        cost = match_cost(_boxes(fa, rows_a), _boxes(fb, rows_b), size_weight=size_weight)
        for r, c in zip(*linear_sum_assignment(cost), strict=True):
            if cost[r, c] <= gate:
                key = (int(fa["track"][rows_a[r]]), int(fb["track"][rows_b[c]]))
                counts[key] = counts.get(key, 0) + 1
    if not counts:
        return {}
    olds = sorted({a for a, _ in counts})
    news = sorted({b for _, b in counts})
    score = np.zeros((len(olds), len(news)))
    for (a, b), n in counts.items():
        score[olds.index(a), news.index(b)] = n
    link = {}
    for r, c in zip(*linear_sum_assignment(-score), strict=True):
        a, b = olds[r], news[c]
        if score[r, c] >= max(1.0, LINK_SHARE * min(seen_a[a], seen_b[b])):
            link[b] = a
    return link


def _select(scan: ScanResult, frames: np.ndarray, rows: np.ndarray) -> ScanResult:
    """The sub-scan of frame indices ``frames`` (renumbered from 0) and face ``rows``."""
    renumber = np.full(scan.times.size, -1)
    renumber[frames] = np.arange(frames.size)
    faces = {k: v[rows] for k, v in scan.faces.items()}
    faces["frame"] = renumber[scan.faces["frame"][rows].astype(int)].astype(float)
    return ScanResult(scan.times[frames], faces, scan.width, scan.height)


def stitch(
    scans: Sequence[ScanResult],
    chunks: Sequence[Chunk],
    *,
    config: Config,
) -> ScanResult:
    """One scan of the whole recording from its chunks' scans (see the module docstring).

    Each chunk contributes its frames from ``chunk.start`` on; its lead-in frames only link its
    tracks to the previous chunk's. Track ids are renumbered over the recording: a linked track
    keeps the id of the track it continues, others get new ids in the order they appeared.
    """
    vc = config["vision"]
    fps = float(config["ingest"]["analysis_fps"])
    tolerance = 0.5 / fps if fps > 0 else 0.02
    times: list[np.ndarray] = []
    faces: dict[str, list[np.ndarray]] = {}
    width = height = 0
    offset = 0
    next_id = 0
    previous: ScanResult | None = None  # the last chunk's own frames, with global track ids
    for scan, chunk in zip(scans, chunks, strict=True):
        width, height = width or scan.width, height or scan.height
        own = np.nonzero(scan.times >= chunk.start - 1e-9)[0] if chunk.index else None
        own = np.arange(scan.times.size) if own is None else own
        lead = np.nonzero(scan.times < chunk.start - 1e-9)[0] if chunk.index else own[:0]
        frame = scan.faces["frame"].astype(int)
        own_rows = np.nonzero(np.isin(frame, own))[0]
        going_on = np.isin(scan.faces["track"], scan.faces["track"][own_rows])
        lead_rows = np.nonzero(np.isin(frame, lead) & going_on)[0]  # tracks that go on only
        link: dict[int, int] = {}
        if previous is not None and lead.size:
            window = np.nonzero(previous.times >= chunk.scan_start - tolerance)[0]
            rows = np.nonzero(np.isin(previous.faces["frame"].astype(int), window))[0]
            link = link_tracks(
                _select(previous, window, rows),
                _select(scan, lead, lead_rows),
                gate=float(vc["chunk_link_cost"]),
                size_weight=float(vc["track_size_weight"]),
                tolerance=tolerance,
            )
        ids = {}
        for local in np.unique(scan.faces["track"][own_rows]).astype(int):
            if local in link:
                ids[local] = link[local]
            else:
                ids[local] = next_id
                next_id += 1
        part = _select(scan, own, own_rows)
        part.faces["track"] = np.array([ids[int(t)] for t in part.faces["track"]], dtype=float)
        next_id = max([next_id, *(i + 1 for i in ids.values())])
        previous = part
        times.append(part.times)
        for k, v in part.faces.items():
            faces.setdefault(k, []).append(v + offset if k == "frame" else v)
        offset += part.times.size
    if not times:
        return ScanResult.empty()
    return ScanResult(
        np.concatenate(times),
        {k: np.concatenate(v) for k, v in faces.items()},
        width,
        height,
    )


def _progress(hook: Hook | None, *, base: int, total: int) -> Hook | None:
    """``hook`` with a chunk's frame counts moved to the session's (``base`` frames before)."""
    if hook is None:
        return None
    session_total = float(total)

    def relay(
        step: str,
        artifact: object = None,
        *,
        completed: float | None = None,
        total: float | None = None,
    ) -> None:
        if is_progress(completed, total):
            done = min(base + float(completed or 0.0), session_total)
            hook(step, artifact, completed=done, total=session_total)
        else:
            hook(step, artifact)

    return relay


def extract_vision_chunked(
    path: Path,
    *,
    config: Config,
    info: MediaInfo,
    chunks: Sequence[Chunk],
    folder: Path,
    video_id: str,
    hook: Hook | None = None,
    warnings: list[str] | None = None,
) -> FrameFeatures:
    """:func:`vigcv.vision.extract_vision` of a recording split into ``chunks``.

    Chunks already in ``folder`` (scanned by a worker ahead of the session, or by a run that was
    stopped) are loaded; the others are scanned here, one after another.

    Parameters
    ----------
    path : Path
        The video file.
    config : dict
        Full vigcv config.
    info : MediaInfo
        From :func:`vigcv.io.probe` (duration, fallback size).
    chunks : sequence of Chunk
        From :func:`plan_chunks`.
    folder : Path
        Where chunk scans are cached.
    video_id : str
        The file's sha256 (provenance).
    hook : callable, optional
        ``hook("vision", None, completed=frames, total=frames)`` over the whole recording.
    warnings : list of str, optional
        Receives one line per problem that did not stop the run.
    """
    fps = float(config["ingest"]["analysis_fps"])
    sizes = [c.expected_frames(duration=info.duration, fps=fps) for c in chunks]
    total = sum(sizes)
    scans = []
    for k, chunk in enumerate(chunks):
        relay = _progress(hook, base=sum(sizes[:k]), total=total)
        result, _ = cached_chunk(
            path, chunk=chunk, config=config, folder=folder, total=sizes[k], hook=relay
        )
        scans.append(result.scan)
        if warnings is not None:
            warnings.extend(result.warnings)
    if hook is not None:
        hook("vision", None, completed=total, total=total)
    rate = fps if fps > 0 else (info.nominal_fps or 25.0)
    features = features_from_scan(
        stitch(scans, chunks, config=config),
        config=config,
        rate=rate,
        video_id=video_id,
        name=Path(path).name,
        warnings=warnings,
        fallback_size=(info.width, info.height),
    )
    features.provenance["chunks"] = [[c.start, c.end] for c in chunks]
    return features


def remove_chunks(folder: Path) -> None:
    """Delete the cached chunk scans (once the session's features are cached)."""
    shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class ChunkJob:
    """One chunk of a recording to scan into its session's cache ahead of the session.

    Picklable, for a worker process or a Dask worker. ``frames`` is about how many frames this
    chunk's scan analyses, ``base`` how many the chunks before it do, ``session_frames`` all the
    chunks together (progress in the session's own terms).
    """

    media: Path
    chunk: Chunk
    folder: Path
    config: Config
    frames: int
    base: int
    session_frames: int

    @property
    def part(self) -> int:
        """The chunk's number (progress messages of chunks scanned at once add up)."""
        return self.chunk.index

    @property
    def name(self) -> str:
        return f"chunk{self.chunk.index}"

    def run(self, *, hook: Hook | None = None) -> None:
        """Scan the chunk into the cache (nothing when it is there already).

        ``hook("vision", None, completed=..., total=...)`` counts this chunk's frames only.
        """
        cached_chunk(
            self.media,
            chunk=self.chunk,
            config=self.config,
            folder=self.folder,
            total=self.frames,
            hook=hook,
        )


@dataclass(frozen=True)
class AudioJob:
    """A long recording's audio, extracted into its session's cache ahead of the session.

    It runs beside the vision chunks, so the session, once they are done, only stitches them.
    """

    media: Path
    folder: Path
    config: Config
    part: int = -1  # not a chunk: no progress of its own (the session's bar counts frames)
    name: str = "audio"

    def run(self, *, hook: Hook | None = None) -> None:
        cached_speech(
            self.media, has_audio=True, config=self.config, folder=self.folder, warnings=[]
        )


def pending_chunks(media: Path, *, session_dir: Path, config: Config) -> list[ChunkJob | AudioJob]:
    """What a worker could do for a long session ahead of it: its audio, then its chunks.

    Empty when the recording is not split, or its features are already cached, or it cannot
    be read (the session itself then reports why). Costs a probe and a sha256 of the file.
    """
    try:
        info = probe(media)
        if not info.has_video:
            return []
        plan = plan_chunks(duration=info.duration, config=config)
        if len(plan) < 2:
            return []
        cache = cache_dir(session_dir, sha256=file_sha256(media), config=config)
    except (VigcvError, OSError):
        return []
    jobs: list[ChunkJob | AudioJob] = []
    if info.has_audio and not is_cached(cache / "audio"):
        jobs.append(AudioJob(media, cache / "audio", config))  # first: beside chunks, not after
    if is_cached(cache / "vision"):
        return jobs
    fps = float(config["ingest"]["analysis_fps"])
    sizes = [c.expected_frames(duration=info.duration, fps=fps) for c in plan]
    folder = cache / CHUNKS_FOLDER
    return jobs + [
        ChunkJob(media, chunk, folder, config, sizes[k], sum(sizes[:k]), sum(sizes))
        for k, chunk in enumerate(plan)
        if not is_cached(folder / chunk.name)
    ]
