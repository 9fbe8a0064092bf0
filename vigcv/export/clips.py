"""Cut a moment out of a recording into its own mp4 (H.264 video, AAC audio) with PyAV.

The input is decoded from shortly before ``start``; frames whose presentation time lies in
``[start, end)`` are re-encoded with times counted from the clip's start (variable frame rate is
kept: each frame keeps its own time, in milliseconds). Audio samples in the same interval are
re-encoded as AAC. An optional small caption shows the time in the original recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from vigcv.clock import clock
from vigcv.config import default_config
from vigcv.errors import MediaError
from vigcv.io.store import atomic_path


@dataclass(frozen=True)
class ClipResult:
    """What :func:`write_clip` wrote."""

    path: Path
    frames: int  # video frames written
    audio_samples: int  # audio samples written (per channel)
    duration: float  # seconds


def draw_caption(rgb: np.ndarray, text: str) -> np.ndarray:
    """Draw ``text`` small in the bottom-left corner on a dark box (returns a new image)."""
    out = rgb.copy()
    h, w = out.shape[:2]
    scale = max(0.4, min(1.0, w / 900.0))
    thick = 1 if scale < 0.7 else 2
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    pad = max(4, int(6 * scale))
    x0, y1 = pad, h - pad
    y0 = y1 - th - base - 2 * pad
    overlay = out.copy()
    cv2.rectangle(overlay, (x0, y0), (x0 + tw + 2 * pad, y1), (0, 0, 0), -1)
    out = cv2.addWeighted(overlay, 0.55, out, 0.45, 0)
    cv2.putText(
        out,
        text,
        (x0 + pad, y1 - pad - base),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        thick,
        cv2.LINE_AA,
    )
    return out


def _even(n: float) -> int:
    return max(2, round(n / 2.0) * 2)


def write_clip(
    source: str | Path,
    dest: str | Path,
    *,
    start: float,
    end: float,
    caption: bool | None = None,
    crf: int | None = None,
    max_side: int | None = None,
    audio_bitrate: int | None = None,
) -> ClipResult:
    """Write ``[start, end)`` seconds of ``source`` to ``dest`` as an mp4 (H.264 + AAC).

    Parameters
    ----------
    source, dest : path
        The recording and the clip to write (written to a temporary name, then renamed).
    start, end : float
        Seconds in the recording.
    caption : bool
        Draw the time in the recording (``mm:ss``) small in a corner.
    crf : int
        x264 constant rate factor (lower = better quality, bigger file; 18-28 is usual).
    max_side : int
        Longest side of the clip in pixels (scaled down when larger; 0 = never).
    audio_bitrate : int
        AAC bit rate in bits per second.

    Settings left out take their ``[export]`` values from ``configs/default.toml``.
    """
    defaults = default_config()["export"]
    caption = bool(defaults["caption"] if caption is None else caption)
    crf = int(defaults["crf"] if crf is None else crf)
    max_side = int(defaults["max_side"] if max_side is None else max_side)
    audio_bitrate = int(defaults["audio_bitrate"] if audio_bitrate is None else audio_bitrate)
    source, dest = Path(source), Path(dest)
    if not end > start:
        raise MediaError(f"{source}: clip end {end:.2f} s is not after its start {start:.2f} s")
    try:
        container = av.open(str(source), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"{source}: cannot be opened to cut a clip ({exc})") from None
    with container, atomic_path(dest) as tmp:
        t0 = container.start_time / av.time_base if container.start_time is not None else 0.0
        v_in = container.streams.video[0] if container.streams.video else None
        a_in = container.streams.audio[0] if container.streams.audio else None
        if v_in is None:
            raise MediaError(f"{source}: has no video stream to cut a clip from")
        w, h = v_in.codec_context.width, v_in.codec_context.height
        scale = min(1.0, max_side / max(w, h)) if max_side else 1.0
        out_w, out_h = _even(w * scale), _even(h * scale)
        with av.open(str(tmp), mode="w", format="mp4") as out:
            v_out = out.add_stream("libx264", rate=30)
            v_out.width, v_out.height, v_out.pix_fmt = out_w, out_h, "yuv420p"
            v_out.codec_context.time_base = Fraction(1, 1000)
            v_out.options = {"crf": str(int(crf)), "preset": "veryfast"}
            a_out = None
            if a_in is not None:
                a_layout = "stereo" if (a_in.channels or 1) >= 2 else "mono"
                a_out = out.add_stream("aac", rate=int(a_in.rate or 48000))
                a_out.layout = a_layout
                a_out.bit_rate = int(audio_bitrate)
            frames = _copy_video(container, v_in, v_out, out, t0=t0, start=start, end=end,
                                 caption=caption, size=(out_w, out_h))  # fmt: skip
            if frames == 0:
                raise MediaError(f"{source}: no video frames between {start:.1f} and {end:.1f} s")
            samples = 0
            if a_in is not None and a_out is not None:
                samples = _copy_audio(source, a_in.index, a_out, out, t0=t0, start=start, end=end)
    return ClipResult(path=dest, frames=frames, audio_samples=samples, duration=end - start)


def _copy_video(
    container: av.container.InputContainer,
    v_in: av.video.stream.VideoStream,
    v_out: av.video.stream.VideoStream,
    out: av.container.OutputContainer,
    *,
    t0: float,
    start: float,
    end: float,
    caption: bool,
    size: tuple[int, int],
) -> int:
    container.seek(int(max(0.0, start + t0 - 2.0) * av.time_base), backward=True)
    v_in.thread_type = "AUTO"
    last_ms = -1
    count = 0
    for frame in container.decode(v_in):
        if frame.pts is None or frame.time_base is None:
            continue
        t = float(frame.pts * frame.time_base) - t0
        if t < start - 1e-6:
            continue
        if t >= end:
            break
        ms = round((t - start) * 1000)
        if ms <= last_ms:
            continue  # a repeated or out-of-order timestamp
        rgb = frame.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray()
        if caption:
            rgb = draw_caption(rgb, clock(t))
        new = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        new.pts, new.time_base = ms, Fraction(1, 1000)
        for packet in v_out.encode(new):
            out.mux(packet)
        last_ms = ms
        count += 1
    for packet in v_out.encode(None):
        out.mux(packet)
    return count


def _copy_audio(
    source: Path,
    index: int,
    a_out: av.audio.stream.AudioStream,
    out: av.container.OutputContainer,
    *,
    t0: float,
    start: float,
    end: float,
) -> int:
    with av.open(str(source), mode="r", metadata_errors="ignore") as container:
        a_in = next(s for s in container.streams.audio if s.index == index)
        rate = int(a_in.rate or 48000)
        layout = "stereo" if (a_in.channels or 1) >= 2 else "mono"
        channels = 2 if layout == "stereo" else 1
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        container.seek(int(max(0.0, start + t0 - 2.0) * av.time_base), backward=True)
        chunks: list[np.ndarray] = []
        first: float | None = None
        try:
            for frame in container.decode(a_in):
                assert isinstance(frame, av.AudioFrame)
                if frame.pts is None or frame.time_base is None:
                    continue
                ft = float(frame.pts * frame.time_base) - t0
                if ft >= end:
                    break
                for res in resampler.resample(frame):
                    if first is None:
                        first = ft
                    chunks.append(res.to_ndarray().reshape(channels, -1))
        except av.error.FFmpegError:
            pass  # a truncated audio track: keep what was decoded
    if not chunks or first is None:
        return 0
    audio = np.concatenate(chunks, axis=1).astype(np.float32)
    lo = max(0, round((start - first) * rate))
    hi = max(lo, round((end - first) * rate))
    audio = audio[:, lo:hi]
    if start < first:  # audio starts late: pad with silence
        pad = np.zeros((channels, round((first - start) * rate)), dtype=np.float32)
        audio = np.concatenate([pad, audio], axis=1)
    frame_size = 1024
    written = 0
    for i in range(0, audio.shape[1], frame_size):
        block = np.ascontiguousarray(audio[:, i : i + frame_size])
        new = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
        new.sample_rate = rate
        new.pts, new.time_base = written, Fraction(1, rate)
        for packet in a_out.encode(new):
            out.mux(packet)
        written += block.shape[1]
    for packet in a_out.encode(None):
        out.mux(packet)
    return written
