"""Who looks at whom, mutual gaze, facing and head distance, from boxes and gaze vectors.

Heads are placed in 3-D with a pinhole camera: depth ``Z = f * W / w`` from the face width ``w``
in pixels and an assumed real head width ``W`` (metres), focal length ``f`` in pixels.
"""

from __future__ import annotations

import numpy as np

from vigcv.checks import require_finite, require_probability
from vigcv.config import CHOICES
from vigcv.errors import ConfigError


def head_positions(
    boxes: np.ndarray, *, head_width_m: float, focal_px: float, centre: tuple[float, float]
) -> np.ndarray:
    """3-D head centres in metres, shape (n, 3), camera coordinates (x right, y down, z forward).

    Parameters
    ----------
    boxes : ndarray, shape (n, 4)
        Face boxes ``x, y, w, h`` in pixels (NaN rows give NaN positions).
    head_width_m : float
        Assumed real width of this person's face box, metres.
    focal_px : float
        Focal length in pixels.
    centre : (float, float)
        Principal point in pixels (the image centre).
    """
    b = np.asarray(boxes, dtype=float).reshape(-1, 4)
    w = np.maximum(b[:, 2], 1.0)
    z = focal_px * head_width_m / w
    u = b[:, 0] + 0.5 * b[:, 2]
    v = b[:, 1] + 0.5 * b[:, 3]
    return np.stack([(u - centre[0]) * z / focal_px, (v - centre[1]) * z / focal_px, z], axis=1)


def shared_depth(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both heads moved along their viewing rays to the mean of their two depths.

    Depth from face size is the noisiest coordinate (a child's head width is a guess, a turned
    face looks narrower); people playing together are mostly about as far from the camera.
    Arrays shape (n, 3), camera coordinates in metres.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    z = 0.5 * (a[:, 2:3] + b[:, 2:3])
    with np.errstate(invalid="ignore", divide="ignore"):
        return a * (z / a[:, 2:3]), b * (z / b[:, 2:3])


def angle_to_target(gaze: np.ndarray, origin: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Degrees between each gaze direction and the direction from ``origin`` to ``target``.

    All arrays shape (n, 3); NaN where any input is NaN.
    """
    d = np.asarray(target, float) - np.asarray(origin, float)
    d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    g = np.asarray(gaze, float)
    g = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-9)
    cos = np.clip(np.sum(g * d, axis=1), -1.0, 1.0)
    return np.degrees(np.arccos(cos))


def looks_at_probability(
    angle_deg: np.ndarray, *, threshold_deg: float, scale_deg: float
) -> np.ndarray:
    """Soft probability of looking at a target: ``1 / (1 + exp((angle - threshold) / scale))``.

    0.5 at ``threshold_deg``; NaN angles give NaN; an infinite angle raises
    :class:`vigcv.checks.NonFiniteError` (it would pass silently as a certain no).
    """
    a = require_finite(angle_deg, what="gaze angle to the target", allow_nan=True)
    with np.errstate(over="ignore", invalid="ignore"):
        return 1.0 / (1.0 + np.exp((a - threshold_deg) / scale_deg))


def mutual_gaze_probability(p_ab: np.ndarray, p_ba: np.ndarray, *, combine: str) -> np.ndarray:
    """Probability that two people look at each other from each one's looks-at probability.

    ``combine``: ``"product"`` (independent errors) or ``"min"`` (the weaker of the two). NaN
    (one of them not measured) gives NaN, never a yes; an infinity or a value outside [0, 1]
    raises :class:`vigcv.checks.NonFiniteError`.
    """
    a = require_probability(p_ab, what="looks-at probability (first person)", allow_nan=True)
    b = require_probability(p_ba, what="looks-at probability (second person)", allow_nan=True)
    if combine == "product":
        return a * b
    if combine == "min":
        return np.fmin(a, b) * np.where(np.isnan(a) | np.isnan(b), np.nan, 1.0)
    valid = ", ".join(CHOICES["vision.mutual_gaze_combine"])
    raise ConfigError(f"'vision.mutual_gaze_combine' must be one of {valid}, got {combine!r}")


def head_distance(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Centre distance in mean face widths, shape (n,); boxes ``x, y, w, h`` shape (n, 4)."""
    a, b = np.asarray(boxes_a, float), np.asarray(boxes_b, float)
    ca = a[:, :2] + 0.5 * a[:, 2:]
    cb = b[:, :2] + 0.5 * b[:, 2:]
    return np.linalg.norm(ca - cb, axis=1) / np.maximum(0.5 * (a[:, 2] + b[:, 2]), 1.0)
