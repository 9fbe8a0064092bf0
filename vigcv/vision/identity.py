"""Who a face is: a 128-d identity descriptor per face, to keep people apart and name them.

dlib's face recognition ResNet (``face_identity`` in ``models/manifest.toml``; Davis King, public
domain) maps a 150x150 face chip, aligned by dlib's 5-point landmarks (``face_landmarks_5``), to
128 numbers. It was trained so that one person's faces lie within a Euclidean distance of 0.6 of
each other and different people's farther apart (dlib's convention: same person below 0.6; 99.38%
on LFW). The descriptors are not unit vectors: distances are taken as they are.

CenterFace's boxes are taller than the boxes the 5-point predictor was trained with (dlib's HOG
and CNN detectors: square, from the brows to the chin). :func:`dlib_box` turns one into the
other (on the two reference photos the descriptors of the converted boxes are within 0.03-0.06 of
those of dlib's own detector's boxes).

Both models run in dlib's own C++ on one thread (the wheel links no BLAS). The ``dlib-bin``
wheel is built with AVX; it refuses to import on a CPU without it.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from vigcv.models import model_path

DIM = 128  # descriptor length
SAME_PERSON = 0.6  # dlib's threshold: Euclidean distance below it is one person
# dlib's square box from a CenterFace box: side BOX_SIDE x the box's width, centre moved down by
# BOX_DROP x its height (fitted on the two reference photos against dlib's HOG detector).
BOX_SIDE = 1.05
BOX_DROP = 0.08


def dlib_box(box: np.ndarray) -> tuple[int, int, int, int]:
    """The square ``left, top, right, bottom`` that dlib's landmarker expects for a CenterFace
    ``x0, y0, x1, y1`` box (see the module docstring)."""
    x0, y0, x1, y1 = (float(v) for v in box[:4])
    side = BOX_SIDE * (x1 - x0)
    cx = 0.5 * (x0 + x1)
    cy = 0.5 * (y0 + y1) + BOX_DROP * (y1 - y0)
    half = 0.5 * side
    return round(cx - half), round(cy - half), round(cx + half), round(cy + half)


@lru_cache(maxsize=1)
def _dlib_models() -> tuple[Any, Any]:
    """dlib's 5-point predictor and recognition ResNet, loaded once per process (0.15 s each
    time otherwise: a batch worker scans many short recordings)."""
    import dlib

    predictor = dlib.shape_predictor(str(model_path("face_landmarks_5")))
    return predictor, dlib.face_recognition_model_v1(str(model_path("face_identity")))


class FaceIdentity:
    """dlib's 5-point alignment and face recognition ResNet, loaded once.

    Parameters
    ----------
    min_face_px : float
        Faces whose box is narrower than this many pixels (of the image given to :meth:`embed`)
        get a NaN row: their chip would be upsampled from too few pixels to say who they are.
    """

    def __init__(self, *, min_face_px: float = 0.0) -> None:
        import dlib

        self._dlib = dlib
        self._landmarks, self._net = _dlib_models()
        self.min_face_px = float(min_face_px)

    def embed(self, rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Identity descriptors of the faces in ``boxes`` of one image.

        Parameters
        ----------
        rgb : ndarray, shape (H, W, 3), uint8
            The image.
        boxes : ndarray, shape (n, 4)
            ``x0, y0, x1, y1`` of each face, pixels of ``rgb`` (CenterFace boxes).

        Returns
        -------
        ndarray, shape (n, 128), float32
            One descriptor per face; NaN rows for faces narrower than ``min_face_px`` or with no
            pixel inside the image.
        """
        boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
        out = np.full((len(boxes), DIM), np.nan, np.float32)
        if not len(boxes):
            return out
        image = np.ascontiguousarray(rgb, dtype=np.uint8)
        h, w = image.shape[:2]
        shapes = self._dlib.full_object_detections()
        kept = []
        for k, box in enumerate(boxes):
            width = box[2] - box[0]
            if not math.isfinite(width) or width < max(self.min_face_px, 1.0):
                continue
            left, top, right, bottom = dlib_box(box)
            if right <= 0 or bottom <= 0 or left >= w or top >= h:
                continue
            shapes.append(self._landmarks(image, self._dlib.rectangle(left, top, right, bottom)))
            kept.append(k)
        if kept:
            descriptors = self._net.compute_face_descriptor(image, shapes)
            out[kept] = np.asarray([np.asarray(d) for d in descriptors], np.float32)
        return out


def identity_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance between descriptors along the last axis (broadcast); NaN where either
    is NaN. Below :data:`SAME_PERSON` (0.6) is one person by dlib's convention."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return np.sqrt(np.sum(diff * diff, axis=-1))


def mean_embedding(rows: np.ndarray) -> np.ndarray:
    """The mean of the descriptors in ``rows`` (n, 128) that are not NaN, float32 (128,).

    Not renormalised: dlib's descriptors are not unit vectors and its 0.6 threshold is set on
    raw distances, so a mean stays comparable with single descriptors as it is. All NaN (or no
    rows) gives a NaN row.
    """
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, DIM)
    ok = ~np.isnan(rows).any(axis=1)
    if not ok.any():
        return np.full(DIM, np.nan, np.float32)
    return rows[ok].mean(axis=0).astype(np.float32)
