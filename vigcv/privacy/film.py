"""Write a film, or a part of it, as a new mp4 (H.264 + AAC) with faces blurred and no metadata.

The one writer behind ``vigcv blur`` (:func:`blur_film`: the whole film or ``--start/--end``)
and the exported clips (:func:`vigcv.export.clips.write_clip`). One pass over the input's packets
(:meth:`av.container.InputContainer.demux`) decodes video and sound together, so the output is
interleaved and memory does not grow with the film's length:

- video frames whose presentation time lies in ``[start, end)`` are turned upright (the
  rotation metadata is applied to the pixels), scaled to at most ``max_side``, blurred by a
  :class:`~vigcv.privacy.blur.FrameBlurrer` when a plan is given, captioned when asked, and
  re-encoded with their own times in milliseconds from ``start`` (variable frame rate kept);
- the sound in the same interval is re-encoded as AAC from its first sample's time, with
  silence before it when it starts late, so picture and sound stay in sync.

Nothing of the input's metadata is copied: no container or stream tag (no GPS location, camera
make or model, creation time, title), no rotation matrix (the pixels are upright instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from vigcv.errors import MediaError
from vigcv.hooks import Hook, no_hook
from vigcv.io.media import probe
from vigcv.io.store import atomic_path
from vigcv.privacy.blur import BlurPlan, BlurStats, FrameBlurrer

AUDIO_FRAME = 1024  # samples per encoded AAC frame


@dataclass(frozen=True)
class FilmResult:
    """What :func:`write_film` wrote."""

    path: Path
    frames: int  # video frames written
    audio_samples: int  # audio samples written (per channel)
    duration: float  # seconds
    blur: BlurStats | None = None  # what the blur did (None: nothing blurred)


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


def _rotation(frame: av.VideoFrame) -> int:
    try:
        return round(float(frame.rotation) / 90.0) * 90 % 360
    except (ValueError, AttributeError, TypeError):
        return 0


class _Sound:
    """Re-encode the audio of ``[start, end)`` as AAC, aligned on the first sample's time."""

    def __init__(
        self,
        out: av.container.OutputContainer,
        a_in: Any,
        *,
        start: float,
        end: float,
        bitrate: int,
    ) -> None:
        self.rate = int(a_in.rate or 48000)
        self.layout = "stereo" if (a_in.channels or 1) >= 2 else "mono"
        self.channels = 2 if self.layout == "stereo" else 1
        self.stream = out.add_stream("aac", rate=self.rate)
        self.stream.layout = self.layout
        self.stream.bit_rate = int(bitrate)
        self.out = out
        self.resampler = av.AudioResampler(format="fltp", layout=self.layout, rate=self.rate)
        self.start, self.end = start, end
        self.limit = max(0, round((end - start) * self.rate))  # samples in the interval
        self.skip: int | None = None  # samples still to drop before ``start`` (None: not begun)
        self.buffer: list[np.ndarray] = []
        self.buffered = 0
        self.written = 0
        self.done = False

    def push(self, frame: av.AudioFrame | None, t: float | None) -> None:
        if self.done:
            return
        for res in self.resampler.resample(frame):
            block = res.to_ndarray().reshape(self.channels, -1).astype(np.float32, copy=False)
            if self.skip is None:
                lead = round(((t if t is not None else self.start) - self.start) * self.rate)
                if lead > 0:  # the sound starts after ``start``: silence first
                    self._take(np.zeros((self.channels, lead), np.float32))
                self.skip = max(0, -lead)
            if self.skip:
                drop = min(self.skip, block.shape[1])
                block, self.skip = block[:, drop:], self.skip - drop
            self._take(block)
        self._encode(final=False)

    def _take(self, block: np.ndarray) -> None:
        room = self.limit - self.written - self.buffered
        if room <= 0:
            self.done = True
            return
        block = block[:, :room]
        if block.shape[1]:
            self.buffer.append(block)
            self.buffered += block.shape[1]

    def _encode(self, *, final: bool) -> None:
        if not self.buffer or (self.buffered < AUDIO_FRAME and not final):
            return
        audio = np.concatenate(self.buffer, axis=1) if len(self.buffer) > 1 else self.buffer[0]
        n = audio.shape[1] if final else audio.shape[1] // AUDIO_FRAME * AUDIO_FRAME
        for i in range(0, n, AUDIO_FRAME):
            block = np.ascontiguousarray(audio[:, i : min(n, i + AUDIO_FRAME)])
            new = av.AudioFrame.from_ndarray(block, format="fltp", layout=self.layout)
            new.sample_rate = self.rate
            new.pts, new.time_base = self.written, Fraction(1, self.rate)
            for packet in self.stream.encode(new):
                self.out.mux(packet)
            self.written += block.shape[1]
        rest = audio[:, n:]
        self.buffer = [rest] if rest.shape[1] else []
        self.buffered = rest.shape[1]

    def close(self) -> int:
        if not self.done:
            self.push(None, None)
        self._encode(final=True)
        for packet in self.stream.encode(None):
            self.out.mux(packet)
        return self.written


def write_film(
    source: str | Path,
    dest: str | Path,
    *,
    start: float = 0.0,
    end: float | None = None,
    caption: bool = False,
    crf: int = 23,
    max_side: int = 0,
    audio_bitrate: int = 128000,
    blur: BlurPlan | None = None,
    hook: Hook | None = None,
) -> FilmResult:
    """Write ``[start, end)`` seconds of ``source`` to ``dest`` as an mp4 (H.264 + AAC).

    Parameters
    ----------
    source, dest : path
        The film and the file to write (written to a temporary name, then renamed).
    start, end : float
        Seconds in the film (``end`` None: to its end).
    caption : bool
        Draw the time in the film (``mm:ss``) small in a corner.
    crf : int
        x264 constant rate factor (lower = better picture, bigger file; 18-28 is usual).
    max_side : int
        Longest side of the output in pixels (scaled down when larger; 0 = never).
    audio_bitrate : int
        AAC bit rate in bits per second.
    blur : BlurPlan, optional
        The faces to blur (:func:`vigcv.privacy.consent.blur_plan`); None blurs nothing.
    hook : callable, optional
        ``hook("blur", None, completed=s, total=s)`` with the seconds written so far.
    """
    from vigcv.clock import clock

    source, dest = Path(source), Path(dest)
    info = probe(source)  # a one-line MediaError for a missing, empty or unreadable file
    if not info.has_video:
        raise MediaError(f"{source}: has no video stream")
    end = float(info.duration if end is None else end)
    if not end > start:
        raise MediaError(f"{source}: end {end:.2f} s is not after the start {start:.2f} s")
    notify = hook or no_hook
    try:
        container = av.open(str(source), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"{source}: cannot be opened ({exc})") from None
    scale = min(1.0, max_side / max(info.width, info.height)) if max_side else 1.0
    out_w, out_h = _even(info.width * scale), _even(info.height * scale)
    blurrer = FrameBlurrer(blur, scale=out_w / info.width) if blur is not None else None
    with container, atomic_path(dest) as tmp:
        t0 = container.start_time / av.time_base if container.start_time is not None else 0.0
        v_in = container.streams.video[0]
        a_in = container.streams.audio[0] if container.streams.audio else None
        v_in.thread_type = "AUTO"
        with av.open(str(tmp), mode="w", format="mp4") as out:
            v_out = out.add_stream("libx264", rate=30)
            v_out.width, v_out.height, v_out.pix_fmt = out_w, out_h, "yuv420p"
            v_out.codec_context.time_base = Fraction(1, 1000)
            v_out.options = {"crf": str(int(crf)), "preset": "veryfast"}
            sound = (
                _Sound(out, a_in, start=start, end=end, bitrate=audio_bitrate)
                if a_in is not None
                else None
            )
            count = 0
            last_ms = -1

            def emit(t: float, ms: int, rgb: np.ndarray) -> None:
                nonlocal count
                if caption:
                    rgb = draw_caption(rgb, clock(t))
                new = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                new.pts, new.time_base = ms, Fraction(1, 1000)
                for packet in v_out.encode(new):
                    out.mux(packet)
                count += 1
                if count % 25 == 0:
                    notify("blur", None, completed=min(t, end) - start, total=end - start)

            if start > 0:
                container.seek(int(max(0.0, start + t0 - 2.0) * av.time_base), backward=True)
            video_done = False
            streams = [v_in] if a_in is None else [v_in, a_in]
            try:
                for packet in container.demux(*streams):
                    is_video = packet.stream.index == v_in.index
                    if video_done if is_video else (sound is None or sound.done):
                        if video_done and (sound is None or sound.done):
                            break
                        continue
                    try:
                        frames = packet.decode()
                    except av.error.FFmpegError:
                        if is_video and count == 0 and last_ms < 0:
                            raise
                        continue  # a damaged packet: keep going
                    for frame in frames:
                        if not isinstance(frame, av.VideoFrame | av.AudioFrame):
                            continue
                        if frame.pts is None or frame.time_base is None:
                            continue
                        t = float(frame.pts * frame.time_base) - t0
                        if not is_video:
                            assert sound is not None and isinstance(frame, av.AudioFrame)
                            if t >= end:
                                sound.done = True
                            else:
                                sound.push(frame, t)
                            continue
                        if t < start - 1e-6:
                            continue
                        if t >= end:
                            video_done = True
                            break
                        ms = round((t - start) * 1000)
                        if ms <= last_ms:
                            continue  # a repeated or out-of-order timestamp
                        last_ms = ms
                        assert isinstance(frame, av.VideoFrame)
                        rotation = _rotation(frame)
                        w, h = (out_h, out_w) if rotation in (90, 270) else (out_w, out_h)
                        rgb: np.ndarray = frame.reformat(
                            width=w, height=h, format="rgb24"
                        ).to_ndarray()
                        k = (rotation // 90) % 4
                        if k:
                            rgb = np.ascontiguousarray(np.rot90(rgb, k=k))
                        if blurrer is None:
                            emit(t, ms, rgb)
                        else:
                            for bt, bms, brgb in blurrer.feed(t, rgb, ms):
                                emit(bt, bms, brgb)
            except av.error.FFmpegError as exc:
                if count == 0 and last_ms < 0:
                    raise MediaError(f"{source}: video cannot be decoded ({exc})") from None
                # a truncated file: keep what was decoded
            if blurrer is not None:
                for bt, bms, brgb in blurrer.flush():
                    emit(bt, bms, brgb)
            if count == 0:
                raise MediaError(f"{source}: no video frames between {start:.1f} and {end:.1f} s")
            for packet in v_out.encode(None):
                out.mux(packet)
            samples = sound.close() if sound is not None else 0
    notify("blur", None, completed=end - start, total=end - start)
    return FilmResult(
        path=dest,
        frames=count,
        audio_samples=samples,
        duration=end - start,
        blur=blurrer.stats if blurrer is not None else None,
    )


def blur_film(
    source: str | Path,
    dest: str | Path,
    *,
    plan: BlurPlan,
    start: float | None = None,
    end: float | None = None,
    crf: int | None = None,
    audio_bitrate: int | None = None,
    hook: Hook | None = None,
) -> FilmResult:
    """A copy of a film (or of ``[start, end)`` seconds of it) with every face ``plan`` does
    not keep blurred, the sound kept, at the film's own size and no metadata.

    ``crf`` and ``audio_bitrate`` left out take their ``[export]`` values of
    ``configs/default.toml``.
    """
    from vigcv.config import setting

    return write_film(
        source,
        dest,
        start=float(start or 0.0),
        end=end,
        caption=False,
        crf=int(setting("export", "crf", crf)),
        max_side=0,
        audio_bitrate=int(setting("export", "audio_bitrate", audio_bitrate)),
        blur=plan,
        hook=hook,
    )


def blurred_still(media: str | Path, t: float, *, width: int, plan: BlurPlan | None) -> bytes:
    """JPEG bytes of the picture at ``t`` seconds, ``width`` pixels wide, with the faces ``plan``
    does not keep blurred (the tracks at ``t`` and the detector run on the picture itself)."""
    from vigcv.io.frames import frame_at, jpeg_bytes

    rgb = frame_at(media, t, width=width)
    if plan is not None:
        info = probe(media)
        plan.blur_picture(rgb, t, scale=rgb.shape[1] / max(1, info.width))
    return jpeg_bytes(rgb)
