"""Films made differently on purpose: the same labelled recording as another camera would have
filmed it, so the labels still hold and the frame-level figures can be compared.

vigcv is developed on two families filmed by webcams close up; guiders film with phones and
camcorders, from the other side, further away, in dim rooms. Each *filming* changes only the
picture, the same way in every frame, and keeps every frame's time and the sound:

- ``mirror``: left and right swapped (the parent sits on the other side);
- ``half``: half the width and height (a 320x240 webcam; faces a quarter of the pixels);
- ``far``: half the size, in the middle of a grey 1280x720 frame (a full-HD film shot from
  further away: the faces keep a quarter of their pixels in a frame the analysis reads at
  1280 wide);
- ``dim``: darker and flatter (gamma 1.8, then 80% of the light: an evening living room);
- ``soft``: a Gaussian blur of 1.5 px (soft focus, a little motion);
- ``low bitrate``: the picture unchanged, encoded at H.264 CRF 35 (a heavily compressed phone
  upload) instead of CRF 18.

Labels were coded on the original; a filming that hides what the coders saw (a face too small
to read) is exactly what it is for: vigcv should say "unknown" there, not guess.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from vigcv.errors import MediaError

#: Each filming and what it stands for (``scripts/bench_robustness.py`` runs them all).
FILMINGS: dict[str, str] = {
    "mirror": "left and right swapped",
    "half": "half the size (320x240 from 640x480)",
    "far": "half the size in a grey 1280x720 frame",
    "dim": "darker and flatter (gamma 1.8, 80% light)",
    "soft": "blurred 1.5 px",
    "low bitrate": "H.264 CRF 35",
}

_FAR_FRAME = (1280, 720)
_GREY = 90


def _known(filming: str) -> None:
    if filming not in FILMINGS:
        raise ValueError(f"unknown filming {filming!r}; one of {', '.join(FILMINGS)}")


def refilm_frame(rgb: np.ndarray, filming: str) -> np.ndarray:
    """One RGB frame (uint8, h x w x 3) as the ``filming`` would show it."""
    _known(filming)
    if filming == "mirror":
        return np.ascontiguousarray(rgb[:, ::-1])
    if filming in ("half", "far"):
        small = cv2.resize(rgb, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        if filming == "half":
            return small
        width, height = _FAR_FRAME
        frame = np.full((height, width, 3), _GREY, np.uint8)
        h, w = min(small.shape[0], height), min(small.shape[1], width)
        y0, x0 = (height - h) // 2, (width - w) // 2
        frame[y0 : y0 + h, x0 : x0 + w] = small[:h, :w]
        return frame
    if filming == "dim":
        light = 255.0 * (rgb.astype(np.float32) / 255.0) ** 1.8 * 0.8
        return np.clip(light + 0.5, 0, 255).astype(np.uint8)
    if filming == "soft":
        return cv2.GaussianBlur(rgb, (0, 0), 1.5)
    return rgb  # low bitrate: the picture as it is, encoded harder


def refilm(source: Path, target: Path, filming: str) -> Path:
    """Write ``source`` as the ``filming`` would have filmed it to ``target`` (H.264 + AAC).

    Every frame keeps its presentation time (variable frame rates stay variable; a repeated
    time is dropped, as the analysis would); the sound is re-encoded unchanged.

    Raises
    ------
    MediaError
        If the source has no picture or cannot be read.
    """
    _known(filming)  # before anything is written
    crf = "35" if filming == "low bitrate" else "18"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part.mp4")
    ms = Fraction(1, 1000)
    try:
        with av.open(str(source)) as src, av.open(str(partial), mode="w") as out:
            if not src.streams.video:
                raise MediaError(f"{source}: no video stream; give a film")
            audio_in = src.streams.audio[0] if src.streams.audio else None
            video = None
            audio = None
            last = -1
            for frame in src.decode(video=0):
                if frame.time is None:
                    continue
                pts = round(float(frame.time) * 1000)
                if pts <= last:
                    continue
                last = pts
                rgb = refilm_frame(frame.to_ndarray(format="rgb24"), filming)
                if video is None:
                    video = out.add_stream("libx264", rate=30)
                    video.width, video.height = rgb.shape[1] // 2 * 2, rgb.shape[0] // 2 * 2
                    video.pix_fmt = "yuv420p"
                    video.options = {"crf": crf, "preset": "veryfast"}
                    video.time_base = ms
                    video.codec_context.time_base = ms
                    if audio_in is not None:
                        audio = out.add_stream("aac", rate=audio_in.rate)
                picture = np.ascontiguousarray(rgb[: video.height, : video.width])
                vf = av.VideoFrame.from_ndarray(picture, format="rgb24")
                vf.pts, vf.time_base = pts, ms
                for packet in video.encode(vf):
                    out.mux(packet)
            if video is None:
                raise MediaError(f"{source}: no picture could be decoded; check the file")
            for packet in video.encode():
                out.mux(packet)
            if audio is not None:
                src.seek(0)
                for sound in src.decode(audio=0):
                    sound.pts = None
                    for packet in audio.encode(sound):
                        out.mux(packet)
                for packet in audio.encode():
                    out.mux(packet)
    except av.error.FFmpegError as exc:
        partial.unlink(missing_ok=True)
        raise MediaError(f"{source}: cannot be re-filmed ({exc}); check the file") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target
