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
measurement-quality floor given that fold's gaze and smile choices). Each table also gives the
recall on frames both coders marked both faces visible (``recall_vis``). ``--no-lofo`` prints the
in-sample table only (fast). ``--ceiling`` adds the other bound: each
signal's best F1 over every decision threshold (0.02 to 0.98), chosen on the very clips it is
scored on, per family and overall, so it shows how far a threshold alone could take a signal.
``--scans DIR`` keeps each clip's scan (the expensive model pass) so that later runs only redo
the cheap array stage; speed columns are empty for clips loaded from there.

Usage: python scripts/bench_vision.py [--clips SUBSTR ...] [--save DIR] [--scans DIR]
       [--no-lofo] [--ceiling] [--set key=value ...]
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
from vigcv.vision.extract import features_from_scan
from vigcv.vision.scan import ScanResult, scan_video

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
        {"looks_at_model": "angle", "looks_at_threshold_deg": a}
        for a in (60.0, 70.0, 75.0, 80.0, 90.0)
    ]
    + [
        {
            "looks_at_model": "towards",
            "looks_towards_deg": p,
            "child_looks_towards_deg": p,
            "eye_source": source,
            "eye_range_deg": eye_range,
            "gaze_target_hold_s": hold,
            "child_gaze_target_hold_s": child_hold,
            "mutual_gaze_combine": combine,
        }
        for p in (-10.0, 0.0, 10.0, 20.0, 30.0)
        for source, eye_range in (("eye", 30.0), ("iris", 90.0))
        for hold, child_hold in ((0.0, 0.0), (3.0, 0.0), (3.0, 3.0))
        for combine in ("min", "product")
    ],
}
# Chosen after gaze and smile, per fold, on the mean F1 of all five signals (it gates both).
QUALITY_GRID: list[dict[str, Any]] = [{"quality_min": 0.0}] + [
    {"quality_min": q, "quality_mesh_floor": m}
    for q in (0.1, 0.2, 0.3, 0.4, 0.5)
    for m in (0.0, 0.3, 0.5, 1.0)
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
) -> pd.DataFrame:
    """Per held-out family: each signal scored with the :data:`GRID` settings best on the other
    family; "ALL" pools the held-out families' counts (each scored with its own fold's choice).

    Gaze and smile settings are swept once (the rest of the config as it is) and chosen per
    fold; then, per fold, the measurement-quality floor (:data:`QUALITY_GRID`, unless
    ``quality`` is false) is chosen on the same training family with that fold's gaze and smile
    settings, on the mean F1 of all five signals.
    """
    trials = []  # (group, settings, per-family score table)
    for group, options in GRID.items():
        for settings in options:
            _, counts, _ = evaluate(scans, labels, meta, _with(config, settings))
            trials.append((group, settings, score_table(counts, SIGNALS_OF[group])))
    families = sorted({n.split(".")[0] for n in scans})
    rows = []
    for held in families:
        train = [f for f in families if f != held]
        chosen: dict[str, Any] = {}
        for group, signals in SIGNALS_OF.items():
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
        options = QUALITY_GRID if quality else [{}]
        fold_trials = []
        for q in options:
            _, counts, _ = evaluate(scans, labels, meta, _with(config, {**fold, **q}))
            table = score_table(counts)
            train_f1 = float(table[table["family"].isin(train)]["f1"].mean())
            fold_trials.append((train_f1, q, table))
        _, q, table = max(fold_trials, key=lambda t: t[0])
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
    return pd.concat([out, pd.DataFrame(pooled)], ignore_index=True)


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
        "--ceiling", action="store_true", help="best F1 over thresholds chosen on the clips"
    )
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        help="override config keys ([vision] unless named): detect_every=2 ingest.analysis_fps=5",
    )
    args = parser.parse_args()
    config = load_config()
    for item in args.set:
        key, value = item.split("=", 1)
        section, _, key = key.rpartition(".")
        config[section or "vision"][key] = tomllib.loads(f"v = {value}")["v"]
    meta = {row["file"]: row for row in csv.DictReader((ROOT / "clips.csv").open())}
    clips = sorted(ROOT.glob("*.mp4"))
    if args.clips:
        clips = [c for c in clips if any(s in c.name for s in args.clips)]
    scans, labels, timing = {}, {}, []
    for clip in clips:
        info = probe(clip)
        scan, t = scan_clip(clip, config, args.scans)
        scans[clip.stem] = scan
        labels[clip.stem] = read_labels(ROOT / "labels" / (clip.stem + ".json"))
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
        lofo = leave_one_family_out(scans, labels, meta, config, quality=not args.no_quality)
        print(
            "\n## Leave one family out: the headline (settings chosen on the other family; "
            f"ALL pools the two held-out families; {rule})"
        )
        side = insample.set_index(["family", "signal"])[["precision", "recall", "f1"]]
        side.columns = ["in_P", "in_R", "in_F1"]
        table = lofo[show].join(side, on=["family", "signal"])
        print(table.round(3).to_string(index=False))
        print("in_P / in_R / in_F1: in-sample (chosen on the scored clips): the config as it is")
        print("\nsettings chosen per fold:")
        for family, setting in (
            lofo[lofo["family"] != "ALL"].groupby("family")["setting"].first().items()
        ):
            print(f"  scoring {family}: {setting}")
    print(f"\n## In-sample (chosen on the scored clips): the config as it is ({rule})")
    print(insample[show].round(3).to_string(index=False))
    if args.ceiling:
        print(
            "\n## Threshold ceiling (each signal's best decision threshold, chosen on the very "
            "frames it is scored on: an optimistic bound)"
        )
        print(threshold_ceiling(feats, labels).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
