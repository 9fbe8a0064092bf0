"""Read frame labels in the JSON format of ``docs/labels.md``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from vigcv.errors import VigcvError
from vigcv.types import DYAD_COLUMNS

# The labelled signals are the probability columns of timeline.csv (all but time, distance and
# the measurement qualities, which no coder labels).
LABEL_SIGNALS = tuple(
    c for c in DYAD_COLUMNS if c not in ("t", "head_distance") and not c.endswith("_quality")
)


class LabelError(VigcvError):
    """A label file that cannot be read."""


def read_labels(path: str | Path) -> pd.DataFrame:
    """The per-frame labels of one clip or session file.

    Parameters
    ----------
    path : str or Path
        A ``labels/<clip>.json`` or ``sessions/<family>.session.json`` file.

    Returns
    -------
    DataFrame
        One row per labelled frame, column ``t`` (seconds) and every signal of
        :data:`LABEL_SIGNALS` as float: 1.0 yes, 0.0 no, NaN where the labeller could not tell
        (``null``) or the signal is absent. Sorted by ``t``; ``attrs["clip"]`` holds the clip name.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise LabelError(f"{path}: label file not found; check the path") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: not valid JSON ({exc}); fix the file") from None
    frames = data.get("frames") if isinstance(data, dict) else None
    if not isinstance(frames, list):
        raise LabelError(f"{path}: no 'frames' list; see the label format in docs/labels.md")
    rows = []
    for frame in frames:
        row = {"t": float(frame["t"])}
        for name in LABEL_SIGNALS:
            value = frame.get(name)
            row[name] = np.nan if value is None else float(value)
        rows.append(row)
    table = pd.DataFrame(rows, columns=["t", *LABEL_SIGNALS])
    table = table.sort_values("t", kind="stable").reset_index(drop=True)
    table.attrs["clip"] = data.get("clip", path.stem)
    return table
