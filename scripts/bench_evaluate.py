"""Benchmark ``vigcv evaluate`` and ``vigcv tune`` on the real dev sessions.

Processes ../shared/eval/parent-child/sessions into OUT once (``vigcv run``; minutes, skipped when
already done), then prints: the evaluation figures pooled over the sessions (frame and event level
per signal, moments beside random 4 s windows), the cross-validated precision@3 / @5 and nDCG@5
before and after ``vigcv tune`` on the coding (leave one session out), and how long evaluating and
tuning take.

    python scripts/bench_evaluate.py                    # OUT = /tmp/vigcv-bench-evaluate
    python scripts/bench_evaluate.py --out /tmp/evalout
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SESSIONS = REPO.parent / "shared" / "eval" / "parent-child" / "sessions"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/vigcv-bench-evaluate"))
    args = parser.parse_args()
    if not SESSIONS.is_dir():
        print(f"{SESSIONS} is not here; nothing to benchmark")
        return 0
    out: Path = args.out
    from vigcv import results

    if not all(results.is_session(out / p.stem) for p in SESSIONS.glob("*.mp4")):
        print(f"processing {SESSIONS} into {out} (vigcv run) ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "vigcv.cli", "run", str(SESSIONS), "--out", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    from vigcv.config import load_config
    from vigcv.evaluation.report import MOMENT_METRICS, evaluate_out
    from vigcv.tune import tune

    started = time.perf_counter()
    ev = evaluate_out(out, SESSIONS)
    eval_s = time.perf_counter() - started
    pooled = ev.pooled or {
        "frame": ev.sessions[0].frame,
        "event": ev.sessions[0].event,
        "moments": ev.sessions[0].moments,
        "random": ev.sessions[0].random,
    }
    names = ", ".join(s.session for s in ev.sessions)
    print(f"\nEvaluation of {names} (pooled)\n")
    print(
        f"{'signal':24s} {'frame P':>8s} {'R':>6s} {'F1':>6s} {'event P':>8s} {'R':>6s} {'F1':>6s}"
    )
    for signal, row in pooled["frame"].iterrows():
        e = pooled["event"].loc[signal]
        print(
            f"{signal:24s} {row['precision']:8.2f} {row['recall']:6.2f} {row['f1']:6.2f} "
            f"{e['precision']:8.2f} {e['recall']:6.2f} {e['f1']:6.2f}"
        )
    print(f"\n{'moments':24s} {'vigcv':>8s} {'random 4 s':>11s}")
    for key in MOMENT_METRICS:
        print(f"{key:24s} {pooled['moments'][key]:8.2f} {pooled['random'][key]:11.2f}")

    config = load_config()
    rows = []
    started = time.perf_counter()
    for k in (3, 5):
        result = tune(out, labels=SESSIONS, use_reviews=False, config=config, k=k)
        rows.append((k, result))
    tune_s = (time.perf_counter() - started) / 2
    print(f"\nvigcv tune on the coding, {rows[0][1].method}")
    print(f"{'':8s} {'before':>8s} {'after':>8s}")
    for k, result in rows:
        s = result.summary()
        print(f"{'P@' + str(k):8s} {s['precision_before']:8.2f} {s['precision_after']:8.2f}")
    s = rows[0][1].summary()
    print(f"{'nDCG@5':8s} {s['ndcg_before']:8.2f} {s['ndcg_after']:8.2f}")
    print(f"learned weights: {rows[0][1].weights_after}")
    print(f"\ntimings: evaluate {eval_s:.2f} s, tune {tune_s:.2f} s (with cross-validation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
