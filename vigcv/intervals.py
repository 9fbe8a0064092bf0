"""Runs of True in a boolean array, for every stage that turns a per-sample flag into intervals.

One helper instead of a copy per module: :func:`true_runs` gives the half-open index ranges,
found by :func:`scipy.ndimage.label` (consecutive True values form one labelled feature) and
:func:`scipy.ndimage.find_objects` (each feature's slice). Callers turn indices into seconds
with their own sampling rule. Imports only numpy and scipy, so any layer may use it.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of each maximal run of True in ``mask``, half-open, in order.

    Parameters
    ----------
    mask : array_like of bool, shape (n,)
        One flag per sample; anything non-zero counts as True.

    Returns
    -------
    list of (int, int)
        ``mask[start:stop]`` is all True and cannot be extended; empty when nothing is True.

    Examples
    --------
    >>> true_runs(np.array([True, True, False, True]))
    [(0, 2), (3, 4)]
    """
    flags = np.asarray(mask, dtype=bool)
    if flags.ndim != 1:
        raise ValueError(f"true_runs takes a 1-D array, got shape {flags.shape}")
    if not flags.any():  # also the empty array, which find_objects does not take
        return []
    labels, _ = ndimage.label(flags)
    return [(int(s.start), int(s.stop)) for (s,) in ndimage.find_objects(labels)]
