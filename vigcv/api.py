"""The researcher-facing functions: load cached features, score, select, plot, evaluate.

These are the functions the CLI calls, over in-memory tables (no decoding, no models)::

    import vigcv
    frames, speech = vigcv.load("OUT/session1")
    scores = vigcv.score(frames, speech, weights={"mutual_gaze": 2.0, "contingency": 1.0})
    moments = vigcv.select(scores, frames, speech, top_k=5)
    fig = vigcv.plot_timeline(frames, speech, scores=scores, moments=moments)
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from vigcv.clock import clock
from vigcv.config import Config, load_config
from vigcv.errors import ConfigError
from vigcv.pipeline import load, run_session
from vigcv.results import is_session
from vigcv.scoring import WindowScores, compute_windows, score_windows, select_moments
from vigcv.scoring.combine import Combiner
from vigcv.types import FrameFeatures, Moment, SpeechTrack

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def score(
    frames: FrameFeatures,
    speech: SpeechTrack,
    *,
    config: Config | None = None,
    weights: Mapping[str, float] | None = None,
    combine: str | Combiner | None = None,
) -> WindowScores:
    """Score every sliding window of a session.

    Parameters
    ----------
    frames : FrameFeatures
        Vision features (``frames.dyad``: one row per analysed frame, probabilities 0..1).
    speech : SpeechTrack
        Speech segments with speakers attributed and turns found (as :func:`vigcv.load` gives).
    config : dict, optional
        Full config (:func:`vigcv.load_config`); ``[scoring] window_s`` (s) and ``hop_s`` (s)
        set the windows. Default: ``configs/default.toml``.
    weights : dict, optional
        Component name -> weight (>= 0; names of
        :data:`vigcv.scoring.COMPONENTS`); missing names weigh 0. Default: ``[scoring.weights]``.
    combine : str or callable, optional
        ``"weighted_mean"``, ``"geometric"``, ``"max"`` or ``f(values, weights) -> scores`` with
        ``values`` of shape ``(n_windows, n_components)`` and ``weights`` of shape
        ``(n_components,)``. Default: ``[scoring] combine``.

    Returns
    -------
    WindowScores
        ``.table`` has one row per window (``n_windows`` = about session seconds / ``hop_s``):
        ``start``, ``end`` (s), aggregated features, each component (0..1, NaN = not seen) and
        ``score`` (0..1).
    """
    config = config if config is not None else load_config()
    windows = compute_windows(frames, speech, config=config)
    return score_windows(windows, weights=weights, combine=combine, config=config)


def select(
    scores: WindowScores,
    frames: FrameFeatures,
    speech: SpeechTrack,
    *,
    config: Config | None = None,
    top_k: int | None = None,
) -> list[Moment]:
    """The best moments of a scored session, ranked (non-maximum suppression over windows).

    Parameters
    ----------
    scores : WindowScores
        From :func:`score`.
    frames, speech : FrameFeatures, SpeechTrack
        The features the scores were computed from.
    config : dict, optional
        Full config for ``[selection]`` (moment length 3-10 s, gap, ...). Default: the config
        the windows were computed with.
    top_k : int, optional
        How many moments at most (default ``[selection] top_k``).

    Returns
    -------
    list of Moment
        Rank 1 first; each with its ``segment`` (seconds), ``score`` (0..1), component scores,
        VIG principles and plain-English reasons.
    """
    cfg: dict[str, Any] = copy.deepcopy(
        dict(config) if config is not None else scores.windows.config
    )
    if top_k is not None:
        if int(top_k) < 1:
            raise ConfigError(f"top_k must be at least 1, got {top_k}")
        cfg["selection"] = dict(cfg["selection"], top_k=int(top_k))
    return select_moments(scores, frames, speech, config=cfg)


def plot_timeline(
    frames: FrameFeatures,
    speech: SpeechTrack,
    *,
    scores: WindowScores | None = None,
    moments: Sequence[Moment] | None = None,
    labels: Any = None,
    ax: Axes | None = None,
    start: float | None = None,
    end: float | None = None,
    title: str | None = None,
) -> Figure:
    """Plot a session over time: gaze, smiles, speech, every component and the moments.

    Parameters
    ----------
    frames, speech : FrameFeatures, SpeechTrack
        The session's features.
    scores : WindowScores, optional
        Component and total scores per window (default: :func:`score` with the default config).
    moments : sequence of Moment, optional
        Shaded on every panel with their rank numbers.
    labels : Coding, path or DataFrame, optional
        Human coding to overlay: a :class:`vigcv.evaluation.coding.Coding`, a ``.json`` / ``.eaf``
        file, or per-frame labels (``t`` + signals as 1/0/NaN). Labelled "yes" stretches are drawn
        as thin bars above the gaze and smile curves, labelled moments in their own row.
    ax : matplotlib Axes, optional
        Draw only the score panel (components, total, moments) into this Axes.
    start, end : float, optional
        Time range to show, seconds (default: the whole session).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Made without pyplot (no GUI backend needed; ``fig.savefig(path)`` renders with Agg). In a
        notebook it is shown when it is the cell's last value.
    """
    from vigcv.plots import timeline_figure

    if scores is None:
        scores = score(frames, speech)
    return timeline_figure(
        frames,
        speech,
        scores=scores,
        moments=list(moments or []),
        labels=labels,
        ax=ax,
        start=start,
        end=end,
        title=title,
    )


def moments_frame(moments: Sequence[Moment]) -> pd.DataFrame:
    """Moments as a table: ``rank, start, end`` (s), ``score``, components, ``reasons``."""
    rows = []
    for m in sorted(moments, key=lambda m: m.rank):
        row: dict[str, Any] = {
            "rank": m.rank,
            "start": round(m.segment.start, 2),
            "end": round(m.segment.end, 2),
            "score": round(m.score, 3),
        }
        row.update({k: round(v, 3) for k, v in m.components.items()})
        row["reasons"] = " ".join(m.reasons[:2])
        rows.append(row)
    return pd.DataFrame(rows)


def compare_moments(runs: Mapping[str, Sequence[Moment]]) -> pd.DataFrame:
    """Moment lists side by side: one column per named run, one row per rank.

    Each cell is ``"mm:ss-mm:ss (score)"``; a run with fewer moments has empty cells.
    """
    depth = max((len(v) for v in runs.values()), default=0)
    table = {}
    for name, moments in runs.items():
        ordered = sorted(moments, key=lambda m: m.rank)
        cells = [
            f"{clock(m.segment.start)}–{clock(m.segment.end)} ({m.score:.2f})" for m in ordered
        ]
        table[name] = cells + [""] * (depth - len(cells))
    return pd.DataFrame(table, index=pd.RangeIndex(1, depth + 1, name="rank"))


def read_coding(path: str | Path, *, duration: float | None = None) -> Any:
    """Human coding of a session from a JSON label file or an ELAN ``.eaf`` file
    (see :func:`vigcv.evaluation.coding.read_coding`)."""
    from vigcv.evaluation.coding import read_coding as _read

    return _read(path, duration=duration)


def demo_session(out: str | Path, *, name: str = "mixed", seed: int = 0) -> Path:
    """A generated session (:mod:`vigcv.synth`) processed into ``out/<name>``, its coding in
    ``out/labels/<name>.json``; made once, then reused.

    Parameters
    ----------
    out : str or Path
        An OUT folder (created).
    name : str
        A shipped synth script: ``mixed`` (two minutes, the notebooks' default), ``textbook``, ...
    seed : int
        Generator seed.

    Returns
    -------
    Path
        The session folder, ready for :func:`vigcv.load`.
    """
    import shutil

    from vigcv.synth import cached_session

    out = Path(out)
    session_dir, labels = out / name, out / "labels" / f"{name}.json"
    if is_session(session_dir) and labels.is_file():
        return session_dir
    synth = cached_session(name, seed=seed)
    run_session(synth.video, session_dir, session=name)
    labels.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(synth.labels, labels)
    return session_dir


__all__ = [
    "compare_moments",
    "demo_session",
    "load",
    "moments_frame",
    "plot_timeline",
    "read_coding",
    "score",
    "select",
]
