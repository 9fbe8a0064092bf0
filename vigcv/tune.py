"""Learn the component weights from the guider's decisions and/or human coding.

Every window of every session becomes an example when the evidence says something about it:

- **decisions** (``OUT/reviews.sqlite``): a window whose centre lies inside an accepted moment
  (its trimmed bounds where trimmed) is a positive, inside a rejected moment a negative;
- **human coding** (``--labels DIR``): a window that hits a labelled moment of strength >= 2
  (>= 1 s overlap or its centre inside) is a positive, one that hits no labelled moment a
  negative (windows touching only weak moments are left out). Decisions win where both speak.

The weights ``w >= 0`` of the components are learned by **pairwise ranking**: within each session,
every (positive, negative) pair should score ``x_pos . w > x_neg . w``; the loss is the mean of
``log(1 + exp(-(x_pos - x_neg) . w))`` plus ``l2 * |w|^2``, minimised with L-BFGS-B under the
bounds ``w >= 0`` (scipy). ``x`` are the window's component scores (0..1, unseen = 0). Only the
direction of ``w`` matters to a weighted mean, so the result is scaled to a largest weight of 1.

**Cross-validation**: leave one session out when two or more sessions have examples, else k
contiguous time blocks of the one session (training windows that straddle the held-out block are
dropped). Each held-out part is scored with weights learned without it; the stitched out-of-fold
scores of a session are then ranked as usual (:func:`vigcv.scoring.select_moments`) and
precision@k (gain >= 2, the rule of ``docs/labels.md``) and nDCG@5 are measured against
the held-out truth: the labelled moments, or the accepted decisions (as strength 2) when there is
no coding. "Before" is the same with the config's own weights.

**Separation** (:func:`separation`): per session, the AUC of each component's window scores for
the positive against the negative windows, printed beside the weights so that a researcher sees
why a weight went to zero (on the two development sessions, answering each other ranks the
coders' moments below chance: 0.46 and 0.43).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from vigcv import results
from vigcv.config import Config, default_config, load_config, section_values
from vigcv.errors import VigcvError
from vigcv.evaluation.moments import LabelledMoment, hit_matrix, moment_gains, ndcg_at_k
from vigcv.evaluation.moments import precision_at_k as _precision_at_k
from vigcv.io import store
from vigcv.results.decisions import DB_NAME, ReviewStore
from vigcv.scoring import COMPONENTS, Windows, WindowScores, compute_windows, score_windows
from vigcv.scoring import select_moments as _select
from vigcv.types import Segment


def tune_settings(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``[tune]`` section of ``config``; a key it lacks (every key, for None) comes from
    ``configs/default.toml``, where each is described."""
    return section_values(config, "tune", default_config()["tune"])


class TuneError(VigcvError):
    """Too little to learn from, or nothing to tune."""


@dataclass(frozen=True)
class SessionExamples:
    """The windows of one session with what the evidence says about them.

    Attributes
    ----------
    session : str
    windows : Windows
        All windows of the session (computed with the tuning config).
    values : ndarray, shape (n_windows, len(COMPONENTS))
        Component scores 0..1 (unseen = 0).
    target : ndarray of int, shape (n_windows,)
        1 positive, 0 negative, -1 no evidence.
    truth : tuple of LabelledMoment
        What a held-out ranking is measured against (labelled moments, or accepted decisions as
        strength 2).
    """

    session: str
    windows: Windows
    values: np.ndarray
    target: np.ndarray
    truth: tuple[LabelledMoment, ...]


def component_values(windows: Windows) -> np.ndarray:
    """``(n_windows, len(COMPONENTS))`` component scores, NaN and absent components as 0."""
    table = windows.table
    cols = [
        np.nan_to_num(table[c].to_numpy(dtype=float), nan=0.0)
        if c in table
        else np.zeros(len(table))
        for c in COMPONENTS
    ]
    return (
        np.clip(np.column_stack(cols), 0.0, 1.0) if len(table) else np.zeros((0, len(COMPONENTS)))
    )


def label_targets(windows: Windows, moments: Sequence[LabelledMoment]) -> np.ndarray:
    """1 for windows hitting a labelled moment of strength >= 2, 0 for windows hitting none,
    -1 for windows hitting only weaker ones."""
    n = len(windows.table)
    if n == 0:
        return np.zeros(0, dtype=int)
    segs = [
        Segment(float(a), float(b))
        for a, b in zip(windows.table["start"], windows.table["end"], strict=True)
    ]
    target = np.zeros(n, dtype=int)
    if not moments:
        return target
    hits = hit_matrix(segs, list(moments))
    strong = np.array([m.strength >= 2 for m in moments])
    target[hits.any(axis=1)] = -1
    target[hits[:, strong].any(axis=1)] = 1
    return target


def decision_targets(
    windows: Windows, decisions: Sequence[tuple[float, float, bool]]
) -> np.ndarray:
    """1 / 0 for windows whose centre lies in an accepted / rejected moment ``(start, end,
    accepted)``, -1 elsewhere."""
    t = windows.table
    centre = 0.5 * (t["start"].to_numpy(dtype=float) + t["end"].to_numpy(dtype=float))
    target = np.full(len(t), -1, dtype=int)
    for start, end, accepted in decisions:
        target[(centre >= start) & (centre <= end)] = 1 if accepted else 0
    return target


def read_decisions(out: Path) -> dict[str, list[tuple[float, float, bool]]]:
    """Accepted / rejected decisions of ``OUT/reviews.sqlite`` by session:
    ``(start, end, accepted)`` in seconds (trimmed bounds where trimmed). Empty without a file."""
    path = Path(out) / DB_NAME
    if not path.is_file():
        return {}

    with ReviewStore(path) as db:
        decisions = db.decisions()
    out_map: dict[str, list[tuple[float, float, bool]]] = {}
    for d in decisions:
        if d.status not in ("accepted", "rejected"):
            continue
        start, end = d.bounds()
        out_map.setdefault(d.session, []).append((float(start), float(end), d.status == "accepted"))
    return out_map


# -- learning -------------------------------------------------------------------------------------


def _pairs(
    parts: Sequence[tuple[np.ndarray, np.ndarray]], *, rng: np.random.Generator, limit: int
) -> np.ndarray:
    """Differences ``x_pos - x_neg`` of (positive, negative) pairs within each part."""
    diffs = []
    for values, target in parts:
        pos, neg = values[target == 1], values[target == 0]
        if len(pos) and len(neg):
            diffs.append((pos[:, None, :] - neg[None, :, :]).reshape(-1, values.shape[1]))
    if not diffs:
        return np.zeros((0, len(COMPONENTS)))
    d = np.concatenate(diffs)
    if len(d) > limit:
        d = d[rng.choice(len(d), limit, replace=False)]
    return d


def fit_weights(
    parts: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    l2: float | None = None,
    start: np.ndarray | None = None,
    seed: int = 0,
    max_pairs: int | None = None,
) -> np.ndarray:
    """Non-negative component weights from pairwise ranking (see the module docstring).

    Parameters
    ----------
    parts : sequence of (values, target)
        Per session (pairs are formed within a part only): ``values`` of shape
        ``(n_windows, n_components)`` and ``target`` of shape ``(n_windows,)`` (1 / 0 / -1).
    l2 : float, optional
        Weight of the ``|w|^2`` penalty (default ``[tune] l2``).
    start : ndarray, shape (n_components,), optional
        Starting weights (default all 1).
    max_pairs : int, optional
        Most pairs used, a seeded random sample beyond (default ``[tune] max_pairs``).

    Returns
    -------
    ndarray, shape (n_components,)
        Weights >= 0 with the largest 1 (all 1 when there are no pairs).
    """
    defaults = tune_settings() if l2 is None or max_pairs is None else {}
    ridge = float(defaults["l2"] if l2 is None else l2)
    limit = int(defaults["max_pairs"] if max_pairs is None else max_pairs)
    n_comp = parts[0][0].shape[1] if parts else len(COMPONENTS)
    d = _pairs(parts, rng=np.random.default_rng(seed), limit=limit)
    if len(d) == 0:
        return np.ones(n_comp)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        margin = d @ w
        value = float(np.mean(np.logaddexp(0.0, -margin)) + ridge * w @ w)
        sig = 0.5 * (1.0 - np.tanh(0.5 * margin))  # sigmoid(-margin), overflow-free
        grad = -(sig[:, None] * d).mean(axis=0) + 2.0 * ridge * w
        return value, grad

    w0 = np.ones(n_comp) if start is None else np.maximum(np.asarray(start, dtype=float), 0.0)
    res = minimize(loss, w0, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * n_comp)
    w = np.maximum(res.x, 0.0)
    return w / w.max() if w.max() > 0 else np.ones(n_comp)


def separation(examples: Sequence[SessionExamples]) -> pd.DataFrame:
    """How well each component alone ranks each session's examples: the AUC of its window
    scores for positive against negative windows (0.5 is chance, below it the component ranks
    them the wrong way; NaN where a session lacks one kind). Rows: sessions; columns:
    :data:`COMPONENTS`. It says why a weight was learned high or zero."""
    from sklearn.metrics import roc_auc_score

    rows = {}
    for e in examples:
        known = e.target >= 0
        y = e.target[known]
        rows[e.session] = {
            c: float(roc_auc_score(y, e.values[known, j])) if len(set(y)) == 2 else math.nan
            for j, c in enumerate(COMPONENTS)
        }
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(COMPONENTS))


# -- cross-validation -----------------------------------------------------------------------------


def _weights_dict(w: np.ndarray) -> dict[str, float]:
    return {name: round(float(v), 3) for name, v in zip(COMPONENTS, w, strict=True)}


def _scored(windows: Windows, weights: Mapping[str, float], config: Config) -> WindowScores:
    return score_windows(windows, weights=weights, config=config)


def _rank(ex: SessionExamples, table: pd.DataFrame, config: Config, k: int) -> dict[str, float]:
    base = _scored(ex.windows, config["scoring"]["weights"], config)
    stitched = WindowScores(
        windows=ex.windows,
        table=table,
        weights=base.weights,
        combine=base.combine,
        config_hash=base.config_hash,
    )
    cfg = copy.deepcopy(config)
    cfg["selection"]["top_k"] = max(int(cfg["selection"]["top_k"]), k, 5)
    moments = _select(stitched, None, None, config=cfg)  # type: ignore[arg-type]
    gains = moment_gains([m.segment for m in moments], list(ex.truth))
    return {
        "precision": _precision_at_k(gains, k=k),
        "ndcg_at_5": ndcg_at_k(gains, [m.strength for m in ex.truth], k=5),
    }


def _folds(examples: Sequence[SessionExamples], *, blocks: int) -> tuple[str, list[np.ndarray]]:
    """Fold id of every window of every session, and the method's name."""
    usable = [i for i, e in enumerate(examples) if (e.target >= 0).any() and e.truth]
    if len(usable) >= 2:
        ids = [np.full(len(e.target), i if i in usable else -1) for i, e in enumerate(examples)]
        return f"leave-one-session-out ({len(usable)} sessions)", ids
    ids = []
    for i, e in enumerate(examples):
        t = e.windows.table
        if i not in usable or len(t) == 0:
            ids.append(np.full(len(t), -1))
            continue
        centre = 0.5 * (t["start"].to_numpy(dtype=float) + t["end"].to_numpy(dtype=float))
        edges = np.linspace(centre.min(), centre.max() + 1e-9, blocks + 1)
        ids.append(np.clip(np.searchsorted(edges, centre, side="right") - 1, 0, blocks - 1))
    return f"{blocks}-fold over time blocks (1 session)", ids


@dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` learned and how it did.

    Attributes
    ----------
    weights_before, weights_after : dict
        Component -> weight: the config's, and learned from all examples (largest 1).
    folds : DataFrame
        One row per evaluated session: ``session``, ``precision_before``, ``precision_after``,
        ``ndcg_before``, ``ndcg_after``.
    k : int
        The k of precision@k.
    method : str
        How it was cross-validated.
    positives, negatives : int
        Example windows.
    source : str
        What the examples came from.
    fold_weights : list of dict
        The weights each cross-validation fold learned.
    separation : DataFrame
        Per session, how well each component alone ranks its examples (AUC;
        :func:`separation`).
    """

    weights_before: dict[str, float]
    weights_after: dict[str, float]
    folds: pd.DataFrame
    k: int
    method: str
    positives: int
    negatives: int
    source: str
    fold_weights: list[dict[str, float]] = field(default_factory=list)
    separation: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> dict[str, float]:
        """Mean precision@k and nDCG@5 before and after over the evaluated sessions."""
        f = self.folds
        return {
            c: float(f[c].mean()) if len(f) else math.nan
            for c in ("precision_before", "precision_after", "ndcg_before", "ndcg_after")
        }


def cross_validate(
    examples: Sequence[SessionExamples],
    *,
    config: Config,
    k: int = 3,
    seed: int = 0,
) -> tuple[pd.DataFrame, str, list[dict[str, float]]]:
    """Out-of-fold precision@k and nDCG@5 before and after, per session with truth (settings
    from the ``[tune]`` section of ``config``)."""
    settings = tune_settings(config)
    method, fold_ids = _folds(examples, blocks=int(settings["time_blocks"]))
    start = np.array([float(config["scoring"]["weights"].get(c, 0.0)) for c in COMPONENTS])
    folds = sorted({int(f) for ids in fold_ids for f in ids if f >= 0})
    half = float(config["scoring"]["window_s"])
    tables = [e.windows.table.copy() for e in examples]
    for tab in tables:
        tab["score"] = np.nan
    learned = []
    for f in folds:
        parts = []
        for e, ids in zip(examples, fold_ids, strict=True):
            train = (ids != f) & (e.target >= 0)
            if (ids == f).any() and not method.startswith("leave"):
                t = e.windows.table
                held = t[ids == f]
                lo, hi = float(held["start"].min()), float(held["end"].max())
                straddle = (t["end"].to_numpy() > lo - half) & (t["start"].to_numpy() < hi + half)
                train &= ~straddle
            parts.append((e.values[train], e.target[train]))
        w = fit_weights(
            parts,
            l2=float(settings["l2"]),
            start=start,
            seed=seed,
            max_pairs=int(settings["max_pairs"]),
        )
        weights = _weights_dict(w)
        learned.append(weights)
        for e, ids, tab in zip(examples, fold_ids, tables, strict=True):
            rows = ids == f
            if rows.any():
                scored = _scored(e.windows, weights, config).table["score"].to_numpy()
                tab.loc[rows, "score"] = scored[rows]
    records = []
    for e, ids, tab in zip(examples, fold_ids, tables, strict=True):
        if not e.truth or not (ids >= 0).any():
            continue
        tab["score"] = tab["score"].fillna(0.0)
        before_tab = _scored(e.windows, config["scoring"]["weights"], config).table
        before = _rank(e, before_tab, config, k)
        after = _rank(e, tab, config, k)
        records.append(
            {
                "session": e.session,
                "precision_before": before["precision"],
                "precision_after": after["precision"],
                "ndcg_before": before["ndcg_at_5"],
                "ndcg_after": after["ndcg_at_5"],
            }
        )
    columns = ["session", "precision_before", "precision_after", "ndcg_before", "ndcg_after"]
    return pd.DataFrame(records, columns=columns), method, learned


def check_enough(
    *,
    decisions: Mapping[str, Sequence[tuple[float, float, bool]]],
    labelled: int,
    negatives: int,
    use_labels: bool,
    settings: Mapping[str, Any] | None = None,
    where: str = DB_NAME,
) -> None:
    """Raise :class:`TuneError` (one line, saying how many are needed) when there is too little
    (minimum counts from ``settings``, the ``[tune]`` section; default :func:`tune_settings`)."""
    settings = tune_settings() if settings is None else settings
    min_dec, per_class = int(settings["min_decisions"]), int(settings["min_per_class"])
    min_lab, min_neg = int(settings["min_labelled"]), int(settings["min_negative_windows"])
    flat = [d for ds in decisions.values() for d in ds]
    accepted = sum(1 for d in flat if d[2])
    rejected = len(flat) - accepted
    enough_decisions = len(flat) >= min_dec and accepted >= per_class and rejected >= per_class
    enough_labels = use_labels and labelled >= min_lab and negatives >= min_neg
    if enough_decisions or enough_labels:
        return
    if use_labels:
        raise TuneError(
            f"too few examples to learn from: {labelled} labelled moments of strength >= 2 "
            f"(need {min_lab}) and {len(flat)} decisions ({accepted} accepted, {rejected} "
            f"rejected; need {min_dec} with {per_class} of each)"
        )
    raise TuneError(
        f"too few decisions to learn from: {len(flat)} in {where} ({accepted} accepted, "
        f"{rejected} rejected); need at least {min_dec} with {per_class} of each "
        "(review more moments, or pass --labels DIR)"
    )


def gather(
    out: str | Path,
    *,
    config: Config,
    labels: str | Path | None = None,
    use_reviews: bool = True,
) -> tuple[list[SessionExamples], dict[str, list[tuple[float, float, bool]]], int]:
    """Load every session of ``out`` and turn the evidence into examples.

    Returns
    -------
    examples : list of SessionExamples
        Sessions with at least one example window.
    decisions : dict
        The decisions used, by session.
    labelled : int
        Labelled moments of strength >= 2 in the matched coding.
    """
    from vigcv.evaluation.coding import read_coding, sessions_with_coding
    from vigcv.pipeline import load

    out = Path(out)
    dirs = {results.session_name(d): d for d in results.session_dirs(out)}
    if not dirs:
        raise TuneError(f"{out}: no processed sessions (no */run.json); run `vigcv run` first")
    decisions = read_decisions(out) if use_reviews else {}
    decisions = {s: d for s, d in decisions.items() if s in dirs}
    codings: dict[str, Path] = {}
    if labels is not None:
        codings, _ = sessions_with_coding(dirs, labels)
    examples = []
    labelled = 0
    for name, folder in sorted(dirs.items()):
        if name not in decisions and name not in codings:
            continue
        frames, speech = load(folder, config=config)
        windows = compute_windows(frames, speech, config=config)
        target = np.full(len(windows.table), -1, dtype=int)
        truth: tuple[LabelledMoment, ...] = ()
        if name in codings:
            run = results.read_run(folder)
            duration = float(run.get("media", {}).get("duration_s", 0.0)) or None
            coding = read_coding(codings[name], duration=duration)
            target = label_targets(windows, coding.moments)
            truth = coding.moments
            labelled += sum(1 for m in coding.moments if m.strength >= 2)
        if name in decisions:
            from_decisions = decision_targets(windows, decisions[name])
            target = np.where(from_decisions >= 0, from_decisions, target)
            if not truth:
                truth = tuple(
                    LabelledMoment(Segment(a, b), 2, name) for a, b, ok in decisions[name] if ok
                )
        if (target >= 0).any():
            examples.append(
                SessionExamples(name, windows, component_values(windows), target, truth)
            )
    return examples, decisions, labelled


def tune(
    out: str | Path,
    *,
    labels: str | Path | None = None,
    use_reviews: bool = True,
    config: Config | None = None,
    k: int = 3,
    seed: int = 0,
) -> TuneResult:
    """Learn component weights for the sessions of ``out`` (see the module docstring).

    Parameters
    ----------
    out : str or Path
        The OUT folder of ``vigcv run`` (decisions in ``OUT/reviews.sqlite``).
    labels : str or Path, optional
        Folder of ``.json`` / ``.eaf`` coding files matched to sessions by name.
    use_reviews : bool
        Learn from the decisions in ``OUT/reviews.sqlite``.
    config : dict, optional
        The config to start from (its windows, selection and weights = "before"); its
        ``[tune]`` section gives the minimum counts, the ridge penalty and the time blocks.
    k : int
        The k of precision@k.
    seed : int
        Seed of the pair sampling.

    Returns
    -------
    TuneResult

    Raises
    ------
    TuneError
        When there are too few decisions / labels (the message says how many are needed).
    """
    config = copy.deepcopy(config) if config is not None else load_config()
    if labels is None and not use_reviews:
        raise TuneError("nothing to learn from: give --labels DIR or allow the review decisions")
    examples, decisions, labelled = gather(
        out, config=config, labels=labels, use_reviews=use_reviews
    )
    positives = int(sum((e.target == 1).sum() for e in examples))
    negatives = int(sum((e.target == 0).sum() for e in examples))
    db = Path(out) / DB_NAME
    check_enough(
        decisions=decisions,
        labelled=labelled,
        negatives=negatives,
        use_labels=labels is not None,
        settings=tune_settings(config),
        where=str(db) if db.is_file() else f"{db} (no such file)",
    )
    if positives == 0 or negatives == 0:
        raise TuneError(
            f"the examples are all of one kind ({positives} positive, {negatives} negative "
            "windows); nothing to rank"
        )
    start = np.array([float(config["scoring"]["weights"].get(c, 0.0)) for c in COMPONENTS])
    settings = tune_settings(config)
    w = fit_weights(
        [(e.values, e.target) for e in examples],
        l2=float(settings["l2"]),
        start=start,
        seed=seed,
        max_pairs=int(settings["max_pairs"]),
    )
    folds, method, learned = cross_validate(examples, config=config, k=k, seed=seed)
    n_dec = sum(len(v) for v in decisions.values())
    parts = []
    if n_dec:
        parts.append(f"{n_dec} review decisions")
    if labels is not None:
        parts.append(f"{labelled} labelled moments of strength >= 2 in {labels}")
    return TuneResult(
        weights_before={c: float(config["scoring"]["weights"].get(c, 0.0)) for c in COMPONENTS},
        weights_after=_weights_dict(w),
        folds=folds,
        k=k,
        method=method,
        positives=positives,
        negatives=negatives,
        source=" and ".join(parts),
        fold_weights=learned,
        separation=separation(examples),
    )


def tuned_toml(result: TuneResult) -> str:
    """The text of a config file holding the learned ``[scoring.weights]`` (with a comment saying
    where they came from and how they did)."""
    s = result.summary()
    lines = [
        f"# Component weights learned by `vigcv tune` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"# from {result.source} ({result.positives} positive and {result.negatives} negative "
        "windows).",
        f"# Cross-validated ({result.method}): precision@{result.k} "
        f"{s['precision_before']:.2f} -> {s['precision_after']:.2f}, "
        f"nDCG@5 {s['ndcg_before']:.2f} -> {s['ndcg_after']:.2f}.",
        "# Use with: vigcv score OUT --config THIS_FILE",
        "",
        "[scoring.weights]",
        "# Relative weight of each component in the combined score (largest = 1).",
    ]
    lines += [f"{name} = {value:.3f}" for name, value in result.weights_after.items()]
    return "\n".join(lines) + "\n"


def write_tuned(result: TuneResult, path: str | Path) -> Path:
    """Write :func:`tuned_toml` to ``path`` atomically and check that it loads as a config."""
    path = Path(path)
    store.write_text(path, tuned_toml(result))
    load_config(path)
    return path
