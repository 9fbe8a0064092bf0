"""Decode video and audio with PyAV, streaming, with real presentation timestamps.

- Frames come out in presentation order with strictly increasing times (duplicated or
  out-of-order timestamps, common in phone and webcam recordings, are reordered or dropped), are
  sampled at an analysis rate, turned upright by the rotation metadata and scaled down.
- Audio comes out as mono float32 at 16 kHz (configurable), in blocks, aligned so that sample 0 is
  time 0 of the media.
- Times are seconds from the start of the container.
"""

from __future__ import annotations

import heapq
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import av
import numpy as np

from vigcv.errors import MediaError

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".3gp"})
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".m4a", ".mp3"})
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | AUDIO_EXTENSIONS

T = TypeVar("T")
_REORDER_DEPTH = 8  # frames held back to put out-of-order timestamps in order


@dataclass(frozen=True)
class MediaInfo:
    """What a media file holds."""

    path: Path
    duration: float  # seconds (longest stream)
    has_video: bool
    has_audio: bool
    width: int = 0  # upright, after rotation
    height: int = 0
    rotation: int = 0  # degrees the stored picture is turned to display upright (0/90/180/270)
    nominal_fps: float = 0.0  # container's average rate (may be wrong for variable frame rate)
    audio_rate: int = 0
    audio_channels: int = 0
    video_codec: str = ""
    audio_codec: str = ""


@dataclass(frozen=True)
class VideoFrame:
    """One analysed frame: its presentation time and upright RGB pixels (H, W, 3) uint8."""

    t: float
    index: int  # analysed-frame index 0, 1, 2, ...
    rgb: np.ndarray
    scale: float  # analysed pixels per original pixel (<= 1)


@dataclass(frozen=True)
class AudioBlock:
    """A block of mono float32 samples starting at ``t`` seconds."""

    t: float
    samples: np.ndarray
    rate: int


def _fail(path: Path, what: str) -> MediaError:
    return MediaError(f"{path}: {what}")


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise _fail(path, "no such file; check the path")
    if path.is_dir():
        raise _fail(path, "is a folder, not a media file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _fail(path, f"cannot read ({exc.strerror}); check its permissions") from None
    if size == 0:
        raise _fail(path, "file is empty (0 bytes); copy the recording again")
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except PermissionError:
        raise _fail(path, "cannot read (permission denied); check its permissions") from None
    except (av.error.FFmpegError, UnicodeDecodeError, OSError) as exc:
        reason = _reason(exc)
        raise _fail(
            path,
            f"not a readable video or audio file ({reason}); check it plays, or re-export as mp4",
        ) from None


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    text = text.split(":")[-1].strip() if "Errno" in str(exc) else text
    return text.replace("\n", " ")[:120]


def _rotation_of(
    stream: av.video.stream.VideoStream, container: av.container.InputContainer
) -> int:
    """Display rotation in degrees counter-clockwise to apply (multiple of 90), from metadata."""
    try:
        for frame in container.decode(stream):
            return round(float(frame.rotation) / 90.0) * 90 % 360
    except (av.error.FFmpegError, ValueError):
        return 0
    return 0


def probe(path: str | Path) -> MediaInfo:
    """Read a media file's streams and duration; a one-line :class:`MediaError` if it cannot."""
    path = Path(path)
    with _open(path) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise _fail(path, "has no video or audio stream; is it really a recording?")
        durations = []
        if container.duration is not None:
            durations.append(container.duration / av.time_base)
        for stream in (video, audio):
            if stream is not None and stream.duration is not None and stream.time_base:
                durations.append(float(stream.duration * stream.time_base))
        duration = max(durations) if durations else 0.0
        info = dict(path=path, duration=duration, has_video=video is not None)
        info["has_audio"] = audio is not None
        if video is not None:
            rotation = _rotation_of(video, container)
            w, h = video.codec_context.width, video.codec_context.height
            if rotation in (90, 270):
                w, h = h, w
            rate = video.average_rate or video.guessed_rate
            info.update(
                width=w,
                height=h,
                rotation=rotation,
                nominal_fps=float(rate) if rate else 0.0,
                video_codec=video.codec_context.name,
            )
            if w <= 0 or h <= 0:
                raise _fail(path, "video stream has no picture size; re-export the file")
        if audio is not None:
            info.update(
                audio_rate=int(audio.rate or 0),
                audio_channels=int(audio.channels or 0),
                audio_codec=audio.codec_context.name,
            )
    return MediaInfo(**info)  # type: ignore[arg-type]


def _start_time(container: av.container.InputContainer) -> float:
    return container.start_time / av.time_base if container.start_time is not None else 0.0


def _upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k=k)) if k else rgb


def iter_frames(
    path: str | Path,
    *,
    fps: float,
    max_side: int = 0,
    start: float = 0.0,
    end: float | None = None,
    warnings: list[str] | None = None,
) -> Iterator[VideoFrame]:
    """Decode a video, yielding upright RGB frames sampled at about ``fps`` per second.

    Parameters
    ----------
    path : str or Path
        The video file.
    fps : float
        Analysis rate in frames per second; ``0`` yields every decoded frame.
    max_side : int
        Longest side in pixels of the yielded frames (scaled down with area averaging); 0 keeps
        the original size.
    start, end : float
        Only frames whose time lies in ``[start, end)`` seconds.
    warnings : list of str, optional
        Receives a line if decoding stops early (a truncated file).

    Yields
    ------
    VideoFrame
        Strictly increasing ``t`` (seconds from the start of the media). A frame is yielded when
        it is the first at or after the next point of the ``1/fps`` grid, so its time is a real
        presentation time, never an invented one.
    """
    path = Path(path)
    container = _open(path)
    try:
        if not container.streams.video:
            raise _fail(path, "has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        # VIGCV_DECODE_THREADS=1 inside batch workers keeps N workers on N cores from fighting
        threads = os.environ.get("VIGCV_DECODE_THREADS", "")
        if threads.isdigit():
            stream.codec_context.thread_count = int(threads)
        t0 = _start_time(container)
        width, height = stream.codec_context.width, stream.codec_context.height
        scale = 1.0
        if max_side and max(width, height) > max_side:
            scale = max_side / max(width, height)
        out_w = max(2, round(width * scale / 2) * 2)
        out_h = max(2, round(height * scale / 2) * 2)
        step = 1.0 / fps if fps > 0 else 0.0
        if start > 0:
            container.seek(int(max(0.0, start + t0 - 1.0) * av.time_base), backward=True)
        next_t = start
        index = 0
        decoded = _decoded(container, stream, t0, path, warnings)
        for t, frame in in_presentation_order(decoded):
            if t < start - 1e-6:
                continue
            if end is not None and t >= end:
                break
            if step and t < next_t - 0.25 * step:
                continue
            if step:
                next_t = max(next_t + step, t + 0.75 * step)
            image = frame.reformat(width=out_w, height=out_h, format="rgb24")
            rgb = _upright(image.to_ndarray(), _frame_rotation(frame))
            yield VideoFrame(t=t, index=index, rgb=rgb, scale=out_w / width)
            index += 1
    finally:
        container.close()


def _frame_rotation(frame: av.VideoFrame) -> int:
    try:
        return round(float(frame.rotation) / 90.0) * 90 % 360
    except (ValueError, AttributeError):
        return 0


def in_presentation_order(
    items: Iterable[tuple[float, T]], *, depth: int = _REORDER_DEPTH
) -> Iterator[tuple[float, T]]:
    """Put ``(time, item)`` pairs in increasing time and drop repeated or late times.

    Holds back up to ``depth`` items to reorder slightly out-of-order timestamps; an item whose
    time is not after the last one yielded (a duplicate, or too late to reorder) is dropped, so
    the times yielded are strictly increasing, as MediaPipe's VIDEO mode and scoring expect.
    """
    heap: list[tuple[float, int, T]] = []
    last = -math.inf
    for serial, (t, item) in enumerate(items):
        heapq.heappush(heap, (t, serial, item))
        if len(heap) > depth:
            tt, _, it = heapq.heappop(heap)
            if tt > last + 1e-6:
                last = tt
                yield tt, it
    while heap:
        tt, _, it = heapq.heappop(heap)
        if tt > last + 1e-6:
            last = tt
            yield tt, it


def _decoded(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    t0: float,
    path: Path,
    warnings: list[str] | None,
) -> Iterator[tuple[float, av.VideoFrame]]:
    """Decoded frames with their times in seconds, as the decoder gives them."""
    serial = 0
    last_time = 0.0
    try:
        for frame in container.decode(stream):
            if frame.pts is None or frame.time_base is None:
                t = last_time + (1.0 / float(stream.average_rate or 25))
            else:
                t = float(frame.pts * frame.time_base) - t0
            last_time = t
            serial += 1
            yield t, frame
    except av.error.FFmpegError as exc:
        if serial == 0:
            raise _fail(path, f"video cannot be decoded ({_reason(exc)}); re-export it") from None
        if warnings is not None:
            warnings.append(f"video decoding stopped at {last_time:.1f} s ({_reason(exc)})")


def iter_audio(
    path: str | Path,
    *,
    rate: int = 16000,
    block_s: float = 30.0,
    warnings: list[str] | None = None,
) -> Iterator[AudioBlock]:
    """Decode the first audio stream to mono float32 at ``rate`` Hz, in blocks of ``block_s``.

    The first block starts at ``t = 0`` (silence is prepended when the audio starts late), and
    blocks follow each other without gaps, so sample ``i`` is at ``i / rate`` seconds. Memory does
    not grow with the length of the file.
    """
    path = Path(path)
    container = _open(path)
    try:
        if not container.streams.audio:
            raise _fail(path, "has no audio stream")
        stream = container.streams.audio[0]
        t0 = _start_time(container)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        block_len = max(1, int(block_s * rate))
        pending: list[np.ndarray] = []
        pending_len = 0
        emitted = 0
        started = False
        decoded_any = False

        def drain(final: bool) -> Iterator[AudioBlock]:
            nonlocal pending, pending_len, emitted
            while pending_len >= block_len or (final and pending_len > 0):
                joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
                take = min(block_len, pending_len)
                yield AudioBlock(t=emitted / rate, samples=joined[:take], rate=rate)
                emitted += take
                rest = joined[take:]
                pending = [rest] if rest.size else []
                pending_len = rest.size

        try:
            for frame in container.decode(stream):
                decoded_any = True
                if not started:
                    started = True
                    if frame.pts is not None and frame.time_base is not None:
                        lead = float(frame.pts * frame.time_base) - t0
                        if lead > 0:
                            pad = np.zeros(round(lead * rate), dtype=np.float32)
                            pending.append(pad)
                            pending_len += pad.size
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    pending.append(samples)
                    pending_len += samples.size
                if pending_len >= block_len:
                    yield from drain(False)
        except av.error.FFmpegError as exc:
            if not decoded_any:
                raise _fail(
                    path, f"audio cannot be decoded ({_reason(exc)}); re-export it"
                ) from None
            if warnings is not None:
                warnings.append(
                    f"audio decoding stopped at {emitted / rate:.1f} s ({_reason(exc)})"
                )
        for out in resampler.resample(None):
            samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            pending.append(samples)
            pending_len += samples.size
        yield from drain(True)
    finally:
        container.close()


def load_audio(
    path: str | Path, *, rate: int = 16000, warnings: list[str] | None = None
) -> np.ndarray:
    """The whole first audio stream as mono float32 at ``rate`` Hz, shape (n_samples,)."""
    blocks = [b.samples for b in iter_audio(path, rate=rate, warnings=warnings)]
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
