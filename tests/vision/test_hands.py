"""Hands over the eyes: MediaPipe's palm detector and hand landmark model rebuilt for
onnxruntime (vigcv.vision.hands), against MediaPipe's own hand solution, on a drawn hand."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vigcv.models import model_path
from vigcv.synth.hand import draw_hand, paste
from vigcv.vision.detect import detect_faces
from vigcv.vision.hands import detect_palms, hand_landmarks, hands_over_eyes


def _mediapipe_hand(rgb: np.ndarray) -> np.ndarray:
    import mediapipe as mp

    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=1) as hands:
        found = hands.process(rgb).multi_hand_landmarks
    assert found, "MediaPipe's own hand solution finds the drawn hand"
    h, w = rgb.shape[:2]
    return np.array([(p.x * w, p.y * h) for p in found[0].landmark])


@pytest.mark.parametrize("turn", [0, 1, 3])  # upright, fingers to the left, to the right
def test_the_rebuilt_models_find_the_hand_mediapipe_finds(turn):
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame = paste(frame, draw_hand(256, rng=np.random.default_rng(0)), (330, 240))
    frame = np.ascontiguousarray(np.rot90(frame, k=turn))
    boxes, scores, keypoints = detect_palms(frame, (0, 0, max(frame.shape[:2])), threshold=0.5)
    assert len(boxes) == 1 and scores[0] >= 0.7
    points = hand_landmarks(frame, boxes[0], keypoints[0], flag_threshold=0.5)
    assert points is not None
    reference = _mediapipe_hand(frame)
    error = np.hypot(*(points - reference).T)
    assert np.median(error) < 4.0 and error.max() < 12.0  # pixels, hand about 200 px tall


def test_no_hand_on_a_plain_wall_or_a_face():
    wall = np.full((480, 640, 3), 120, np.uint8)
    assert len(detect_palms(wall, (0, 0, 640), threshold=0.5)[0]) == 0
    face_rgb, box = _photo_face()
    assert hands_over_eyes(
        face_rgb, box[None], scale=2.5, palm_threshold=0.5, flag_threshold=0.5
    ) == [0.0]


def _photo_face() -> tuple[np.ndarray, np.ndarray]:
    rgb = cv2.cvtColor(cv2.imread(str(model_path("photo_biden"))), cv2.COLOR_BGR2RGB)
    dets = detect_faces(rgb, width=640, threshold=0.5, nms_iou=0.3, threads=1)
    assert len(dets) == 1
    return rgb, dets.boxes[0]


@pytest.mark.parametrize(("where", "covered"), [("eyes", True), ("mouth", False)])
def test_a_hand_over_the_eyes_is_told_from_one_over_the_mouth(where, covered):
    rgb, box = _photo_face()
    x0, y0, x1, y1 = box
    size = int(0.9 * (x1 - x0))  # a hand about as long as the face
    hand = draw_hand(size, rng=np.random.default_rng(1))
    # the palm's centre (0.62 of the drawing down) over the eyes, or over the mouth
    target_y = y0 + (0.38 if where == "eyes" else 0.85) * (y1 - y0)
    shown = paste(rgb, hand, (0.5 * (x0 + x1), target_y - 0.12 * size))
    share = hands_over_eyes(shown, box[None], scale=2.5, palm_threshold=0.5, flag_threshold=0.5)
    assert (share[0] >= 0.3) == covered, share
