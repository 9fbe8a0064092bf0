"""Combine the component scores of each window into one attunement score in 0..1.

A combination is a name from :data:`COMBINERS` or a callable
``f(values, weights) -> scores`` with ``values`` of shape ``(n_windows, n_components)`` (0..1,
components that could not be seen in a window are 0), ``weights`` of shape ``(n_components,)``
(> 0) and ``scores`` of shape ``(n_windows,)``. Only the components that could be measured
somewhere in the session take part (no faces: no gaze or smiles), so a missing modality does not
drag every score down.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vigcv.checks import require_finite, require_probability
from vigcv.errors import ConfigError
from vigcv.scoring.components import COMPONENTS
from vigcv.scoring.windows import Windows

Combiner = Callable[[np.ndarray, np.ndarray], np.ndarray]


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum_c w_c x_c / sum_c w_c``."""
    return values @ weights / weights.sum()


def geometric(values: np.ndarray, weights: np.ndarray, *, floor: float = 0.05) -> np.ndarray:
    """Weighted geometric mean ``exp(sum_c w_c log(floor + (1 - floor) x_c) / sum_c w_c)``,
    rescaled so 0 maps to 0: rewards windows where every component is present at once."""
    lifted = floor + (1.0 - floor) * values
    g = np.exp(np.log(lifted) @ weights / weights.sum())
    return (g - floor) / (1.0 - floor)


def maximum(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``max_c (w_c / max_w) x_c``: the strongest single signal."""
    return (values * (weights / weights.max())[None, :]).max(axis=1)


COMBINERS: dict[str, Combiner] = {
    "weighted_mean": weighted_mean,
    "geometric": geometric,
    "max": maximum,
}


def resolve_combiner(combine: str | Combiner) -> tuple[str, Combiner]:
    """The name and function of ``combine``; an unknown name is a :class:`ConfigError`."""
    if callable(combine):
        return getattr(combine, "__name__", "custom"), combine
    if isinstance(combine, str) and combine in COMBINERS:
        return combine, COMBINERS[combine]
    valid = ", ".join(sorted(COMBINERS))
    raise ConfigError(
        f"unknown combination {combine!r} (scoring.combine); valid names: {valid}, "
        "or pass a callable f(values, weights)"
    )


def check_weights(weights: Mapping[str, Any]) -> dict[str, float]:
    """Weights by component; unknown names or negative/non-numeric values are a ConfigError."""
    out = {}
    for name, value in weights.items():
        if name not in COMPONENTS:
            raise ConfigError(
                f"unknown component {name!r} in scoring.weights; valid names: "
                + ", ".join(COMPONENTS)
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"scoring.weights.{name} must be a number >= 0, got {value!r}")
        out[name] = float(value)
    return out


@dataclass(frozen=True)
class WindowScores:
    """Windows with their combined score.

    Attributes
    ----------
    windows : Windows
        The windows that were scored.
    table : DataFrame, shape (n_windows, ...)
        ``windows.table`` plus ``score`` (0..1); what windows.parquet holds.
    weights : dict
        The weight of each component that took part (components not measurable in the session
        are absent).
    combine : str
        Name of the combination used.
    config_hash : str
        Hash of the config that produced the windows.
    """

    windows: Windows
    table: pd.DataFrame
    weights: dict[str, float]
    combine: str
    config_hash: str

    @property
    def scores(self) -> np.ndarray:
        return self.table["score"].to_numpy(dtype=float)

    def __len__(self) -> int:
        return len(self.table)


def score_windows(
    windows: Windows,
    *,
    weights: Mapping[str, float] | None = None,
    combine: str | Combiner | None = None,
    config: Mapping[str, Any] | None = None,
) -> WindowScores:
    """Combine each window's components into ``score`` (0..1).

    Parameters
    ----------
    windows : Windows
        From :func:`~vigcv.scoring.windows.compute_windows`.
    weights : dict, optional
        Component name -> weight (>= 0); missing names weigh 0. Default: ``[scoring.weights]`` of
        ``config`` (or of the config the windows were computed with).
    combine : str or callable, optional
        ``"weighted_mean"``, ``"geometric"``, ``"max"`` or ``f(values, weights) -> scores``.
        Default: ``[scoring] combine``.
    config : dict, optional
        Full config to take the defaults from; default: the one the windows were computed with.

    Returns
    -------
    WindowScores
    """
    sc = (config or windows.config)["scoring"]
    name, func = resolve_combiner(sc["combine"] if combine is None else combine)
    w = check_weights(sc["weights"] if weights is None else weights)
    used = {c: w[c] for c in windows.active if w.get(c, 0.0) > 0}
    table = windows.table.copy()
    if used and len(table):
        # NaN (not seen in the window) is no evidence, 0; an infinity or a value outside 0..1
        # is a bug and must not be clipped into a full score.
        values = require_probability(
            table[list(used)].to_numpy(dtype=float), what="component scores", allow_nan=True
        )
        values = np.nan_to_num(values, nan=0.0)
        score = np.asarray(func(values, np.array(list(used.values()))))
        if score.shape != (len(table),):
            raise ConfigError(
                f"combination {name!r} returned shape {score.shape}, expected ({len(table)},)"
            )
        score = require_finite(score, what=f"scores of the combination {name!r}")
        table["score"] = np.clip(score, 0.0, 1.0)
    else:
        table["score"] = 0.0
    return WindowScores(
        windows=windows, table=table, weights=used, combine=name, config_hash=windows.config_hash
    )
