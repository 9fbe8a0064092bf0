"""Benchmark the vision stage on the real parent-child clips of ../shared/eval.

For each clip: decode-only time, vision time (wall clock, and CPU time of all threads: decoding,
onnxruntime, MediaPipe), both-faces-present rate where the labels say both are visible, parent on
the side clips.csv gives, identity swaps, and frame-level precision / recall / F1 of the gaze and
smile signals (README rule), per family and pooled, beside the F1 of answering "yes" everywhere.

The headline is leave-one-family-out (LOFO): every setting in :data:`GRID` that is chosen on data
is chosen on one family (best F1 there) and the other family is scored with it; "pooled" adds up
the two held-out families' counts. That is what an unseen family gets. The figures of the config
as it is stand beside, labelled "in-sample (chosen on the scored clips)": its thresholds were
picked on these very clips. The groups are chosen in order (gaze, then smile, then the
measurement-quality floor given that fold's gaze and smile choices, then the share of a hand
over the eyes that makes a look unknown, :data:`HANDS_GRID`, then the face check of a child's
face, :data:`CHILD_FACE_GRID`; with ``--child-below``, then how far below her own usual look at
her parent a child's look may point, :data:`CHILD_BELOW_GRID`; with ``--wide-face``, then how
much wider than their own usual a looker's face box may be, :data:`WIDE_FACE_GRID`). Each table
also gives the recall on frames both coders marked both faces visible (``recall_vis``).
``--no-lofo`` prints the in-sample table only (fast). ``--ceiling`` adds the other bound: each
signal's best F1 over every decision threshold (0.02 to 0.98), chosen on the very clips it is
scored on, per family and overall, so it shows how far a threshold alone could take a signal.
Smile calibration stands beside the tables: expected calibration error (10 bins) and the share of
coded frames said "on" against the coders' share, held out and in-sample. Last, what F1 does not
see (:func:`unsupported_claims`): on the frames the coders marked "cannot tell" where vigcv found
the face, the share it said "yes" and the share it left unknown. ``--sessions`` scores
the two whole sessions (sessions/*.session.mp4, one per family) instead of the clips. With
``--set smile_model='"relative"'`` each fold fits the person-relative smile model on the other
family (:func:`fit_relative_smile`) instead of sweeping the smile thresholds.
``--scans DIR`` keeps each clip's scan (the expensive model pass) so that later runs only redo
the cheap array stage; speed columns are empty for clips loaded from there.

Usage: python scripts/bench_vision.py [--clips SUBSTR ...] [--save DIR] [--scans DIR]
       [--no-lofo] [--sessions] [--ceiling] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import copy
import csv
import pickle
import resource
import time
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vigcv.config import load_config
from vigcv.evaluation import FRAME_SIGNALS, frame_scores, read_labels, values_at
from vigcv.io import iter_frames, probe
from vigcv.plots import reliability_figure
from vigcv.vision.extract import features_from_scan
from vigcv.vision.scan import ScanResult, scan_video
from vigcv.vision.signals import (
    expected_calibration_error,
    fit_logistic,
    hold,
    person_neutral,
    relative_to_neutral,
    sigmoid,
    smile_design,
)

ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "parent-child"

# Thresholds tuned per family for the leave-one-family-out figures. Each entry is a list of
# settings tried; parent and child values are zipped (each signal depends on its own key only),
# so each list costs one pass over the clips per item.
GRID: dict[str, list[dict[str, Any]]] = {
    "smile": [
        {"smile_threshold": p, "child_smile_threshold": c, "happy_ratio": h}
        for p, c in zip(
            (0.01, 0.02, 0.05, 0.1, 0.2, 0.35),
            (0.001, 0.002, 0.004, 0.008, 0.016, 0.03),
            strict=True,
        )
        for h in (0.3, 0.5, 1.0)
    ],
    "gaze": [
        {
            "head_pose_source": "mesh",
            "looks_at_threshold_mode": "fixed",
            "child_looks_at_threshold_mode": "fixed",
            "looks_at_model": "angle",
            "looks_at_depth": "face_size",
            "looks_at_threshold_deg": a,
            "child_looks_at_threshold_deg": a,
        }
        for a in (60.0, 70.0, 75.0, 80.0, 90.0)
    ]
    + [
        {
            "head_pose_source": source_of_pose,
            "looks_at_model": "towards",
            "looks_at_threshold_mode": "fixed",
            "child_looks_at_threshold_mode": "fixed",
            "looks_towards_deg": p,
            "child_looks_towards_deg": p,
            "eye_source": source,
            "eye_range_deg": eye_range,
            "gaze_target_hold_s": hold,
            "child_gaze_target_hold_s": child_hold,
            "mutual_gaze_combine": combine,
        }
        for source_of_pose in ("mesh_whenet", "mesh")
        for p in (-10.0, 0.0, 10.0, 20.0, 30.0)
        for source, eye_range in (("eye", 30.0), ("iris", 90.0))
        for hold, child_hold in ((0.0, 0.0), (3.0, 0.0), (3.0, 3.0))
        for combine in ("min", "product")
    ],
}
# Measured, not shipped (docs/benchmarks.md, "Full-range head pose"): WHENet's head pose with
# the 3-D angle to the other's head, fixed thresholds or each parent's own split of her angles
# (looks_at_threshold_mode "session"). `--whenet-angle` adds them to the gaze grid.
WHENET_ANGLE_GRID: list[dict[str, Any]] = (
    [  # WHENet's head pose, the 3-D angle, each person's own (isodata) split within bounds
        {
            "head_pose_source": "whenet",
            "looks_at_model": "angle",
            "looks_at_depth": "shared",
            "looks_at_threshold_mode": "session",
            "looks_at_threshold_min_deg": low,
            "looks_at_threshold_max_deg": high,
            "child_looks_at_threshold_mode": child_mode,
            "child_looks_at_threshold_deg": child,
            "gaze_target_hold_s": 3.0,
            "child_gaze_target_hold_s": 0.0,
            "mutual_gaze_combine": combine,
        }
        for low, high in ((40.0, 75.0), (30.0, 80.0), (45.0, 70.0))
        for child_mode, child in (
            ("fixed", 60.0),
            ("fixed", 70.0),
            ("fixed", 75.0),
            ("fixed", 80.0),
            ("session", 75.0),
        )
        for combine in ("min", "product")
    ]
    + [  # WHENet's full-range head pose, the 3-D angle to the other's head at a shared depth
        {
            "looks_at_threshold_mode": "fixed",
            "child_looks_at_threshold_mode": "fixed",
            "head_pose_source": "whenet",
            "looks_at_model": "angle",
            "looks_at_depth": "shared",
            "looks_at_threshold_deg": p,
            "child_looks_at_threshold_deg": c,
            "gaze_target_hold_s": 3.0,
            "child_gaze_target_hold_s": 0.0,
            "mutual_gaze_combine": combine,
        }
        for p in (40.0, 50.0, 60.0, 70.0)
        for c in (50.0, 60.0, 70.0, 80.0)
        for combine in ("min", "product")
    ]
    + [
        {
            "head_pose_source": "whenet",
            "looks_at_model": "towards",
            "looks_at_threshold_mode": "fixed",
            "child_looks_at_threshold_mode": "fixed",
            "looks_towards_deg": p,
            "child_looks_towards_deg": p,
            "gaze_target_hold_s": 3.0,
            "child_gaze_target_hold_s": 0.0,
        }
        for p in (10.0, 20.0, 30.0, 40.0)
    ]
)
# Chosen after gaze and smile, per fold, on the mean F1 of all five signals (they gate both):
# the quality floor, and the face check (face_min, and child_face_min with it: everyone's; the
# shipped 0.4 first, so that a tie keeps it).
QUALITY_GRID: list[dict[str, Any]] = [
    {"face_min": f, "child_face_min": f, **quality}
    for f in (0.4, 0.0, 0.3, 0.5)
    for quality in [{"quality_min": 0.0}]
    + [
        {"quality_min": q, "quality_mesh_floor": m}
        for q in (0.1, 0.2, 0.3, 0.4, 0.5)
        for m in (0.0, 0.3, 0.5, 1.0)
    ]
]
# Chosen last, per fold, on the mean F1 of the three gaze signals (it gates only looks-at): the
# share of a hand's landmarks over the eyes that makes a person's looks unknown (the shipped 0.1
# first, so that a tie keeps it; 1.01 never). The hand models' presence threshold is applied
# when scanning ([vision] hands_presence_threshold) and is not chosen here.
HANDS_GRID: list[dict[str, Any]] = [{"hands_cover_min": c} for c in (0.1, 0.3, 0.5, 1.01)]
# Chosen after that, per fold, on the mean F1 of all five signals: the face check for a child's
# face alone, with the detector's score compared with the person's own at a like head turn
# (face_yaw_window_deg; the shipped 0.6 first, so that a tie keeps it). The same values against
# the person's median over the whole session (face_yaw_window_deg 0) score alike here, but leave a
# child who faces the camera and turns to her parent unknown on the turn (configs/default.toml).
CHILD_FACE_GRID: list[dict[str, Any]] = [
    {"face_yaw_window_deg": 15.0, "child_face_min": c} for c in (0.6, 0.4, 0.5, 0.7, 0.8)
]
# With --child-below, last, per fold, on the mean F1 of the gaze signals: how far below her own
# usual look at her parent a child's look may point and still be at the face
# (child_looks_below_deg; measured, not shipped: the shipped 0, off, first, so that a tie keeps
# it).
CHILD_BELOW_GRID: list[dict[str, Any]] = [
    {"child_looks_below_deg": d} for d in (0.0, 10.0, 15.0, 20.0, 25.0, 30.0)
]
# With --wide-face, last, per fold, on the mean F1 of the gaze signals: how many times wider
# than their own median a looker's face box may be and still look at the other (parent / child;
# looks_wide_face_ratio, child_looks_wide_face_ratio; 0 = off, first, so that a tie keeps it).
WIDE_FACE_GRID: list[dict[str, Any]] = [
    {"looks_wide_face_ratio": p, "child_looks_wide_face_ratio": c}
    for p, c in (
        (0.0, 0.0),
        (0.0, 1.05),
        (0.0, 1.1),
        (0.0, 1.2),
        (0.0, 1.3),
        (1.1, 1.1),
        (1.2, 1.2),
        (1.3, 1.3),
        (1.2, 1.1),
        (1.3, 1.1),
    )
]
SIGNALS_OF = {
    "smile": ("parent_smile", "child_smile"),
    "gaze": ("mutual_gaze", "parent_looks_at_child", "child_looks_at_parent"),
}
VISIBLE = "both_visible"  # the scope of counts on frames coders marked both faces visible


def decode_seconds(path: Path, config: dict) -> float:
    start = time.perf_counter()
    for _ in iter_frames(
        path, fps=config["ingest"]["analysis_fps"], max_side=config["ingest"]["max_side"]
    ):
        pass
    return time.perf_counter() - start


def side_swaps(
    dyad_t: np.ndarray, parent_cx: np.ndarray, child_cx: np.ndarray, min_s: float = 1.0
) -> tuple[int, float]:
    """Switches of which person is on the left that last >= min_s, and the share of frames
    with the parent on the right of the child."""
    both = ~np.isnan(parent_cx) & ~np.isnan(child_cx)
    if not both.any():
        return 0, float("nan")
    left = parent_cx[both] < child_cx[both]
    t = dyad_t[both]
    swaps, state, run_start, run_state = 0, left[0], t[0], left[0]
    for ti, li in zip(t[1:], left[1:], strict=True):
        if li != run_state:
            run_state, run_start = li, ti
        if run_state != state and ti - run_start >= min_s:
            swaps += 1
            state = run_state
    return swaps, float(np.mean(~left))


def scan_clip(clip: Path, config: dict, scans: Path | None) -> tuple[ScanResult, dict[str, float]]:
    """The clip's scan (from ``scans`` when kept there) and its timings (NaN when loaded)."""
    cached = scans / f"{clip.stem}.scan.pkl" if scans else None
    if cached is not None and cached.exists():
        with cached.open("rb") as fh:
            return pickle.load(fh), {"decode_s": np.nan, "vision_s": np.nan, "cpu_s": np.nan}
    dec = decode_seconds(clip, config)
    start, cpu_start = time.perf_counter(), time.process_time()
    scan = scan_video(
        clip,
        fps=float(config["ingest"]["analysis_fps"]),
        max_side=int(config["ingest"]["max_side"]),
        vc=config["vision"],
        total=1,
    )
    timing = {"decode_s": dec, "vision_s": time.perf_counter() - start}
    timing["cpu_s"] = time.process_time() - cpu_start
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with cached.open("wb") as fh:
            pickle.dump(scan, fh)
    return scan, timing


def evaluate(
    scans: dict[str, ScanResult], labels: dict[str, pd.DataFrame], meta: dict, config: dict
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Per-clip detection/identity rows, per-clip signal counts, and the features."""
    rate = float(config["ingest"]["analysis_fps"])
    per_clip, counts, feats = [], [], {}
    for name, scan in scans.items():
        start = time.perf_counter()
        features = features_from_scan(scan, config=config, rate=rate, name=name)
        assemble = time.perf_counter() - start
        lab = labels[name]
        family = name.split(".")[0]
        dyad = features.dyad
        both_lab = ((lab["parent_visible"] == 1) & (lab["child_visible"] == 1)).to_numpy()
        tl = lab["t"].to_numpy()[both_lab]
        pv = values_at(dyad, tl, "parent_visible", tolerance_s=0.25)
        cv = values_at(dyad, tl, "child_visible", tolerance_s=0.25)
        present = (np.nan_to_num(pv) >= 0.5) & (np.nan_to_num(cv) >= 0.5)
        par, chi = features.person("parent"), features.person("child")
        nan = np.full(len(dyad), np.nan)
        pcx = (par["x"] + 0.5 * par["w"]).to_numpy() if len(par) else nan
        ccx = (chi["x"] + 0.5 * chi["w"]).to_numpy() if len(chi) else nan
        swaps, wrong = side_swaps(dyad["t"].to_numpy(), pcx, ccx)
        side = meta[name + ".mp4"]["parent_side"].lower()
        for scope, rows_of in (("all", lab), (VISIBLE, lab[both_lab])):
            scores = frame_scores(dyad, rows_of)
            scores["family"] = family
            scores["clip"] = name
            scores["scope"] = scope
            counts.append(scores.reset_index())
        per_clip.append(
            {
                "clip": name,
                "family": family,
                "both_n": int(both_lab.sum()),
                "both_found": int(present.sum()),
                "swaps": swaps,
                "parent_wrong_side": wrong if side == "left" else 1.0 - wrong,
                "assemble_s": assemble,
            }
        )
        feats[name] = features
    return pd.DataFrame(per_clip), pd.concat(counts, ignore_index=True), feats


# Whose face a signal needs: vigcv has "found" the frame when these are visible there.
NEEDS = {
    "mutual_gaze": ("parent", "child"),
    "parent_looks_at_child": ("parent",),
    "child_looks_at_parent": ("child",),
    "parent_smile": ("parent",),
    "child_smile": ("child",),
}


def unsupported_claims(feats: dict[str, Any], labels: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per family and pooled, per signal: among the labelled frames the coders marked "cannot
    tell" (null) where vigcv found the face(s) the signal needs, the share vigcv said yes and
    the share it left unknown. F1 skips these frames, so it rewards a guess there as much as an
    honest "unknown"; this is where claiming what was not seen shows."""
    rows = []
    for name, features in feats.items():
        lab = labels[name]
        t = lab["t"].to_numpy()
        dyad = features.dyad
        for signal, people in NEEDS.items():
            seen = np.ones(t.size, bool)
            for person in people:
                v = values_at(dyad, t, f"{person}_visible", tolerance_s=0.25)
                seen &= np.nan_to_num(v) >= 0.5
            null = lab[signal].isna().to_numpy() & seen
            said = values_at(dyad, t, signal, tolerance_s=0.25)[null]
            rows.append(
                {
                    "family": name.split(".")[0],
                    "signal": signal,
                    "n": int(null.sum()),
                    "yes": int(np.sum(np.nan_to_num(said) >= 0.5)),
                    "unknown": int(np.sum(np.isnan(said))),
                }
            )
    table = pd.DataFrame(rows)
    out = []
    for family, g in [*table.groupby("family"), ("ALL", table)]:
        for signal, h in g.groupby("signal", sort=False):
            n = int(h["n"].sum())
            out.append(
                {
                    "family": family,
                    "signal": signal,
                    "null_frames_found": n,
                    "said_yes": h["yes"].sum() / max(n, 1),
                    "left_unknown": h["unknown"].sum() / max(n, 1),
                }
            )
    return pd.DataFrame(out)


def _figures(s: pd.Series) -> dict[str, float]:
    pos = s.tp + s.fn
    return {
        "n": int(s.tp + s.fp + s.fn + s.tn),
        "support": int(pos),
        "tp": int(s.tp),
        "fp": int(s.fp),
        "fn": int(s.fn),
        "tn": int(s.tn),
        "precision": s.tp / max(1, s.tp + s.fp),
        "recall": s.tp / max(1, pos),
        "f1": 2 * s.tp / max(1, 2 * s.tp + s.fp + s.fn),
        "f1_all_yes": 2 * pos / max(1, 2 * pos + s.fp + s.tn),
    }


def score_table(counts: pd.DataFrame, signals=FRAME_SIGNALS) -> pd.DataFrame:
    """Precision / recall / F1 per family and pooled ("ALL") from per-clip counts, with the
    recall on frames coders marked both faces visible (``recall_vis``)."""
    rows = []
    cols = ["tp", "fp", "fn", "tn"]
    for name, g in [*counts.groupby("family"), ("ALL", counts)]:
        for signal in signals:
            mine = g[g["signal"] == signal]
            row = {"family": name, "signal": signal}
            row.update(_figures(mine[mine["scope"] == "all"][cols].sum()))
            row["recall_vis"] = _figures(mine[mine["scope"] == VISIBLE][cols].sum())["recall"]
            row["support_vis"] = int(mine[mine["scope"] == VISIBLE][["tp", "fn"]].sum().sum())
            row["tp_vis"] = int(mine[mine["scope"] == VISIBLE]["tp"].sum())
            rows.append(row)
    return pd.DataFrame(rows)


# Person-relative smiles (smile_model = "relative"): how much a person's neutral level leans on
# the training family's (prior frames: 0 = the person alone, inf = no person baseline), chosen per
# fold on the training family's log-loss (both roles); the calibration is fitted there too.
RELATIVE_PRIOR_FRAMES = (0.0, 30.0, 100.0, 300.0, float("inf"))


def _role_cues(feats: dict[str, Any], role: str, vc: dict) -> list[tuple[str, pd.DataFrame]]:
    """Per clip: the role's frames with its two smile cues (NaN where not measured)."""
    out = []
    for name, features in feats.items():
        person = features.person(role)
        out.append((name, person[["t", "smile_score", "happy_score"]].reset_index(drop=True)))
    return out


def _relative_design(
    cues: list[tuple[str, pd.DataFrame]],
    labels: dict[str, pd.DataFrame],
    role: str,
    vc: dict,
    rate: float,
    priors: tuple[float, float],
    prior_frames: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Design matrix (:func:`smile_design`) and coded answers at the label times."""
    hold_frames = round(float(vc["smile_hold_s"] * rate))
    xs, ys = [], []
    for name, frame in cues:
        lab = labels[name]
        truth = lab[f"{role}_smile"].to_numpy(dtype=float)
        keep = ~np.isnan(truth)
        times = lab["t"].to_numpy(dtype=float)[keep]
        rel = []
        for cue, prior, frames in zip(
            ("smile_score", "happy_score"), priors, prior_frames, strict=True
        ):
            values = frame[cue].to_numpy(dtype=float)
            level, k = person_neutral(values, quantile=float(vc["smile_neutral_quantile"]))
            r = relative_to_neutral(values, level, k, prior=prior, prior_frames=frames)
            held = pd.DataFrame({"t": frame["t"], "v": hold(r, hold_frames)})
            rel.append(values_at(held, times, "v", tolerance_s=0.25))
        xs.append(smile_design(rel[0], rel[1]))
        ys.append(truth[keep])
    return np.vstack(xs), np.concatenate(ys)


def fit_relative_smile(
    feats: dict[str, Any], labels: dict[str, pd.DataFrame], config: dict
) -> dict[str, Any]:
    """The relative smile model's settings fitted on these clips: priors (each role's mean
    neutral level), prior weights (:data:`RELATIVE_PRIOR_FRAMES`, least log-loss over both roles)
    and each role's logistic calibration."""
    vc = config["vision"]
    rate = float(config["ingest"]["analysis_fps"])
    best: tuple[float, dict[str, Any]] | None = None
    per_role = {role: _role_cues(feats, role, vc) for role in ("parent", "child")}
    priors = {}
    for role, cues in per_role.items():
        levels = [
            [person_neutral(f[c].to_numpy(float), quantile=float(vc["smile_neutral_quantile"]))[0]
             for _, f in cues]
            for c in ("smile_score", "happy_score")
        ]  # fmt: skip
        priors[role] = tuple(float(np.nanmean(v)) for v in levels)
    for ms in RELATIVE_PRIOR_FRAMES:
        for mh in RELATIVE_PRIOR_FRAMES:
            loss, settings = (
                0.0,
                {"smile_neutral_prior_frames": ms, "happy_neutral_prior_frames": mh},
            )
            for role, cues in per_role.items():
                prefix = "child_" if role == "child" else ""
                x, y = _relative_design(cues, labels, role, vc, rate, priors[role], (ms, mh))
                coef = fit_logistic(x, y)
                p = np.clip(sigmoid(np.hstack([x, np.ones((len(x), 1))]) @ coef), 1e-6, 1 - 1e-6)
                loss += float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
                settings[f"{prefix}smile_calibration"] = [round(float(c), 4) for c in coef]
                settings[f"{prefix}smile_prior_neutral"] = round(priors[role][0], 4)
                settings[f"{prefix}happy_prior_neutral"] = round(priors[role][1], 4)
            if best is None or loss < best[0]:
                best = (loss, settings)
    assert best is not None
    return best[1]


def smile_pairs(
    feats: dict[str, Any], labels: dict[str, pd.DataFrame]
) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Per smile signal, per family and pooled ("ALL"): the probability said at each coded
    frame (nearest analysed frame within 0.25 s; NaN: none) and the code, non-null codes only."""
    out: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for signal in ("parent_smile", "child_smile"):
        parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        for name, features in feats.items():
            lab = labels[name]
            truth = lab[signal].to_numpy(dtype=float)
            keep = ~np.isnan(truth)
            v = values_at(
                features.dyad, lab["t"].to_numpy(dtype=float)[keep], signal, tolerance_s=0.25
            )
            for fam in (name.split(".")[0], "ALL"):
                parts.setdefault(fam, []).append((v, truth[keep]))
        out[signal] = {
            fam: (np.concatenate([a for a, _ in pv]), np.concatenate([b for _, b in pv]))
            for fam, pv in sorted(parts.items(), key=lambda kv: kv[0] == "ALL")
        }
    return out


def smile_calibration(pairs: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]) -> pd.DataFrame:
    """Per family and pooled, per smile signal (:func:`smile_pairs`): expected calibration error
    (10 bins, frames with a probability), the share of coded frames said "on" (>= 0.5; none
    counts as off) against the coders' share, and the share with a probability."""
    rows = []
    for signal, groups in pairs.items():
        for fam, (v, y) in groups.items():
            rows.append(
                {
                    "family": fam,
                    "signal": signal,
                    "ece": expected_calibration_error(v, y),
                    "said_on": float(np.mean(np.nan_to_num(v, nan=0.0) >= 0.5)),
                    "coded_on": float(np.mean(y >= 0.5)),
                    "with_p": float(np.mean(~np.isnan(v))),
                }
            )
    return pd.DataFrame(rows)


def write_reliability(
    pairs: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]], path: Path, what: str
) -> None:
    """Reliability diagrams of the smile probabilities (:func:`vigcv.plots.reliability_figure`)
    as a PNG at ``path``."""
    panels = {f"{signal.replace('_', ' ')}, {what}": g for signal, g in pairs.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    reliability_figure(panels).savefig(path, dpi=110)
    print(f"reliability diagram: {path}")


def _with(config: dict, settings: dict[str, Any]) -> dict:
    out = copy.deepcopy(config)
    out["vision"].update(settings)
    return out


def leave_one_family_out(
    scans: dict[str, ScanResult],
    labels: dict[str, pd.DataFrame],
    meta: dict,
    config: dict,
    *,
    quality: bool = True,
    child_below: bool = False,
    wide_face: bool = False,
) -> pd.DataFrame:
    """Per held-out family: each signal scored with the :data:`GRID` settings best on the other
    family; "ALL" pools the held-out families' counts (each scored with its own fold's choice).

    Gaze and smile settings are swept once (the rest of the config as it is) and chosen per
    fold; then, per fold, the measurement-quality floor (:data:`QUALITY_GRID`, unless
    ``quality`` is false) is chosen on the same training family with that fold's gaze and smile
    settings, on the mean F1 of all five signals, then the hand-over-the-eyes share
    (:data:`HANDS_GRID`) on the mean F1 of the three gaze signals, then the face check of a
    child's face (:data:`CHILD_FACE_GRID`) on the mean F1 of all five, and, with
    ``child_below``, how far below her usual look a child's look may point
    (:data:`CHILD_BELOW_GRID`) on the gaze signals, and, with ``wide_face``, how much wider
    than usual a looker's face may be (:data:`WIDE_FACE_GRID`) on the gaze signals.
    """
    relative = config["vision"].get("smile_model", "baseline") == "relative"
    trials = []  # (group, settings, per-family score table)
    base_feats: dict[str, Any] = {}
    if relative:
        _, _, base_feats = evaluate(scans, labels, meta, config)
    for group, options in GRID.items():
        if relative and group == "smile":
            continue
        for settings in options:
            _, counts, _ = evaluate(scans, labels, meta, _with(config, settings))
            trials.append((group, settings, score_table(counts, SIGNALS_OF[group])))
    families = sorted({n.split(".")[0] for n in scans})
    rows = []
    held_feats: dict[str, Any] = {}  # each clip's features as its held-out fold scored it
    for held in families:
        train = [f for f in families if f != held]
        chosen: dict[str, Any] = {}
        if relative:
            train_feats = {k: v for k, v in base_feats.items() if k.split(".")[0] in train}
            chosen.update(fit_relative_smile(train_feats, labels, config))
        for group, signals in SIGNALS_OF.items():
            if relative and group == "smile":
                continue
            mine = [t for t in trials if t[0] == group]
            # One setting per group for the gaze model (its three signals share it); smiles are
            # picked per signal (their keys are separate).
            pick_sets = [signals] if group == "gaze" else [(s,) for s in signals]
            for chosen_for in pick_sets:

                def train_f1(trial, chosen_for=chosen_for, train=train):
                    t = trial[2]
                    sel = t[t["family"].isin(train) & t["signal"].isin(chosen_for)]
                    return float(sel["f1"].mean())

                best = max(mine, key=train_f1)
                if chosen_for == ("child_smile",):
                    # Its own threshold only: happy_ratio is shared, the parent's choice sets it.
                    chosen["child_smile_threshold"] = best[1]["child_smile_threshold"]
                elif chosen_for == ("parent_smile",):
                    chosen.update({k: v for k, v in best[1].items() if not k.startswith("child_")})
                else:
                    chosen.update(best[1])
        fold = dict(chosen)

        def pick(options, base, signals=FRAME_SIGNALS, train=train):
            """The option of ``options`` (on top of ``base``) best on the training family's mean
            F1 over ``signals``, with its score table and features."""
            trials = []
            for option in options:
                _, counts, feats = evaluate(scans, labels, meta, _with(config, {**base, **option}))
                t = score_table(counts)
                sel = t[t["family"].isin(train) & t["signal"].isin(signals)]
                trials.append((float(sel["f1"].mean()), option, t, feats))
            _, option, t, feats = max(trials, key=lambda trial: trial[0])
            return option, t, feats

        q, table, fold_feats = pick(QUALITY_GRID if quality else [{}], fold)
        h, table, fold_feats = pick(HANDS_GRID, {**fold, **q}, SIGNALS_OF["gaze"])
        q = {**q, **h}
        if quality:
            c, table, fold_feats = pick(CHILD_FACE_GRID, {**fold, **q})
            q = {**q, **c}
        if child_below:
            b, table, fold_feats = pick(CHILD_BELOW_GRID, {**fold, **q}, SIGNALS_OF["gaze"])
            q = {**q, **b}
        if wide_face:
            w, table, fold_feats = pick(WIDE_FACE_GRID, {**fold, **q}, SIGNALS_OF["gaze"])
            q = {**q, **w}
        held_feats.update({k: v for k, v in fold_feats.items() if k.split(".")[0] == held})
        setting = ", ".join(f"{k}={v}" for k, v in {**fold, **q}.items())
        for signal in FRAME_SIGNALS:
            row = table[(table["family"] == held) & (table["signal"] == signal)].iloc[0].to_dict()
            row["tuned_on"] = ",".join(train)
            row["setting"] = setting
            rows.append(row)
    out = pd.DataFrame(rows)
    pooled = []
    for signal in FRAME_SIGNALS:
        mine = out[out["signal"] == signal]
        row = {"family": "ALL", "signal": signal}
        row.update(_figures(mine[["tp", "fp", "fn", "tn"]].sum()))
        support_vis = int(mine["support_vis"].sum())
        row["recall_vis"] = int(mine["tp_vis"].sum()) / max(1, support_vis)
        row["support_vis"] = support_vis
        row["tp_vis"] = int(mine["tp_vis"].sum())
        row["tuned_on"] = "each fold's other family"
        row["setting"] = ""
        pooled.append(row)
    table = pd.concat([out, pd.DataFrame(pooled)], ignore_index=True)
    table.attrs["calibration_pairs"] = smile_pairs(held_feats, labels)
    table.attrs["calibration"] = smile_calibration(table.attrs["calibration_pairs"])
    return table


def threshold_ceiling(feats: dict[str, Any], labels: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per family and signal: F1 at 0.5 and the best F1 over decision thresholds (in-sample).

    Same rule as :func:`vigcv.evaluation.frame_scores` (nearest frame within 0.25 s, null labels
    skipped, no value counts as no), with each clip's values read once for all thresholds.
    """
    thresholds = np.round(np.arange(0.02, 0.99, 0.02), 2)
    values: dict[tuple[str, str], list[np.ndarray]] = {}
    truths: dict[tuple[str, str], list[np.ndarray]] = {}
    for name, features in feats.items():
        lab = labels[name]
        for family in (name.split(".")[0], "ALL"):
            for signal in FRAME_SIGNALS:
                if signal not in lab:
                    continue
                truth = lab[signal].to_numpy(dtype=float)
                keep = ~np.isnan(truth)
                times = lab["t"].to_numpy(dtype=float)[keep]
                v = values_at(features.dyad, times, signal, tolerance_s=0.25)
                values.setdefault((family, signal), []).append(np.nan_to_num(v, nan=-np.inf))
                truths.setdefault((family, signal), []).append(truth[keep] >= 0.5)
    rows = []
    for (family, signal), parts in values.items():
        said = np.concatenate(parts)[:, None] >= thresholds[None, :]
        yes = np.concatenate(truths[(family, signal)])[:, None]
        tp = (said & yes).sum(0)
        fp = (said & ~yes).sum(0)
        fn = (~said & yes).sum(0)
        f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
        best = int(np.argmax(f1))
        rows.append(
            {
                "family": family,
                "signal": signal,
                "f1_at_0.5": f1[np.flatnonzero(thresholds == 0.5)[0]],
                "best_f1": f1[best],
                "at": thresholds[best],
                "precision": tp[best] / max(tp[best] + fp[best], 1),
                "recall": tp[best] / max(tp[best] + fn[best], 1),
            }
        )
    order = {s: i for i, s in enumerate(FRAME_SIGNALS)}
    table = pd.DataFrame(rows)
    table["_o"] = table["signal"].map(order)
    table["_f"] = table["family"] == "ALL"
    return table.sort_values(["_f", "family", "_o"]).drop(columns=["_o", "_f"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clips", nargs="*", default=[], help="only clips whose name contains one of these"
    )
    parser.add_argument(
        "--save", type=Path, default=None, help="write each clip's dyad/table parquet here"
    )
    parser.add_argument("--scans", type=Path, default=None, help="keep/load scans here")
    parser.add_argument(
        "--no-lofo", action="store_true", help="in-sample figures only (no leave-one-family-out)"
    )
    parser.add_argument("--lofo", action="store_true", help=argparse.SUPPRESS)  # the default now
    parser.add_argument(
        "--no-quality",
        action="store_true",
        help="LOFO without choosing the measurement-quality floor (the config's value stays)",
    )
    parser.add_argument(
        "--sessions",
        action="store_true",
        help="score the whole sessions (sessions/*.session.mp4) instead of the clips",
    )
    parser.add_argument(
        "--ceiling", action="store_true", help="best F1 over thresholds chosen on the clips"
    )
    parser.add_argument(
        "--whenet-angle",
        action="store_true",
        help="add WHENet's 3-D angle models (WHENET_ANGLE_GRID, measured, not shipped) to the "
        "gaze settings the held-out folds choose from",
    )
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="write the smiles' reliability diagrams (held out and in-sample) as PNGs here",
    )
    parser.add_argument(
        "--child-below",
        action="store_true",
        help="let each fold choose how far below her own usual look a child's look may point "
        "(CHILD_BELOW_GRID, child_looks_below_deg; measured, not shipped)",
    )
    parser.add_argument(
        "--wide-face",
        action="store_true",
        help="let each fold choose how much wider than their own median a looker's face box may "
        "be and still look at the other (WIDE_FACE_GRID; measured, not shipped)",
    )
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        help="override config keys ([vision] unless named): detect_every=2 ingest.analysis_fps=5",
    )
    args = parser.parse_args()
    if args.whenet_angle:
        GRID["gaze"] = GRID["gaze"] + WHENET_ANGLE_GRID
    config = load_config()
    for item in args.set:
        key, value = item.split("=", 1)
        section, _, key = key.rpartition(".")
        config[section or "vision"][key] = tomllib.loads(f"v = {value}")["v"]
    meta = {row["file"]: row for row in csv.DictReader((ROOT / "clips.csv").open())}
    clips = sorted(ROOT.glob("*.mp4"))
    label_dir = ROOT / "labels"
    if args.sessions:  # one session per family: both people sit as in its clips
        clips = sorted((ROOT / "sessions").glob("*.session.mp4"))
        label_dir = ROOT / "sessions"
        for clip in clips:
            family = clip.name.split(".")[0]
            sides = {m["parent_side"] for f, m in meta.items() if f.startswith(family + ".")}
            meta[clip.name] = {"parent_side": sides.pop() if len(sides) == 1 else "left"}
    if args.clips:
        clips = [c for c in clips if any(s in c.name for s in args.clips)]
    scans, labels, timing = {}, {}, []
    for clip in clips:
        info = probe(clip)
        scan, t = scan_clip(clip, config, args.scans)
        scans[clip.stem] = scan
        labels[clip.stem] = read_labels(label_dir / (clip.stem + ".json"))
        timing.append({"clip": clip.stem, "duration": info.duration, **t})
        print(
            f"{clip.name[:40]:40s} rtf {t['vision_s'] / info.duration:.3f} "
            f"cpu {t['cpu_s'] / info.duration:.3f} decode {t['decode_s'] / info.duration:.3f}",
            flush=True,
        )
    clips_df, counts, feats = evaluate(scans, labels, meta, config)
    clips_df = clips_df.merge(pd.DataFrame(timing), on="clip")
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for name, features in feats.items():
            features.dyad.to_parquet(args.save / f"{name}.dyad.parquet")
            features.table.to_parquet(args.save / f"{name}.table.parquet")
    pd.set_option("display.width", 200)
    pd.set_option("display.max_colwidth", 120)
    print("\n## Detection, identity and speed")
    rows = []
    for name, g in [*clips_df.groupby("family"), ("ALL", clips_df)]:
        seconds = g["duration"].sum()
        rows.append(
            {
                "family": name,
                "clips": len(g),
                "minutes": seconds / 60,
                "both_present": g["both_found"].sum() / max(1, g["both_n"].sum()),
                "labelled_both": int(g["both_n"].sum()),
                "swaps": int(g["swaps"].sum()),
                "parent_wrong_side": float(
                    (g["parent_wrong_side"] * g["duration"]).sum() / seconds
                ),
                "rtf_vision": g["vision_s"].sum() / seconds,
                "cpu_rtf_vision": g["cpu_s"].sum() / seconds,
                "rtf_decode": g["decode_s"].sum() / seconds,
                "rtf_assemble": g["assemble_s"].sum() / seconds,
            }
        )
    print(pd.DataFrame(rows).round(3).to_string(index=False))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:.0f} MB")
    insample = score_table(counts)
    show = ["family", "signal", "n", "precision", "recall", "f1", "recall_vis", "f1_all_yes"]
    rule = "threshold 0.5, nearest frame within 0.25 s, nulls skipped; recall_vis: on frames coders"
    rule += " marked both faces visible"
    if not args.no_lofo:
        lofo = leave_one_family_out(
            scans,
            labels,
            meta,
            config,
            quality=not args.no_quality,
            child_below=args.child_below,
            wide_face=args.wide_face,
        )
        print(
            "\n## Leave one family out: the headline (settings chosen on the other family; "
            f"ALL pools the two held-out families; {rule})"
        )
        side = insample.set_index(["family", "signal"])[["precision", "recall", "f1"]]
        side.columns = ["in_P", "in_R", "in_F1"]
        table = lofo[show].join(side, on=["family", "signal"])
        print(table.round(3).to_string(index=False))
        print("in_P / in_R / in_F1: in-sample (chosen on the scored clips): the config as it is")
        print(
            "\nsmile calibration, held out: ECE (10 bins, frames with a probability), share said"
            " on (>= 0.5) vs coders' share"
        )
        print(lofo.attrs["calibration"].round(3).to_string(index=False))
        if args.plot:
            what = "held out"
            write_reliability(
                lofo.attrs["calibration_pairs"], args.plot / "smile_reliability_held_out.png", what
            )
        print("\nsettings chosen per fold:")
        for family, setting in (
            lofo[lofo["family"] != "ALL"].groupby("family")["setting"].first().items()
        ):
            print(f"  scoring {family}: {setting}")
    print(f"\n## In-sample (chosen on the scored clips): the config as it is ({rule})")
    print(insample[show].round(3).to_string(index=False))
    print("smile calibration, in-sample:")
    pairs = smile_pairs(feats, labels)
    print(smile_calibration(pairs).round(3).to_string(index=False))
    if args.plot:
        write_reliability(pairs, args.plot / "smile_reliability_in_sample.png", "in-sample")
    print(
        "\nsaid where the coders could not tell (label null) though vigcv found the face(s), "
        "in-sample: share said yes (>= 0.5), share left unknown (F1 does not see these frames)"
    )
    print(unsupported_claims(feats, labels).round(3).to_string(index=False))
    if args.ceiling:
        print(
            "\n## Threshold ceiling (each signal's best decision threshold, chosen on the very "
            "frames it is scored on: an optimistic bound)"
        )
        print(threshold_ceiling(feats, labels).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
