"""Matplotlib figures of a session: the timeline of every signal, component and moment.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot, so no GUI backend
and no global figure list): ``fig.savefig("x.png")`` renders with Agg, and a notebook shows the
figure when it is a cell's value.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from vigcv.intervals import true_runs
from vigcv.scoring import COMPONENTS, WindowScores
from vigcv.scoring.timeline import speaker_roles
from vigcv.types import FrameFeatures, Moment, SpeechTrack
from vigcv.vision.signals import expected_calibration_error, reliability_bins

PARENT = "#d95f02"
CHILD = "#1b9e77"
BOTH = "#7570b3"
OTHER = "#999999"
MOMENT = "#f2c84b"
COMPONENT_COLOURS = {
    "mutual_gaze": BOTH,
    "contingency": "#e7298a",
    "shared_affect": "#66a61e",
    "turn_taking": "#1f78b4",
    "proximity": "#a6761d",
}
GAZE_SIGNALS = (
    ("parent_looks_at_child", "parent looks at child", PARENT),
    ("child_looks_at_parent", "child looks at parent", CHILD),
    ("mutual_gaze", "mutual gaze", BOTH),
)
SMILE_SIGNALS = (
    ("parent_smile", "parent smiles", PARENT),
    ("child_smile", "child smiles", CHILD),
)


def format_clock(x: float, _pos: Any = None) -> str:
    """``m:ss`` for a time in seconds (a matplotlib tick formatter)."""
    sign = "-" if x < 0 else ""
    m, s = divmod(abs(round(x)), 60)
    return f"{sign}{m}:{s:02d}"


def _labels_frame(labels: Any, *, duration: float) -> tuple[pd.DataFrame | None, list[Any], float]:
    """(per-frame labels, labelled moments, label step) from whatever the caller gave."""
    if labels is None:
        return None, [], 0.5
    if isinstance(labels, str | Path):
        from vigcv.evaluation.coding import read_coding

        labels = read_coding(labels, duration=duration)
    if isinstance(labels, pd.DataFrame):
        t = labels["t"].to_numpy(dtype=float)
        step = float(np.median(np.diff(t))) if t.size > 1 else 0.5
        return labels, [], step
    frames = getattr(labels, "frames", None)
    return frames, list(getattr(labels, "moments", ())), float(getattr(labels, "step_s", 0.5))


def _runs(t: np.ndarray, on: np.ndarray, step: float) -> list[tuple[float, float]]:
    """(start, width) of runs of True, each sample covering ``[t - step/2, t + step/2]``."""
    if t.size == 0 or not on.any():
        return []
    return [(float(t[i]) - step / 2, float(t[j - 1] - t[i]) + step) for i, j in true_runs(on)]


def _curves(ax: Axes, dyad: pd.DataFrame, signals: Sequence[tuple[str, str, str]]) -> None:
    t = dyad["t"].to_numpy(dtype=float) if len(dyad) else np.zeros(0)
    for name, label, colour in signals:
        if name not in dyad:
            continue
        v = dyad[name].to_numpy(dtype=float)
        if name == "mutual_gaze":
            ax.fill_between(t, 0, np.nan_to_num(v), color=colour, alpha=0.3, lw=0, label=label)
        else:
            ax.plot(t, v, color=colour, lw=1.1, label=label)
    ax.set_ylim(-0.03, 1.03)
    ax.set_yticks([0, 0.5, 1])
    ax.axhline(0.5, color="0.8", lw=0.6, ls=":", zorder=0)


def _coding_rug(
    ax: Axes, labels: pd.DataFrame, signals: Sequence[tuple[str, str, str]], step: float
) -> None:
    """Labelled "yes" stretches as thin bars above the curves, unknown stretches hatched."""
    t = labels["t"].to_numpy(dtype=float)
    shown = [s for s in signals if s[0] in labels and labels[s[0]].notna().any()]
    for i, (name, _label, colour) in enumerate(shown):
        v = labels[name].to_numpy(dtype=float)
        y = 1.08 + 0.09 * i
        ax.broken_barh(
            _runs(t, np.nan_to_num(v, nan=0.0) >= 0.5, step), (y, 0.06), color=colour, lw=0
        )
        ax.broken_barh(
            _runs(t, np.isnan(v), step),
            (y, 0.06),
            facecolor="none",
            edgecolor="0.75",
            hatch="////",
            lw=0,
        )
    if shown:
        ax.set_ylim(-0.03, 1.1 + 0.09 * len(shown))
        ax.broken_barh([], (0, 0), color="0.55", label="coded yes (bars above)")
        ax.broken_barh(
            [],
            (0, 0),
            facecolor="none",
            edgecolor="0.6",
            hatch="////",
            label="coder could not tell",
        )


def _speech(ax: Axes, speech: SpeechTrack, scores: WindowScores) -> None:
    seg = speech.segments
    rows = {"parent": (2, PARENT), "child": (1, CHILD), "other": (0, OTHER)}
    if len(seg):
        roles = speaker_roles(seg)
        for role, (y, colour) in rows.items():
            mask = roles == role if role != "other" else ~np.isin(roles, ["parent", "child"])
            part = seg[mask]
            bars = [
                (float(a), float(b) - float(a))
                for a, b in zip(part["start"], part["end"], strict=True)
            ]
            ax.broken_barh(bars, (y - 0.35, 0.7), color=colour, lw=0)
    events = scores.windows.timeline.events
    if len(events):
        onset = events["onset_t"].to_numpy(dtype=float)
        answered = events["answered"].to_numpy(dtype=bool)
        ax.scatter(
            onset[answered],
            np.full(answered.sum(), 1.55),
            marker="v",
            s=22,
            color="#238b45",
            zorder=3,
            label="child initiative, answered",
        )
        ax.scatter(
            onset[~answered],
            np.full((~answered).sum(), 1.55),
            marker="v",
            s=22,
            facecolor="white",
            edgecolor="#cb181d",
            zorder=3,
            label="child initiative, unanswered",
        )
        resp = events["response_t"].to_numpy(dtype=float)
        for a, b in zip(onset[answered], resp[answered], strict=True):
            if np.isfinite(b):
                ax.annotate(
                    "",
                    xy=(b, 2.45),
                    xytext=(a, 1.6),
                    arrowprops={"arrowstyle": "->", "color": "#238b45", "lw": 0.8},
                )
    ax.set_ylim(-0.6, 2.7)
    ax.set_yticks([2, 1, 0])
    ax.set_yticklabels(["parent", "child", "other"], fontsize=8)


def _components(ax: Axes, scores: WindowScores) -> None:
    table = scores.table
    if len(table) == 0:
        ax.text(0.5, 0.5, "no windows", transform=ax.transAxes, ha="center", color="0.5")
        return
    centre = 0.5 * (table["start"].to_numpy(dtype=float) + table["end"].to_numpy(dtype=float))
    for name in COMPONENTS:
        if name not in table:
            continue
        weight = scores.weights.get(name)
        label = f"{name.replace('_', ' ')} (w={weight:g})" if weight else f"{name} (off)"
        ax.plot(
            centre,
            table[name].to_numpy(dtype=float),
            color=COMPONENT_COLOURS[name],
            lw=1.0,
            alpha=0.85 if weight else 0.35,
            ls="-" if weight else "--",
            label=label,
        )
    ax.plot(
        centre,
        table["score"].to_numpy(dtype=float),
        color="black",
        lw=2.0,
        label=f"score ({scores.combine})",
    )
    ax.set_ylim(-0.03, 1.12)
    ax.set_yticks([0, 0.5, 1])


def _moments(
    axes: Sequence[Axes], moments: Sequence[Moment], *, numbered: Axes, lo: float, hi: float
) -> None:
    for m in moments:
        if m.segment.end <= lo or m.segment.start >= hi:
            continue
        for a in axes:
            a.axvspan(m.segment.start, m.segment.end, color=MOMENT, alpha=0.28, lw=0, zorder=0)
        middle = min(max(m.segment.middle, lo), hi)
        numbered.text(
            middle,
            1.0,
            str(m.rank),
            transform=numbered.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=8,
            fontweight="bold",
            bbox={"boxstyle": "circle,pad=0.15", "fc": MOMENT, "ec": "0.3", "lw": 0.6},
        )


def _coded_moments(ax: Axes, moments: Sequence[Any]) -> None:
    shades = {1: "#c6dbef", 2: "#6baed6", 3: "#08519c"}
    for m in moments:
        ax.broken_barh(
            [(m.segment.start, m.segment.duration)],
            (0.15, 0.7),
            color=shades.get(int(m.strength), "#6baed6"),
            lw=0,
        )
        ax.text(
            m.segment.middle,
            0.5,
            str(m.strength),
            ha="center",
            va="center",
            fontsize=7,
            color="white" if m.strength >= 2 else "0.2",
        )
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_ylabel("coded\nmoments", rotation=0, ha="right", va="center", fontsize=8)


def timeline_figure(
    frames: FrameFeatures,
    speech: SpeechTrack,
    *,
    scores: WindowScores,
    moments: Sequence[Moment] = (),
    labels: Any = None,
    ax: Axes | None = None,
    start: float | None = None,
    end: float | None = None,
    title: str | None = None,
) -> Figure:
    """The figure of :func:`vigcv.api.plot_timeline` (see there)."""
    duration = max(scores.windows.timeline.duration, 1e-3)
    lo = 0.0 if start is None else float(start)
    hi = duration if end is None else float(end)
    if ax is not None:
        _components(ax, scores)
        _moments([ax], moments, numbered=ax, lo=lo, hi=hi)
        ax.set_xlim(lo, hi)
        ax.xaxis.set_major_formatter(FuncFormatter(format_clock))
        ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1), fontsize=7, frameon=False)
        fig = ax.get_figure()
        assert isinstance(fig, Figure)
        return fig

    label_frames, coded, step = _labels_frame(labels, duration=duration)
    heights = [1.5, 1.1, 0.9, 1.8] + ([0.35] if coded else [])
    fig = Figure(figsize=(13, 1.9 * sum(heights) / 1.4 + 0.8), layout="constrained")
    axes = fig.subplots(len(heights), 1, sharex=True, gridspec_kw={"height_ratios": heights})
    gaze, smile, talk, comp = axes[:4]
    _curves(gaze, frames.dyad, GAZE_SIGNALS)
    _curves(smile, frames.dyad, SMILE_SIGNALS)
    if label_frames is not None and len(label_frames):
        _coding_rug(gaze, label_frames, GAZE_SIGNALS, step)
        _coding_rug(smile, label_frames, SMILE_SIGNALS, step)
    _speech(talk, speech, scores)
    _components(comp, scores)
    if coded:
        _coded_moments(axes[4], coded)
    _moments(list(axes), moments, numbered=gaze, lo=lo, hi=hi)
    for a, name in zip(axes[:4], ("gaze", "smiles", "speech", "components"), strict=True):
        a.set_ylabel(name, fontsize=9)
        a.tick_params(labelsize=8)
        a.spines[["top", "right"]].set_visible(False)
        handles, texts = a.get_legend_handles_labels()
        if handles:
            a.legend(
                handles,
                texts,
                loc="upper left",
                bbox_to_anchor=(1.005, 1),
                fontsize=7,
                frameon=False,
            )
    axes[-1].set_xlim(lo, hi)
    axes[-1].xaxis.set_major_formatter(FuncFormatter(format_clock))
    axes[-1].set_xlabel("time in the recording (min:s)", fontsize=9)
    if title is None:
        title = f"{len(moments)} moments" if moments else "session timeline"
    fig.suptitle(title, fontsize=11, x=0.01, ha="left")
    return fig


def frames_figure(
    images: Sequence[tuple[str, np.ndarray]], *, columns: int = 3, width: float = 13.0
) -> Figure:
    """A grid of video frames with captions.

    Parameters
    ----------
    images : sequence of (caption, ndarray of shape (h, w, 3) uint8 RGB)
    columns : int
        Frames per row.
    width : float
        Figure width in inches.
    """
    n = max(len(images), 1)
    cols = min(columns, n)
    rows = (n + cols - 1) // cols
    h, w = images[0][1].shape[:2] if images else (3, 4)
    fig = Figure(figsize=(width, width / cols * h / w * rows + 0.3 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for a in axes:
        a.axis("off")
    for a, (caption, rgb) in zip(axes, images, strict=False):
        a.imshow(rgb)
        a.set_title(caption, fontsize=9)
    return fig


def reliability_figure(
    panels: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]],
    *,
    bins: int = 10,
    width: float = 10.0,
) -> Figure:
    """Reliability diagrams: per panel (a signal), per group (a family, "ALL"), the share of
    frames coded yes against the probability said, one point per probability bin (its area the
    number of frames), with the diagonal a calibrated probability lies on and each group's
    expected calibration error in the legend.

    Parameters
    ----------
    panels : dict of str to dict of str to (probabilities, codes)
        Panel title -> group name -> two arrays of one length (probability 0..1 or NaN, code
        0/1 or NaN; pairs with a NaN are left out).
    bins : int
        Equal-width probability bins.
    width : float
        Figure width in inches.
    """
    n = max(len(panels), 1)
    fig = Figure(figsize=(width, width / n + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n)).ravel()
    colours = [BOTH, PARENT, CHILD, OTHER, "#1f78b4"]
    for ax, (title, groups) in zip(axes, panels.items(), strict=False):
        ax.plot([0, 1], [0, 1], color=OTHER, lw=1, ls="--", label="calibrated")
        for colour, (name, (p, y)) in zip(colours, groups.items(), strict=False):
            table = reliability_bins(p, y, bins=bins)
            if table.empty:
                continue
            ece = expected_calibration_error(p, y, bins=bins)
            size = 300.0 * table["n"] / max(int(table["n"].sum()), 1)
            ax.plot(table["mean_p"], table["rate"], color=colour, lw=1)
            ax.scatter(
                table["mean_p"],
                table["rate"],
                s=np.maximum(size, 6.0),
                color=colour,
                label=f"{name} (ECE {ece:.3f}, {int(table['n'].sum())} frames)",
            )
        ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", title=title)
        ax.set_xlabel("probability said")
        ax.set_ylabel("share coded yes")
        ax.legend(fontsize=7, loc="upper left")
    return fig
