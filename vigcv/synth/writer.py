"""Write H.264 video and AAC audio into one mp4 with PyAV, frame by frame."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np


class Mp4Writer:
    """Encode RGB frames and a mono float track into ``path`` (use as a context manager).

    Audio is interleaved: after each video frame, audio up to that frame's end is encoded.

    Parameters
    ----------
    path : Path
        Output file (``.mp4``).
    width, height : int
        Frame size, pixels (even numbers).
    fps : float
        Constant frame rate.
    audio : ndarray, shape (n,), float32
        The whole soundtrack in -1..1.
    rate : int
        Audio sample rate, Hz.
    crf : int
        x264 quality (lower = better, bigger).
    """

    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        fps: float,
        audio: np.ndarray,
        rate: int,
        crf: int = 20,
    ) -> None:
        self.container = av.open(str(path), mode="w", format="mp4")
        rate_fraction = Fraction(fps).limit_denominator(1001)
        self.video = self.container.add_stream("libx264", rate=rate_fraction)
        self.video.width, self.video.height = width, height
        self.video.pix_fmt = "yuv420p"
        self.video.options = {"crf": str(crf), "preset": "veryfast", "threads": "2"}
        self.audio_stream = self.container.add_stream("aac", rate=rate)
        self.audio_stream.layout = "mono"
        self.audio_stream.bit_rate = 96000
        self.fps = fps
        self.frame_time_base = 1 / rate_fraction
        self.rate = rate
        self.samples = np.ascontiguousarray(audio, dtype=np.float32)
        self.audio_done = 0
        self.frame_index = 0

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self._audio_until(len(self.samples))
            for packet in self.video.encode(None):
                self.container.mux(packet)
            for packet in self.audio_stream.encode(None):
                self.container.mux(packet)
        self.container.close()

    def _audio_until(self, upto: int) -> None:
        block = 1024
        upto = min(upto, len(self.samples))
        while self.audio_done < upto:
            chunk = self.samples[self.audio_done : self.audio_done + block]
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
            frame.sample_rate = self.rate
            frame.pts = self.audio_done
            frame.time_base = Fraction(1, self.rate)
            for packet in self.audio_stream.encode(frame):
                self.container.mux(packet)
            self.audio_done += len(chunk)

    def write(self, rgb: np.ndarray) -> None:
        """Append one frame (H, W, 3) uint8 RGB."""
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = self.frame_index
        frame.time_base = self.frame_time_base
        for packet in self.video.encode(frame):
            self.container.mux(packet)
        self.frame_index += 1
        self._audio_until(round(self.frame_index / self.fps * self.rate))
