"""Which identity is the parent: the larger face over the session, or a side the user gives."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vigcv.errors import ConfigError

SIDES = ("left", "right")


@dataclass(frozen=True)
class RoleAssignment:
    """Identity index of the parent and the child, and how sure the assignment is.

    Attributes
    ----------
    parent, child : int
        Identity indices (``-1`` when there is no second person).
    method : str
        ``"face_size"``, ``"parent_side"`` or ``"single"``.
    confidence : float
        0.5 (a coin toss) .. 1.
    size_ratio : float
        Median face size of the parent identity over the child identity.
    side_consistency : float
        Fraction of frames with both faces where the parent is on its usual side of the child.
    """

    parent: int
    child: int
    method: str
    confidence: float
    size_ratio: float
    side_consistency: float


def assign_roles(
    *,
    size: dict[int, np.ndarray],
    cx: dict[int, np.ndarray],
    parent_side: str | None = None,
    size_scale: float = 0.15,
) -> RoleAssignment:
    """Assign parent and child from per-frame face sizes and centres of two identities.

    Parameters
    ----------
    size, cx : dict of int to ndarray, shape (n_frames,)
        Per identity, face size (pixels, NaN when absent) and centre x (pixels) per analysed frame.
    parent_side : {"left", "right"}, optional
        The user says where the parent is; the identity more often on that side is the parent.
    size_scale : float
        Confidence scale in natural-log units of the parent/child face size ratio: confidence is
        ``0.5 + 0.5 * vote * (1 - exp(-|log ratio| / size_scale))`` where ``vote`` is how
        consistently (0..1) the same face is the larger one in frames with both.
    """
    if parent_side is not None and parent_side not in SIDES:
        raise ConfigError(f"parent_side must be 'left' or 'right', got {parent_side!r}")
    ids = sorted(size)
    if len(ids) < 2:
        only = ids[0] if ids else -1
        return RoleAssignment(only, -1, "single", 0.5, math.nan, math.nan)
    a, b = ids[:2]
    med_a, med_b = float(np.nanmedian(size[a])), float(np.nanmedian(size[b]))
    both = ~np.isnan(size[a]) & ~np.isnan(size[b])
    a_left = float(np.mean(cx[a][both] < cx[b][both])) if both.any() else 0.5
    if parent_side is not None:
        a_is_parent = a_left >= 0.5 if parent_side == "left" else a_left < 0.5
        method, confidence = "parent_side", 1.0
    else:
        # Paired comparison over frames with both faces (robust to one person nearing the
        # camera for a while); the session medians decide when the faces never co-occur.
        if both.sum() >= 3:
            larger = float(np.mean(size[a][both] > size[b][both]))
            log_ratio = float(np.median(np.log(size[a][both] / size[b][both])))
        else:
            larger = 1.0 if med_a >= med_b else 0.0
            log_ratio = math.log(max(med_a, 1e-6) / max(med_b, 1e-6))
        a_is_parent = larger > 0.5 or (larger == 0.5 and log_ratio >= 0)
        vote = abs(2.0 * larger - 1.0)
        confidence = 0.5 + 0.5 * vote * (1.0 - math.exp(-abs(log_ratio) / size_scale))
        method = "face_size"
    parent, child = (a, b) if a_is_parent else (b, a)
    ratio = (med_a / med_b) if a_is_parent else (med_b / med_a)
    side = a_left if a_is_parent else 1.0 - a_left
    return RoleAssignment(parent, child, method, confidence, ratio, max(side, 1.0 - side))
