"""Builders of small media files with known properties, for the ingest and CLI tests."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np


def frame_image(i: int, *, width: int, height: int) -> np.ndarray:
    """A frame whose top-left quadrant is red and whose frame number is coded in a grey bar."""
    img = np.full((height, width, 3), 40, dtype=np.uint8)
    img[: height // 2, : width // 2] = (220, 30, 30)  # red marks the top-left corner
    img[height - 8 :, :] = (i * 7) % 256
    return img


def write_video(
    path: Path,
    *,
    seconds: float = 2.0,
    fps: float = 25.0,
    width: int = 160,
    height: int = 120,
    audio: bool = True,
    rotation: int = 0,
    times: Sequence[float] | None = None,
    container: str | None = None,
    audio_rate: int = 48000,
    codec: str = "libx264",
) -> Path:
    """Write a small H.264 (+AAC) video. ``times`` gives explicit presentation times (VFR)."""
    path = Path(path)
    stamps = list(times) if times is not None else [i / fps for i in range(int(seconds * fps))]
    time_base = Fraction(1, 90000)
    with av.open(str(path), mode="w", format=container) as out:
        v = out.add_stream(codec, rate=round(fps))
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.time_base = time_base
        v.codec_context.time_base = time_base
        if codec == "libx264":
            v.options = {"preset": "ultrafast", "bf": "0"}
        elif codec == "libx265":  # a phone's HEVC
            v.options = {"preset": "ultrafast", "x265-params": "log-level=error:bframes=0"}
        if rotation:
            v.set_display_rotation(rotation)
        a = None
        if audio:
            a = out.add_stream("libopus" if codec.startswith("libvpx") else "aac", rate=audio_rate)
            a.layout = "mono"
        for i, t in enumerate(stamps):
            frame = av.VideoFrame.from_ndarray(
                frame_image(i, width=width, height=height), format="rgb24"
            )
            frame.pts = round(t / time_base)
            frame.time_base = time_base
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)
        if a is not None:
            total = stamps[-1] + 1.0 / fps if stamps else seconds
            write_tone(out, a, seconds=total, rate=audio_rate)
    return path


def write_tone(
    out: av.container.OutputContainer, stream: av.AudioStream, *, seconds: float, rate: int
) -> None:
    n = int(seconds * rate)
    t = np.arange(n) / rate
    samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    block = 1024
    for start in range(0, n, block):
        chunk = samples[start : start + block]
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
        frame.rate = rate
        frame.pts = start
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def write_audio(
    path: Path, *, seconds: float = 2.0, rate: int = 44100, fmt: str | None = None
) -> Path:
    """Write an audio-only file (wav/flac/m4a/mp3 chosen by the extension) holding a 440 Hz tone."""
    codec = {".wav": "pcm_s16le", ".flac": "flac", ".m4a": "aac", ".mp3": "libmp3lame"}[path.suffix]
    with av.open(str(path), mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        n = int(seconds * rate)
        t = np.arange(n) / rate
        samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        block = 1152
        src_fmt = "s16" if codec == "pcm_s16le" else ("s16p" if codec == "libmp3lame" else "fltp")
        for start in range(0, n, block):
            chunk = samples[start : start + block]
            if src_fmt.startswith("s16"):
                data = (chunk * 32767).astype(np.int16)[None, :]
            else:
                data = chunk[None, :]
            frame = av.AudioFrame.from_ndarray(data, format=src_fmt, layout="mono")
            frame.rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def truncate(src: Path, dst: Path, *, fraction: float = 0.5) -> Path:
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * fraction)])
    return Path(dst)


def progress_recorder(events: list[tuple[str, object]]) -> Any:
    """A batch hook (:mod:`vigcv.hooks`) that records progress as ``(step, {"session", "done",
    "total"})`` and finished steps as ``(step, artifact)``."""

    def hook(
        step: str,
        artifact: object = None,
        *,
        completed: float | None = None,
        total: float | None = None,
    ) -> None:
        if completed is not None and total is not None:
            events.append((step, {"session": artifact, "done": completed, "total": total}))
        else:
            events.append((step, artifact))

    return hook
