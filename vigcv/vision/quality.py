"""How well a person's face can be measured in each frame: a quality in [0, 1].

Built only from what the models already give, so it costs nothing extra:

- ``mesh``: the face mesh's own face-presence probability of the crop (is it a face at all; the
  back of a head, hair or a hand over the face read low), from the nearest frame the mesh was run
  on within a short gap (it runs every few frames), raised to at least ``mesh_floor``: the mesh
  also doubts strong profiles and small babies' faces that coders read without trouble (on the
  real clips its presence is below 0.1 in most frames where the mother, in profile, looks at her
  child), so a low presence alone is weak evidence that there is no face;
- ``points``: CenterFace's two eyes and nose all inside the frame (a face leaving the frame);
- ``size``: the face box is big enough to measure (0 at ``min_face_px`` and below, 1 from twice
  that);
- ``turn``: how far the head is turned past what the mesh measures well (``|yaw|`` beyond
  ``yaw_deg``: a profile's far eye is guessed), falling linearly to ``yaw_floor`` at 90 degrees;
- ``detection``: the detector's score relative to the person's own median score in the session
  (``coast`` where the box is interpolated between detections);
- ``sharpness``: the face's Laplacian variance relative to the person's own median (motion blur),
  1 from ``sharp_ratio`` of the median up (0 = not used).

The quality is their product. Below a floor (``[vision] quality_min``) vigcv reports the
person's looks-at and smile as unknown (NaN) rather than a guess (:mod:`vigcv.vision.extract`).
The relative parts (detection, sharpness) compare a person only with themself, so a dim webcam or
a rendered face is not penalised as a whole.

Beside it, :func:`face_evidence` asks whether the box holds a face at all, from the same two
readings (:func:`held_presence`, :func:`relative_score`): the larger of the mesh's presence and
the detector's relative score, so that a profile (which the mesh doubts and the detector does
not) counts as a face and the side or back of a head (which both doubt) does not. Below
``[vision] face_min`` the person's looks-at, smile and mouth opening are unknown too.
"""

from __future__ import annotations

import numpy as np

from vigcv.vision.signals import hold

COMPONENTS = ("mesh", "points", "size", "turn", "detection", "sharpness")


def _relative(values: np.ndarray, ratio: float) -> np.ndarray:
    """``values`` over ``ratio`` times their median, clipped to [0, 1] (NaN stays NaN)."""
    v = np.asarray(values, dtype=float)
    valid = v[np.isfinite(v)]
    if valid.size == 0 or ratio <= 0:
        return np.where(np.isnan(v), np.nan, 1.0)
    median = float(np.median(valid))
    if median <= 0:
        return np.where(np.isnan(v), np.nan, 1.0)
    return np.clip(v / (ratio * median), 0.0, 1.0)


def held_presence(presence: np.ndarray, hold_frames: int) -> np.ndarray:
    """The mesh's face-presence probability (NaN where not run) from the nearest frame that has
    it within ``hold_frames``, clipped to [0, 1]; NaN farther away."""
    return np.clip(hold(np.asarray(presence, dtype=float), hold_frames), 0.0, 1.0)


def relative_score(
    score: np.ndarray,
    detected: np.ndarray,
    yaw: np.ndarray | None = None,
    *,
    yaw_window_deg: float = 0.0,
    min_frames: int = 25,
    hidden_past_deg: float = 180.0,
) -> np.ndarray:
    """The detector's score over the person's own median score, clipped to [0, 1]; NaN where
    the face was not detected.

    With ``yaw`` (degrees, NaN where unknown) and ``yaw_window_deg`` > 0 the median is the
    person's own over the detected frames whose head turn ``|yaw|`` lies within
    ``yaw_window_deg`` of the frame's (in 5 degree steps), where there are at least
    ``min_frames`` of them (else over all): a detector scores a turned face lower than a
    frontal one, so a turned face is compared with the same person's turned faces, and a face
    that scores low for its turn (hair, a hand, the side of a head) still reads low. A head
    turned more than ``hidden_past_deg`` from the camera shows no face (CenterFace scores the
    back of a head as a face too): its relative score is 0 and its boxes are no one's
    reference, so a long back turn cannot become its own reference and read as a face.
    """
    s = np.where(np.asarray(detected, dtype=bool), np.asarray(score, dtype=float), np.nan)
    if yaw is None or yaw_window_deg <= 0:
        return _relative(s, 1.0)
    valid = np.isfinite(s) & (s > 0)
    if not valid.any():
        return _relative(s, 1.0)
    overall = float(np.median(s[valid]))
    turn = np.abs(np.asarray(yaw, dtype=float))
    step = 5.0
    bins = np.floor(np.nan_to_num(turn, nan=-1.0) / step).astype(int)  # -1: turn unknown
    reference = np.full(s.shape, overall)
    known = valid & (bins >= 0)
    reach = max(0, round(yaw_window_deg / step))
    hidden = bins * step > hidden_past_deg  # whole 5-degree steps past the cut
    shown = known & ~hidden
    for b in np.unique(bins[bins >= 0]):
        near = shown & (np.abs(bins - b) <= reach)
        if near.sum() >= min_frames:
            reference[bins == b] = float(np.median(s[near]))
    out = np.clip(s / reference, 0.0, 1.0)
    # The back of the head: the detector's score says nothing about a face there.
    return np.where(np.isfinite(s) & hidden, 0.0, out)


def quality_components(
    *,
    presence: np.ndarray,
    detected: np.ndarray,
    present: np.ndarray,
    score: np.ndarray,
    box: np.ndarray,
    points: np.ndarray,
    yaw: np.ndarray,
    sharpness: np.ndarray,
    frame_size: tuple[int, int],
    hold_frames: int,
    min_face_px: float,
    yaw_deg: float,
    yaw_floor: float,
    coast: float,
    sharp_ratio: float,
    mesh_floor: float = 0.0,
) -> dict[str, np.ndarray]:
    """The parts of the measurement quality (:func:`combine_quality` multiplies them), each
    shape (n,) in [0, 1], 0 where the person has no box.

    Parameters
    ----------
    presence : ndarray, shape (n,)
        Face-mesh presence probability where the mesh was run, NaN elsewhere.
    detected, present : ndarray of bool, shape (n,)
        The face was detected in the frame / has a box (detected or interpolated).
    score : ndarray, shape (n,)
        Detector score where detected, NaN elsewhere.
    box : ndarray, shape (n, 4)
        ``x, y, w, h`` in pixels (NaN where absent).
    points : ndarray, shape (n, 3, 2)
        Eyes and nose in pixels where detected (NaN elsewhere, or all NaN when unknown).
    yaw : ndarray, shape (n,)
        Head yaw in degrees (NaN where unknown: no turn penalty).
    sharpness : ndarray, shape (n,)
        Laplacian variance of the face where detected (NaN elsewhere or when unknown).
    frame_size : (int, int)
        Width and height of the frame in pixels.
    hold_frames : int
        Presence, points and sharpness are taken from the nearest frame that has them within
        this many frames (the mesh runs every few frames; boxes are interpolated over short
        gaps); farther is unknown, which counts as 0 for presence and 1 for the others.
    min_face_px, yaw_deg, yaw_floor, coast, sharp_ratio, mesh_floor : float
        See the module docstring.
    """
    present = np.asarray(present, dtype=bool)
    detected = np.asarray(detected, dtype=bool)
    n = present.size
    out: dict[str, np.ndarray] = {}
    mesh = np.nan_to_num(held_presence(presence, hold_frames), nan=0.0)
    out["mesh"] = mesh_floor + (1.0 - mesh_floor) * mesh
    width, height = frame_size
    p = np.asarray(points, dtype=float).reshape(n, -1, 2)
    if width > 0 and height > 0:
        inside = (p[..., 0] >= 0) & (p[..., 0] < width) & (p[..., 1] >= 0) & (p[..., 1] < height)
        inside_all = np.where(np.isnan(p).any(axis=(1, 2)), np.nan, inside.all(axis=1))
        out["points"] = np.nan_to_num(hold(inside_all.astype(float), hold_frames), nan=1.0)
    else:
        out["points"] = np.ones(n)
    b = np.asarray(box, dtype=float).reshape(n, 4)
    size = np.sqrt(np.abs(b[:, 2] * b[:, 3]))
    if min_face_px > 0:
        out["size"] = np.nan_to_num(np.clip(size / min_face_px - 1.0, 0.0, 1.0), nan=0.0)
    else:
        out["size"] = np.ones(n)
    past = np.clip(
        (np.abs(np.asarray(yaw, dtype=float)) - yaw_deg) / max(90.0 - yaw_deg, 1e-6), 0, 1
    )
    out["turn"] = 1.0 - (1.0 - yaw_floor) * np.nan_to_num(past, nan=0.0)
    det = relative_score(score, detected)
    out["detection"] = np.where(detected, np.nan_to_num(det, nan=1.0), coast)
    if sharp_ratio > 0:
        sharp = _relative(np.where(detected, sharpness, np.nan), sharp_ratio)
        out["sharpness"] = np.nan_to_num(hold(sharp, hold_frames), nan=1.0)
    else:
        out["sharpness"] = np.ones(n)
    return {k: np.where(present, v, 0.0) for k, v in out.items()}


def face_evidence(
    *,
    presence: np.ndarray,
    detected: np.ndarray,
    present: np.ndarray,
    score: np.ndarray,
    hold_frames: int,
    size: np.ndarray | None = None,
    min_size_ratio: float = 0.0,
    yaw: np.ndarray | None = None,
    yaw_window_deg: float = 0.0,
    hidden_past_deg: float = 180.0,
) -> np.ndarray:
    """How sure the two face models are that a person's box holds a face, per frame, 0..1.

    The larger of the face mesh's face-presence probability (sure of a face seen from the front
    or three-quarters, unsure of a profile) and the detector's score relative to the person's
    own median over the session (sure of a profile too; a box on the side or back of a head,
    hair, or a hand over the face scores well below the person's usual face). Both come from
    the nearest frame that has them within ``hold_frames`` (the mesh runs every few frames;
    boxes are interpolated over short gaps); farther counts as 0. 0 where the person has no
    box, and where the box (``size``: the square root of its area) is smaller than
    ``min_size_ratio`` times the person's median box: a face does not shrink to a fraction of
    itself in a moment, so such a box is something else given the person's track (a dark patch,
    a toy). A box that both models doubt is not measured as a face (``[vision] face_min``).
    With ``yaw`` and ``yaw_window_deg`` the detector's score is compared with the person's own
    at a like head turn; past ``hidden_past_deg`` (the back of a head) the detector's score
    counts for nothing (:func:`relative_score`).
    """
    present = np.asarray(present, dtype=bool)
    mesh = held_presence(presence, hold_frames)
    det = hold(
        relative_score(
            score, detected, yaw, yaw_window_deg=yaw_window_deg, hidden_past_deg=hidden_past_deg
        ),
        hold_frames,
    )
    either = np.nan_to_num(np.fmax(mesh, det), nan=0.0)  # fmax: one NaN takes the other
    if size is not None and min_size_ratio > 0:
        s = np.asarray(size, dtype=float)
        valid = s[present & np.isfinite(s)]
        if valid.size:
            tiny = s < min_size_ratio * float(np.median(valid))  # NaN compares False
            either = np.where(tiny, 0.0, either)
    return np.where(present, either, 0.0)


def combine_quality(parts: dict[str, np.ndarray]) -> np.ndarray:
    """Per-frame measurement quality in [0, 1]: the product of the parts that
    :func:`quality_components` gives (0 where the person has no box)."""
    q = np.ones_like(np.asarray(parts["mesh"], dtype=float))
    for name in COMPONENTS:
        q = q * np.asarray(parts[name], dtype=float)
    return np.clip(q, 0.0, 1.0)
