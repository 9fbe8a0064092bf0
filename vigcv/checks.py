"""Loud checks on the numbers that feed a decision.

A probability that is NaN or infinite where a decision is taken (a Viterbi path, a threshold, a
score) makes the decision arbitrary, silently: ``np.log`` of a slightly negative probability is
NaN, and an ``argmax`` over NaN picks whatever comes first. Such a value is a bug in vigcv or in
a model, never the user's doing, so these checks raise :class:`NonFiniteError` (not a
:class:`vigcv.errors.VigcvError`, which would be reported as a user's mistake) naming what was
being computed.

Unknown is not the same as broken: where a signal could not be measured (no face in view) vigcv
writes NaN on purpose. ``allow_nan=True`` accepts those and still refuses infinities and values
outside [0, 1].
"""

from __future__ import annotations

from typing import Any

import numpy as np


class NonFiniteError(ArithmeticError):
    """A NaN, an infinity or an out-of-range value reached a probability that feeds a decision."""


def require_finite(values: Any, *, what: str, allow_nan: bool = False) -> np.ndarray:
    """``values`` as a float array, checked to hold no infinity (and no NaN unless allowed).

    Parameters
    ----------
    values : array_like
        The numbers about to be used.
    what : str
        What they are, for the error message (e.g. ``"pYIN voicing probabilities"``).
    allow_nan : bool
        Accept NaN (a measurement marked unknown on purpose).

    Raises
    ------
    NonFiniteError
        Naming ``what``, how many values are bad and the first one.
    """
    array = np.asarray(values, dtype=float)
    bad = np.isinf(array) if allow_nan else ~np.isfinite(array)
    if bad.any():
        first = array[bad].flat[0]
        raise NonFiniteError(
            f"{what}: {int(bad.sum())} of {array.size} values are not finite "
            f"(first: {first!r}); this is a bug in vigcv, please report it"
        )
    return array


def require_probability(
    values: Any, *, what: str, allow_nan: bool = False, atol: float = 1e-6
) -> np.ndarray:
    """``values`` as a float array of probabilities, checked finite and within [0, 1].

    Values off by rounding (within ``atol`` of the interval) are clipped into it; anything
    further out, infinite, or NaN (unless ``allow_nan``) raises :class:`NonFiniteError`.
    """
    array = require_finite(values, what=what, allow_nan=allow_nan)
    with np.errstate(invalid="ignore"):
        outside = (array < -atol) | (array > 1.0 + atol)
    if outside.any():
        first = array[outside].flat[0]
        raise NonFiniteError(
            f"{what}: {int(outside.sum())} of {array.size} values lie outside [0, 1] "
            f"(first: {first!r}); this is a bug in vigcv, please report it"
        )
    return np.clip(array, 0.0, 1.0)
