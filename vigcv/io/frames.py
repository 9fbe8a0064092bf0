"""Single frames of a recording: the picture at a time, scaled, as RGB or JPEG (thumbnails)."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from vigcv.errors import MediaError


def frame_at(path: str | Path, t: float, *, width: int) -> np.ndarray:
    """The upright RGB picture shown at ``t`` seconds, scaled to ``width`` pixels wide.

    Parameters
    ----------
    path : path
        A video file.
    t : float
        Seconds from the start of the media; the first frame at or after it is used (the last
        frame when ``t`` is past the end).
    width : int
        Output width in pixels (height keeps the aspect ratio, rounded to even).

    Returns
    -------
    ndarray, shape (H, width, 3), uint8
    """
    path = Path(path)
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"{path}: cannot be opened for a picture ({exc})") from None
    try:
        if not container.streams.video:
            raise MediaError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        t0 = container.start_time / av.time_base if container.start_time is not None else 0.0
        container.seek(int(max(0.0, t + t0 - 1.0) * av.time_base), backward=True)
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            pts, base = frame.pts, frame.time_base
            if pts is not None and base is not None and float(pts * base) - t0 >= t - 1e-3:
                break
        if chosen is None:
            raise MediaError(f"{path}: no picture at {t:.1f} s")
        w, h = chosen.width, chosen.height
        rotation = round(float(getattr(chosen, "rotation", 0) or 0) / 90.0) * 90 % 360
        if rotation in (90, 270):
            w, h = h, w
        height = max(2, round(h * width / max(1, w) / 2) * 2)
        if rotation in (90, 270):
            image = chosen.reformat(width=height, height=width, format="rgb24").to_ndarray()
        else:
            image = chosen.reformat(width=width, height=height, format="rgb24").to_ndarray()
        k = (rotation // 90) % 4
        return np.ascontiguousarray(np.rot90(image, k=k)) if k else image
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path}: picture at {t:.1f} s cannot be decoded ({exc})") from None
    finally:
        container.close()


def jpeg_bytes(rgb: np.ndarray, *, quality: int = 82) -> bytes:
    """Encode an RGB image (H, W, 3) uint8 as JPEG."""
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf.tobytes())


def thumbnail_jpeg(path: str | Path, t: float, *, width: int) -> bytes:
    """JPEG bytes of the picture at ``t`` seconds, ``width`` pixels wide."""
    return jpeg_bytes(frame_at(path, t, width=width))


def face_thumbnail(
    path: str | Path, t: float, box: np.ndarray, *, frame_width: int, side: int = 128
) -> bytes:
    """JPEG bytes of the face in ``box`` (x, y, w, h, pixels of the ``frame_width``-wide upright
    frame) at ``t`` seconds, with a margin of half the face around it, ``side`` pixels square."""
    rgb = frame_at(path, t, width=frame_width)
    x, y, w, h = (float(v) for v in box)
    half = 0.5 * max(w, h) * 2.0
    cx, cy = x + 0.5 * w, y + 0.5 * h
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(rgb.shape[1], int(cx + half)), min(rgb.shape[0], int(cy + half))
    if x1 <= x0 or y1 <= y0:
        raise MediaError(f"{path}: the face box at {t:.1f} s lies outside the picture")
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    return jpeg_bytes(cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA))
