"""Bad-input corpus builders beyond tests/builders.py: real faces, long audio, huge frames."""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from tests.builders import write_tone


def face_photos() -> list[np.ndarray]:
    """Two real portrait photos shipped by packages (RGB uint8), cropped to the head."""
    from matplotlib import cbook
    from skimage import data

    astronaut = data.astronaut()[0:300, 100:360]
    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        hopper = cv2.imdecode(np.frombuffer(fh.read(), np.uint8), cv2.IMREAD_COLOR)
    hopper = cv2.cvtColor(hopper, cv2.COLOR_BGR2RGB)[0:380, 80:430]
    return [np.ascontiguousarray(astronaut), np.ascontiguousarray(hopper)]


def faces_frame(n_faces: int, *, width: int = 640, height: int = 360) -> np.ndarray:
    """A frame with ``n_faces`` (0-3) real faces side by side on a plain wall."""
    img = np.full((height, width, 3), (90, 110, 100), np.uint8)
    photos = face_photos()
    slot = width // max(n_faces, 1)
    for i in range(n_faces):
        photo = photos[i % 2]
        if i == 2:
            photo = photo[:, ::-1]  # a third, mirrored face
        side = min(slot - 20, height - 40)
        scale = side / max(photo.shape[:2])
        face = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        y = (height - face.shape[0]) // 2
        x = i * slot + (slot - face.shape[1]) // 2
        img[y : y + face.shape[0], x : x + face.shape[1]] = face
    return img


def write_image_video(
    path: Path,
    image: np.ndarray,
    *,
    seconds: float = 2.0,
    fps: float = 10.0,
    rotation: int = 0,
    audio: bool = False,
) -> Path:
    """A video showing ``image`` (slightly moving, so the encoder sees change) for ``seconds``."""
    height, width = image.shape[:2]
    tb = Fraction(1, 90000)
    with av.open(str(path), mode="w") as out:
        v = out.add_stream("libx264", rate=round(fps))
        v.width, v.height, v.pix_fmt = width - width % 2, height - height % 2, "yuv420p"
        v.time_base = v.codec_context.time_base = tb
        v.options = {"preset": "ultrafast", "bf": "0"}
        if rotation:
            v.set_display_rotation(rotation)
        a = None
        if audio:
            a = out.add_stream("aac", rate=16000)
            a.layout = "mono"
        for i in range(max(1, round(seconds * fps))):
            shifted = np.roll(image, i % 3, axis=1)[: v.height, : v.width]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(shifted), format="rgb24")
            frame.pts, frame.time_base = round(i / fps / tb), tb
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)
        if a is not None:
            write_tone(out, a, seconds=seconds, rate=16000)
    return path


def write_long_wav(path: Path, *, seconds: float, rate: int = 8000) -> Path:
    """A long 8 kHz 16-bit mono WAV (quiet hum with a tone burst each minute), written in blocks.

    Writing is plain PCM, so two hours take a few seconds and ~115 MB of disk.
    """
    block = 60 * rate
    t = np.arange(block) / rate
    minute = (200 * np.sin(2 * np.pi * 120 * t)).astype(np.int16)
    minute[: 2 * rate] += (3000 * np.sin(2 * np.pi * 440 * t[: 2 * rate])).astype(np.int16)
    data = minute.tobytes()
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        full, rest = divmod(int(seconds * rate), block)
        for _ in range(full):
            wav.writeframes(data)
        wav.writeframes(data[: rest * 2])
    return path
