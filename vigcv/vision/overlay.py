"""overlay.mp4: the video with what vision saw drawn on it, so a guider can see why.

Boxes with role labels, gaze rays, a mutual-gaze indicator and smile meters are drawn with OpenCV
on the analysed frames and encoded with PyAV (H.264) at the analysis rate, to a temporary name
that is renamed into place when complete.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pandas as pd

from vigcv.io import iter_frames
from vigcv.types import FrameFeatures

_COLOURS = {"parent": (255, 140, 0), "child": (0, 200, 255), "unknown": (180, 180, 180)}


def _draw_person(img: np.ndarray, row: pd.Series, scale: float) -> None:
    if not (row["visible"] > 0) or np.isnan(row["x"]):
        return
    colour = _COLOURS.get(str(row["role"]), _COLOURS["unknown"])
    x, y, w, h = (float(row[c]) * scale for c in ("x", "y", "w", "h"))
    thick = 2 if row["visible"] >= 1 else 1
    cv2.rectangle(img, (int(x), int(y)), (int(x + w), int(y + h)), colour, thick)
    label = f"{row['role']} yaw {row['yaw']:+.0f}" if np.isfinite(row["yaw"]) else str(row["role"])
    cv2.putText(img, label, (int(x), max(12, int(y) - 5)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1)
    cx, cy = x + w / 2, y + h / 2
    gx, gy = row["gaze_x"], row["gaze_y"]
    if np.isfinite(gx) and np.isfinite(gy):
        length = 2.5 * w
        look = row["looks_at_other"]
        ray = (0, 255, 0) if np.isfinite(look) and look >= 0.5 else colour
        end = (int(cx + gx * length), int(cy + gy * length))
        cv2.arrowedLine(img, (int(cx), int(cy)), end, ray, 2, tipLength=0.15)
    smile = row["smile"]
    if np.isfinite(smile):
        bar_h = int(h * float(smile))
        bx = int(x + w + 4)
        cv2.rectangle(img, (bx, int(y)), (bx + 6, int(y + h)), (80, 80, 80), 1)
        cv2.rectangle(img, (bx, int(y + h) - bar_h), (bx + 6, int(y + h)), (255, 255, 0), -1)


def _draw_dyad(img: np.ndarray, row: pd.Series) -> None:
    mutual = row["mutual_gaze"]
    on = bool(np.isfinite(mutual) and mutual >= 0.5)
    colour = (0, 255, 0) if on else (90, 90, 90)
    cv2.circle(img, (18, 18), 10, colour, -1)
    text = f"mutual gaze {mutual:.2f}" if np.isfinite(mutual) else "mutual gaze -"
    cv2.putText(img, text, (34, 23), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
    cv2.putText(
        img, f"t {row['t']:.2f} s", (34, 42), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1
    )


def write_overlay(
    path: Path, features: FrameFeatures, out_path: Path, *, config: dict[str, Any]
) -> None:
    """Write ``out_path`` (mp4, H.264) with the features drawn on the analysed frames.

    Parameters
    ----------
    path : Path
        The video the features came from.
    features : FrameFeatures
        From :func:`vigcv.vision.extract_vision` on ``path`` with the same ``config``.
    out_path : Path
        Target file; written to ``<name>.tmp.mp4`` and renamed when complete.
    config : dict
        Full vigcv config (``[ingest] analysis_fps, max_side``).
    """
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.stem + ".tmp" + out_path.suffix)
    fps = float(config["ingest"]["analysis_fps"]) or features.fps or 10.0
    by_time = {round(float(t), 4): g for t, g in features.table.groupby("t")}
    dyad = features.dyad.set_index(features.dyad["t"].round(4))
    rate = Fraction(fps).limit_denominator(1000)
    container = av.open(str(tmp), mode="w")
    try:
        stream: Any = None
        for frame in iter_frames(path, fps=fps, max_side=int(config["ingest"]["max_side"])):
            img = np.ascontiguousarray(frame.rgb)
            if stream is None:
                stream = container.add_stream("libx264", rate=rate)
                stream.width, stream.height = img.shape[1], img.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": "23", "preset": "veryfast"}
            key = round(frame.t, 4)
            for _, row in by_time.get(key, pd.DataFrame()).iterrows():
                _draw_person(img, row, frame.scale)
            if key in dyad.index:
                _draw_dyad(img, dyad.loc[key])
            out = av.VideoFrame.from_ndarray(img, format="rgb24")
            out.pts = frame.index
            out.time_base = Fraction(1, 1) / rate
            for packet in stream.encode(out):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode(None):
                container.mux(packet)
    except BaseException:
        container.close()
        tmp.unlink(missing_ok=True)
        raise
    container.close()
    os.replace(tmp, out_path)
