"""Hands over the eyes: MediaPipe's palm detector and hand landmark model around each face.

In peekaboo, the game parents play most with babies, a hand or both hide the eyes while the head
still points at the child; the face detector and the face models still see a face, so the head
pose alone read "looks at the child" (6c6MZQ's peekaboo clips: 14 of the mother's 41 false
"looks at child" frames). Where a hand lies over a person's eyes, their looks-at is unknown
(``vigcv.vision.extract``), as the coders have it.

The models are MediaPipe's legacy palm detector and hand landmark model
(``palm_detection_full.tflite`` and ``hand_landmark_full.tflite`` in the pinned ``mediapipe``
wheel; MediaPipe Hands, Zhang et al. 2020, Apache-2.0), rebuilt as ONNX graphs by
:mod:`vigcv.tflite_graph` and run with onnxruntime, as MediaPipe's ``hand_landmark_cpu`` graph
chains them. The palm detector takes 192x192 RGB in 0..1 and gives 2016 SSD anchors (24x24
cells with 2 anchors at stride 8, 12x12 with 6 at stride 16, all of unit size), each with a box
(centre offset and size in input pixels), seven palm keypoints and a score logit; here it looks
at a square region around each face (``scale`` face sizes wide) rather than the whole frame. The
landmark model takes the turned crop MediaPipe takes from a palm (:func:`hand_region`) at
224x224 and gives 21 landmarks and how sure it is that the crop holds a hand, which turns down
the "palms" the detector finds on hair, cheeks and faces.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from vigcv.models import model_path, onnx_session
from vigcv.vision.detect import nms
from vigcv.vision.landmarks import crop_matrix, square_crop

SIDE = 192  # the palm detector's input side in pixels
HAND_SIDE = 224  # the landmark model's
# The detector's anchors: (stride, anchors per cell) of its two feature maps.
_LAYERS = ((8, 2), (16, 6))
# The band of a face box where the eyes are, as fractions of its height from the top (the
# detector's boxes run from the brows to the chin).
EYE_BAND = (0.15, 0.55)


@lru_cache(maxsize=1)
def _anchors() -> np.ndarray:
    """Anchor centres (2016, 2) in 0..1 of the input, in the detector's output order."""
    centres = []
    for stride, per_cell in _LAYERS:
        n = SIDE // stride
        ys, xs = np.mgrid[0:n, 0:n]
        cell = np.stack([(xs.ravel() + 0.5) / n, (ys.ravel() + 0.5) / n], axis=1)
        centres.append(np.repeat(cell, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


@lru_cache(maxsize=2)
def _session(model: str) -> Any:
    """An onnxruntime session of a TFLite model of the manifest (``palm_detection``,
    ``hand_landmarks``), rebuilt as ONNX once per process."""
    from vigcv.tflite_graph import tflite_to_onnx

    graph = tflite_to_onnx(model_path(model).read_bytes(), name=model)
    return onnx_session(graph.SerializeToString())


def square_region(box: np.ndarray, scale: float) -> tuple[int, int, int]:
    """Top-left corner and side (pixels) of the square ``scale`` face sizes wide on a face box
    ``(x0, y0, x1, y1)``."""
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(8, round(scale * max(x1 - x0, y1 - y0)))
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    return round(cx - side / 2), round(cy - side / 2), side


def detect_palms(
    rgb: np.ndarray, region: tuple[int, int, int], *, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Palms in a square region of an RGB frame (outside the frame counts as black).

    Returns
    -------
    boxes : ndarray, shape (k, 4)
        ``x0, y0, x1, y1`` in frame pixels, best first, overlapping ones merged away.
    scores : ndarray, shape (k,)
        Detector confidence 0..1, at least ``threshold``.
    keypoints : ndarray, shape (k, 7, 2)
        The palm's seven keypoints in frame pixels (0: wrist, 2: the middle finger's knuckle).
    """
    left, top, side = region
    m = crop_matrix((left + side / 2, top + side / 2), side, 0.0, SIDE)
    image = square_crop(rgb, m, SIDE, side).astype(np.float32)
    raw, logits = _session("palm_detection").run(None, {"t0": (image / 255.0)[None]})
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits[0, :, 0], -80.0, 80.0)))
    keep = np.flatnonzero(scores >= threshold)
    if keep.size == 0:
        return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 7, 2))
    anchors = _anchors()[keep]
    offset = np.array([left, top], np.float32)
    centre = raw[0, keep, :2] / SIDE + anchors
    size = raw[0, keep, 2:4] / SIDE
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1) * side
    boxes += np.tile(offset, 2)
    points = (raw[0, keep, 4:18].reshape(-1, 7, 2) / SIDE + anchors[:, None]) * side + offset
    chosen = nms(boxes, scores[keep], 0.3)  # the detector fires on several anchors per palm
    return boxes[chosen].astype(float), scores[keep][chosen].astype(float), points[chosen]


def hand_region(palm: np.ndarray, keypoints: np.ndarray) -> tuple[float, float, float, float]:
    """Centre x, y, side (pixels) and turn (radians) of the square a palm's hand lies in:
    MediaPipe's ``palm_detection_detection_to_roi``, the palm box turned so that the wrist
    (keypoint 0) is below the middle finger's knuckle (keypoint 2), shifted half a box towards
    the fingers, squared and widened 2.6 times."""
    (wx, wy), (mx, my) = keypoints[0], keypoints[2]
    angle = np.pi / 2 - np.arctan2(-(my - wy), mx - wx)
    angle = float((angle + np.pi) % (2 * np.pi) - np.pi)
    cx, cy = 0.5 * (palm[0] + palm[2]), 0.5 * (palm[1] + palm[3])
    w, h = palm[2] - palm[0], palm[3] - palm[1]
    cx += 0.5 * h * np.sin(angle)  # half a box height "up" the hand, in its own turned frame
    cy -= 0.5 * h * np.cos(angle)
    return float(cx), float(cy), float(2.6 * max(w, h)), angle


def eye_band(face: np.ndarray) -> tuple[float, float, float, float]:
    """The eye band of a face box ``(x0, y0, x1, y1)`` (:data:`EYE_BAND`), as a box."""
    x0, y0, x1, y1 = (float(v) for v in face)
    return x0, y0 + EYE_BAND[0] * (y1 - y0), x1, y0 + EYE_BAND[1] * (y1 - y0)


def hand_landmarks(
    rgb: np.ndarray, palm: np.ndarray, keypoints: np.ndarray, *, flag_threshold: float
) -> np.ndarray | None:
    """The 21 landmarks (x, y in frame pixels) of the hand whose palm was detected, or None
    where the landmark model does not see a hand there (its hand-presence output below
    ``flag_threshold``: a palm "found" on hair or a cheek).

    The crop is :func:`hand_region`, resized to 224x224 RGB in 0..1.
    """
    cx, cy, side, angle = hand_region(palm, keypoints)
    if side < 4:
        return None
    m = crop_matrix((cx, cy), side, float(np.degrees(angle)), HAND_SIDE)
    crop = square_crop(rgb, m, HAND_SIDE, side).astype(np.float32)
    outputs = _session("hand_landmarks").run(None, {"t0": (crop / 255.0)[None]})
    points, flag = outputs[0], outputs[1]
    if float(flag.ravel()[0]) < flag_threshold:
        return None
    back = cv2.invertAffineTransform(m)  # crop pixels to frame pixels
    return points.reshape(21, 3)[:, :2] @ back[:, :2].T + back[:, 2]


def eye_band_share(face: np.ndarray, points: np.ndarray) -> float:
    """Share 0..1 of a hand's landmarks inside a face box's eye band (:data:`EYE_BAND`)."""
    x0, top, x1, bottom = eye_band(face)
    inside = (points[:, 0] >= x0) & (points[:, 0] <= x1)
    inside &= (points[:, 1] >= top) & (points[:, 1] <= bottom)
    return float(inside.mean())


def hands_over_eyes(
    rgb: np.ndarray,
    boxes: np.ndarray,
    *,
    scale: float,
    palm_threshold: float,
    flag_threshold: float,
) -> list[float]:
    """For each face box ``(x0, y0, x1, y1)``: the largest share of one hand's landmarks that
    lie over its eye band (0 where no hand is found near the face)."""
    shares = []
    for box in boxes:
        palms, _, keypoints = detect_palms(rgb, square_region(box, scale), threshold=palm_threshold)
        best = 0.0
        bx0, by0, bx1, by1 = eye_band(box)
        for palm, kp in zip(palms, keypoints, strict=True):
            cx, cy, side, _ = hand_region(palm, kp)
            reach = side / np.sqrt(2.0)  # the turned square's half-diagonal
            if cx + reach < bx0 or cx - reach > bx1 or cy + reach < by0 or cy - reach > by1:
                continue  # this hand cannot reach the eyes: no need to look closer
            points = hand_landmarks(rgb, palm, kp, flag_threshold=flag_threshold)
            if points is not None:
                best = max(best, eye_band_share(box, points))
        shares.append(best)
    return shares
