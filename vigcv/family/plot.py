"""The indicators of a family's visits over time: one small bar chart per indicator.

For the guider and the referrer, never the parent. Bars, not a connected line, so one visit
does not read as a fall from the last; a visit where the faces were rarely seen shows "few faces
seen" instead of a bar for the indicators that need the faces. Built with
:class:`matplotlib.figure.Figure` (no pyplot), like :mod:`vigcv.plots`.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from vigcv.family.indicators import INDICATORS
from vigcv.io import store
from vigcv.results.folder import PROGRESS_PLOT

BAR = "#1b9e77"
NOT_MEASURED = "#bbbbbb"
SHOWN = (
    "mutual_gaze_min_per_10min",
    "answered_share",
    "shared_smiles_per_10min",
    "turns_per_min",
    "moments_above",
)


def progress_figure(table: pd.DataFrame, *, width: float = 11.0) -> Figure:
    """A figure of ``progress.csv``'s table: one panel per indicator, one bar per visit."""
    specs = {name: (label, unit, faces) for name, label, unit, faces in INDICATORS}
    fig = Figure(figsize=(width, 2.3 * len(SHOWN) / 2 + 0.8), layout="constrained")
    axes = fig.subplots(math.ceil(len(SHOWN) / 2), 2, squeeze=False).ravel()
    dates = [str(d) for d in table["date"]] if len(table) else []
    comparable = [str(c).lower() in ("true", "1") for c in table.get("comparable", [])]
    for ax, name in zip(axes, SHOWN, strict=False):
        label, unit, faces = specs[name]
        values = pd.to_numeric(table[name], errors="coerce").tolist() if len(table) else []
        top = max([v for v in values if math.isfinite(v)] + [1e-9])
        for i, value in enumerate(values):
            if (faces and not comparable[i]) or not math.isfinite(value):
                ax.bar(i, top * 0.04, color=NOT_MEASURED)
                ax.text(i, top * 0.08, "few faces\nseen" if faces else "not\nmeasured",
                        ha="center", va="bottom", fontsize=7, color="#666666")  # fmt: skip
                continue
            ax.bar(i, value, color=BAR)
            text = f"{value:.0%}" if unit == "share" else f"{value:.2g}"
            ax.text(i, value, text, ha="center", va="bottom", fontsize=8)
        ax.set_title(f"{label} ({unit})", fontsize=9, loc="left")
        ax.set_xticks(range(len(dates)), dates, fontsize=8)
        ax.set_ylim(0, top * 1.25)
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    for ax in axes[len(SHOWN) :]:
        ax.set_visible(False)
    fig.suptitle("What was seen at each visit", fontsize=11, x=0.01, ha="left")
    return fig


def progress_png(table: pd.DataFrame) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    progress_figure(table).savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def write_progress_plot(family: Path, table: pd.DataFrame) -> Path:
    """Write ``progress.png`` into the family folder; returns its path."""
    path = Path(family) / PROGRESS_PLOT
    with store.atomic_path(path) as tmp:
        tmp.write_bytes(progress_png(table))
    return path
