"""A short generated session (shipped ``textbook`` script, seed 1) and what the real face
landmarker sees in it, computed once per test run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from vigcv.io.media import iter_frames
from vigcv.synth import SynthResult, cached_session

FRAME_STEP = 2  # landmark every 2nd video frame (12.5 per second)


@pytest.fixture(scope="session")
def textbook(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return cached_session("textbook", seed=1, cache_dir=tmp_path_factory.mktemp("synth"))


@dataclass(frozen=True)
class Seen:
    """Per analysed frame and person: the truth row joined with the landmarker's output."""

    table: (
        pd.DataFrame
    )  # truth columns + found, lm_cx, lm_cy, smile_bs, jaw_bs, lower_lip_bs, lip_gap, mp_yaw
    whole_frame_rate: float  # fraction of frames where the whole-frame pass found both faces


def _landmarker(num_faces: int):  # type: ignore[no-untyped-def]
    from mediapipe.tasks.python import BaseOptions, vision

    from vigcv.models import model_path

    return vision.FaceLandmarker.create_from_options(
        vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker"))),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=num_faces,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
    )


def square_crop(rgb: np.ndarray, box: tuple[float, float, float, float], *, out: int = 256):
    """A square crop 1.8x the face box around its centre (zero-padded), resized to ``out``;
    returns the crop, its top-left corner and its scale (crop pixels per frame pixel)."""
    x, y, w, h = box
    side = int(max(w, h) * 1.8)
    x0, y0 = int(x + w / 2 - side / 2), int(y + h / 2 - side / 2)
    crop = np.zeros((side, side, 3), np.uint8)
    height, width = rgb.shape[:2]
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + side, width), min(y0 + side, height)
    crop[ya - y0 : yb - y0, xa - x0 : xb - x0] = rgb[ya:yb, xa:xb]
    return cv2.resize(crop, (out, out), interpolation=cv2.INTER_AREA), (x0, y0), out / side


@pytest.fixture(scope="session")
def seen(textbook: SynthResult) -> Seen:
    return landmark_session(textbook)


def landmark_session(textbook: SynthResult) -> Seen:
    """Run MediaPipe FaceLandmarker on crops around each head (from the truth boxes) and on the
    whole frame, on every FRAME_STEP-th frame."""
    import mediapipe as mp

    truth = pd.read_csv(textbook.truth)
    rows = []
    whole_hits = []
    with _landmarker(1) as one, _landmarker(2) as two:
        for frame in iter_frames(textbook.video, fps=0):
            if frame.index % FRAME_STEP:
                continue
            whole = two.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=frame.rgb))
            h_img, w_img = frame.rgb.shape[:2]
            centres = [
                (np.mean([p.x for p in lm]) * w_img, np.mean([p.y for p in lm]) * h_img)
                for lm in whole.face_landmarks
            ]
            both = True
            for _, r in truth[np.isclose(truth["t"], frame.t, atol=1e-3)].iterrows():
                row = r.to_dict()
                inside = [r.x <= cx <= r.x + r.w and r.y <= cy <= r.y + r.h for cx, cy in centres]
                both &= any(inside)
                crop, (x0, y0), scale = square_crop(frame.rgb, (r.x, r.y, r.w, r.h))
                res = one.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=crop))
                row["found"] = bool(res.face_landmarks)
                if res.face_landmarks:
                    lm = res.face_landmarks[0]
                    row["lm_cx"] = x0 + np.mean([p.x for p in lm]) * crop.shape[1] / scale
                    row["lm_cy"] = y0 + np.mean([p.y for p in lm]) * crop.shape[0] / scale
                    bs = {b.category_name: b.score for b in res.face_blendshapes[0]}
                    row["smile_bs"] = 0.5 * (bs["mouthSmileLeft"] + bs["mouthSmileRight"])
                    row["jaw_bs"] = bs["jawOpen"]
                    row["lower_lip_bs"] = 0.5 * (
                        bs["mouthLowerDownLeft"] + bs["mouthLowerDownRight"]
                    )
                    pts = np.array([(p.x, p.y) for p in lm])  # the crop is square
                    face_h = np.linalg.norm(pts[10] - pts[152])
                    row["lip_gap"] = float(np.linalg.norm(pts[13] - pts[14]) / face_h)
                    m = np.asarray(res.facial_transformation_matrixes[0])
                    # MediaPipe's yaw is positive towards image right; vigcv's towards image left.
                    row["mp_yaw"] = -np.degrees(np.arctan2(m[0, 2], m[2, 2]))
                rows.append(row)
            whole_hits.append(both)
    return Seen(table=pd.DataFrame(rows), whole_frame_rate=float(np.mean(whole_hits)))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
