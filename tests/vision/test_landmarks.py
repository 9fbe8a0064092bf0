"""The face mesh and blendshape models rebuilt for onnxruntime, against MediaPipe's own run of the
same bundle, and the head pose, levelling and presence built on them."""

from __future__ import annotations

import zipfile

import cv2
import numpy as np
import pytest

from vigcv.errors import ModelError
from vigcv.models import model_path, onnx_session
from vigcv.tflite_graph import tflite_to_onnx
from vigcv.vision.detect import detect_faces
from vigcv.vision.landmarks import (
    BLENDSHAPE_POINTS,
    BLENDSHAPES,
    Landmarker,
    eye_line_angle,
    pose_from_matrix,
)


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    import skimage.data

    out = np.full((480, 640, 3), 90, np.uint8)
    face = skimage.data.astronaut()[10:230, 130:320]
    out[150 : 150 + face.shape[0], 300 : 300 + face.shape[1]] = face
    return out


@pytest.fixture(scope="module")
def mediapipe_result(frame):
    """MediaPipe's own FaceLandmarker (its detector, mesh and blendshapes) on the frame."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker"))),
        running_mode=vision.RunningMode.IMAGE,
        num_faces=1,
        output_face_blendshapes=True,
        output_facial_transformation_matrixes=True,
    )
    with vision.FaceLandmarker.create_from_options(options) as task:
        result = task.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=frame))
    assert result.face_landmarks
    return result


def test_rebuilt_blendshape_model_matches_mediapipe_on_its_own_landmarks(frame, mediapipe_result):
    bundle = zipfile.ZipFile(model_path("face_landmarker"))
    session = onnx_session(
        tflite_to_onnx(bundle.read("face_blendshapes.tflite")).SerializeToString()
    )
    h, w = frame.shape[:2]
    points = np.array([(p.x * w, p.y * h) for p in mediapipe_result.face_landmarks[0]], np.float32)
    ours = session.run(None, {session.get_inputs()[0].name: points[list(BLENDSHAPE_POINTS)][None]})
    theirs = {c.category_name: c.score for c in mediapipe_result.face_blendshapes[0]}
    assert len(BLENDSHAPES) == np.ravel(ours[0]).size == 52
    for name, value in zip(BLENDSHAPES, np.ravel(ours[0]), strict=True):
        assert value == pytest.approx(theirs[name], abs=1e-4), name
    assert theirs["mouthSmileLeft"] > 0.5  # the astronaut smiles: the comparison is not all zeros


def test_mesh_on_the_detected_face_agrees_with_mediapipe(frame, mediapipe_result):
    det = detect_faces(frame, width=256, threshold=0.3)
    landmarker = Landmarker()
    box = det.boxes[0]
    ours = landmarker.measure(frame, box, det.landmarks[0, :2])
    assert ours is not None
    yaw, pitch, roll = pose_from_matrix(mediapipe_result.facial_transformation_matrixes[0])
    bs = {c.category_name: c.score for c in mediapipe_result.face_blendshapes[0]}
    # Different crops (CenterFace's box here, MediaPipe's own detector there), same face.
    assert abs(ours.yaw - yaw) < 6 and abs(ours.pitch - pitch) < 8 and abs(ours.roll - roll) < 4
    assert ours.smile == pytest.approx(
        0.5 * (bs["mouthSmileLeft"] + bs["mouthSmileRight"]), abs=0.15
    )
    # The mesh lies on the face: its points, mapped back to the frame, match MediaPipe's.
    crop_points, presence = landmarker.mesh(
        cv2.warpAffine(frame, _crop_matrix(box, 1.5), (256, 256))
    )
    assert presence > 0.9
    back = _to_frame(crop_points[:, :2], box, 1.5)
    h, w = frame.shape[:2]
    theirs = np.array([(p.x * w, p.y * h) for p in mediapipe_result.face_landmarks[0]])
    assert np.median(np.linalg.norm(back - theirs, axis=1)) < 0.03 * (box[2] - box[0])


def _crop_matrix(box: np.ndarray, margin: float) -> np.ndarray:
    size = margin * float(max(box[2] - box[0], box[3] - box[1]))
    cx, cy = 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])
    s = 256 / size
    return np.float32([[s, 0, 128 - s * cx], [0, s, 128 - s * cy]])


def _to_frame(points: np.ndarray, box: np.ndarray, margin: float) -> np.ndarray:
    m = _crop_matrix(box, margin)
    return (points - m[:, 2]) / m[0, 0]


@pytest.mark.parametrize("tilt", [-25.0, 25.0])
def test_a_tilted_head_is_levelled_and_its_roll_reported(frame, tilt):
    det = detect_faces(frame, width=256, threshold=0.3)
    landmarker = Landmarker()
    upright = landmarker.measure(frame, det.boxes[0], det.landmarks[0, :2])
    # cv2 turns counter-clockwise for positive angles: the head then tilts clockwise by -tilt.
    centre = tuple(0.5 * (det.boxes[0][:2] + det.boxes[0][2:]))
    tilted = cv2.warpAffine(frame, cv2.getRotationMatrix2D(centre, tilt, 1.0), (640, 480))
    found = detect_faces(tilted, width=256, threshold=0.3)
    assert len(found) == 1
    angle = eye_line_angle(found.boxes[0], found.landmarks[0, :2])
    assert angle == pytest.approx(-tilt + upright.roll, abs=8)
    ours = landmarker.measure(tilted, found.boxes[0], found.landmarks[0, :2])
    assert upright is not None and ours is not None
    assert ours.roll == pytest.approx(upright.roll - tilt, abs=6)
    assert abs(ours.yaw - upright.yaw) < 8 and abs(ours.pitch - upright.pitch) < 8
    assert ours.smile == pytest.approx(upright.smile, abs=0.15)
    mirrored = landmarker.measure(tilted, found.boxes[0], found.landmarks[0, :2], mirror=True)
    assert mirrored is not None
    assert mirrored.roll == pytest.approx(ours.roll, abs=6)
    assert mirrored.yaw == pytest.approx(ours.yaw, abs=8)


def test_no_face_in_the_box_gives_none(frame):
    landmarker = Landmarker()
    assert landmarker.measure(frame, np.array([20.0, 20.0, 120.0, 140.0])) is None


def test_eye_line_angle_ignores_profiles_and_clips():
    box = np.array([0.0, 0.0, 100.0, 100.0])
    assert eye_line_angle(box, None) == 0.0
    assert eye_line_angle(box, np.array([[30.0, 50.0], [70.0, 50.0]])) == pytest.approx(0.0)
    assert eye_line_angle(box, np.array([[30.0, 40.0], [70.0, 60.0]])) == pytest.approx(
        26.57, abs=0.01
    )
    # listed in either order, the angle is the same
    assert eye_line_angle(box, np.array([[70.0, 60.0], [30.0, 40.0]])) == pytest.approx(
        26.57, abs=0.01
    )
    assert eye_line_angle(box, np.array([[50.0, 40.0], [55.0, 45.0]])) == 0.0  # 7 px apart
    assert eye_line_angle(box, np.array([[30.0, 10.0], [40.0, 90.0]])) == 45.0


def test_not_a_tflite_model_is_a_model_error():
    with pytest.raises(ModelError, match="not a TFLite model"):
        tflite_to_onnx(b"\x00" * 64, name="junk")


def test_face_geometry_read_from_the_wire_format_matches_mediapipes_reader():
    from mediapipe.tasks.cc.vision.face_geometry.proto import geometry_pipeline_metadata_pb2

    from vigcv.vision.landmarks import read_face_geometry

    data = zipfile.ZipFile(model_path("face_landmarker")).read(
        "geometry_pipeline_metadata_landmarks.binarypb"
    )
    canonical, weights = read_face_geometry(data)
    meta = geometry_pipeline_metadata_pb2.GeometryPipelineMetadata()
    meta.ParseFromString(data)
    expected = np.asarray(meta.canonical_mesh.vertex_buffer).reshape(-1, 5)[:, :3]
    assert canonical.shape == (468, 3)
    np.testing.assert_allclose(canonical, expected, rtol=1e-6)
    for ref in meta.procrustes_landmark_basis:
        assert weights[ref.landmark_id] == pytest.approx(ref.weight, rel=1e-6)
    assert np.count_nonzero(weights) == len(meta.procrustes_landmark_basis)
    with pytest.raises(ValueError):
        read_face_geometry(b"\x0a\x05abc")  # a field longer than the message
