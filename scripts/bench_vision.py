"""Benchmark the vision stage on the real parent-child clips of ../shared/eval.

For each clip: decode-only time, vision time (extract_vision; wall clock, and CPU time of both
threads), both-faces-present rate where the labels say both are visible, parent on the side
clips.csv gives, identity swaps, and frame-level precision / recall / F1 of the gaze and smile
signals (README rule), per family and overall, beside the F1 of answering "yes" everywhere.

Usage: python scripts/bench_vision.py [--clips SUBSTR ...] [--save DIR]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vigcv.config import load_config
from vigcv.evaluation import FRAME_SIGNALS, frame_scores, read_labels, values_at
from vigcv.io import iter_frames, probe
from vigcv.vision import extract_vision

ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "parent-child"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clips", nargs="*", default=[], help="only clips whose name contains one of these"
    )
    parser.add_argument(
        "--save", type=Path, default=None, help="write each clip's dyad/table parquet here"
    )
    args = parser.parse_args()
    config = load_config()
    meta = {row["file"]: row for row in csv.DictReader((ROOT / "clips.csv").open())}
    clips = sorted(ROOT.glob("*.mp4"))
    if args.clips:
        clips = [c for c in clips if any(s in c.name for s in args.clips)]
    per_clip, counts = [], []
    for clip in clips:
        info = probe(clip)
        dec = decode_seconds(clip, config)
        start, cpu_start = time.perf_counter(), time.process_time()
        features = extract_vision(clip, config=config, info=info)
        vis, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        labels = read_labels(ROOT / "labels" / (clip.stem + ".json"))
        family = clip.name.split(".")[0]
        dyad = features.dyad
        both_lab = (labels["parent_visible"] == 1) & (labels["child_visible"] == 1)
        tl = labels["t"].to_numpy()[both_lab.to_numpy()]
        pv = values_at(dyad, tl, "parent_visible", tolerance_s=0.25)
        cv = values_at(dyad, tl, "child_visible", tolerance_s=0.25)
        present = np.nan_to_num(pv) >= 0.5
        present &= np.nan_to_num(cv) >= 0.5
        par, chi = features.person("parent"), features.person("child")
        pcx = (par["x"] + 0.5 * par["w"]).to_numpy() if len(par) else np.full(len(dyad), np.nan)
        ccx = (chi["x"] + 0.5 * chi["w"]).to_numpy() if len(chi) else np.full(len(dyad), np.nan)
        swaps, wrong = side_swaps(dyad["t"].to_numpy(), pcx, ccx)
        side = meta[clip.name]["parent_side"].lower()
        wrong_share = wrong if side == "left" else 1.0 - wrong
        scores = frame_scores(dyad, labels)
        scores["family"] = family
        counts.append(scores.reset_index())
        per_clip.append(
            {
                "clip": clip.name[:38],
                "family": family,
                "duration": info.duration,
                "decode_s": dec,
                "vision_s": vis,
                "vision_cpu_s": cpu,
                "both_n": int(both_lab.sum()),
                "both_found": int(present.sum()),
                "swaps": swaps,
                "parent_wrong_side": wrong_share,
                "role_conf": features.provenance["roles"]["confidence"],
            }
        )
        found = present.mean() if present.size else float("nan")
        print(
            f"{clip.name[:40]:40s} rtf {vis / info.duration:.3f} decode {dec / info.duration:.3f} "
            f"both {found:.2f} swaps {swaps} wrong-side {wrong_share:.2f}",
            flush=True,
        )
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            dyad.to_parquet(args.save / f"{clip.stem}.dyad.parquet")
            features.table.to_parquet(args.save / f"{clip.stem}.table.parquet")
    clips_df = pd.DataFrame(per_clip)
    all_counts = pd.concat(counts, ignore_index=True)
    pd.set_option("display.width", 200)
    print("\n## Detection, identity and speed")
    groups = [*clips_df.groupby("family"), ("ALL", clips_df)]
    rows = []
    for name, g in groups:
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
                "cpu_rtf_vision": g["vision_cpu_s"].sum() / seconds,
                "rtf_decode": g["decode_s"].sum() / seconds,
            }
        )
    print(pd.DataFrame(rows).round(3).to_string(index=False))
    print("\n## Frame-level scores (threshold 0.5, nearest frame within 0.25 s, nulls skipped)")
    rows = []
    fam_groups = [*all_counts.groupby("family"), ("ALL", all_counts)]
    for name, g in fam_groups:
        for signal in FRAME_SIGNALS:
            s = g[g["signal"] == signal][["tp", "fp", "fn", "tn"]].sum()
            pos = s.tp + s.fn
            rows.append(
                {
                    "family": name,
                    "signal": signal,
                    "n": int(s.sum()),
                    "support": int(pos),
                    "precision": s.tp / max(1, s.tp + s.fp),
                    "recall": s.tp / max(1, pos),
                    "f1": 2 * s.tp / max(1, 2 * s.tp + s.fp + s.fn),
                    "f1_all_yes": 2 * pos / max(1, 2 * pos + s.fp + s.tn),
                }
            )
    print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
