"""Speed of the synthetic-session generator: real-time factor per script and per-stage costs.

Usage: .venv/bin/python scripts/bench_synth.py [--scripts textbook,mixed] [--seed 0]

Prints a table: seconds of video, seconds taken, and speed as a multiple of real time (>= 1 means
faster than real time), plus milliseconds per head render and per full frame (render + encode).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from vigcv.synth import generate_session, shipped_script
from vigcv.synth.facemesh import fit_face
from vigcv.synth.render import HeadPose, render_head


def _render_ms(repeats: int = 200) -> dict[str, float]:
    out = {}
    for role, model, size in (
        ("parent head", fit_face("grace_hopper"), 110.0),
        ("child head", fit_face("astronaut", child=True), 72.0),
    ):
        rng = np.random.default_rng(0)
        start = time.perf_counter()
        for _ in range(repeats):
            yaw, pitch = rng.uniform(-45, 45), rng.uniform(-20, 20)
            pose = HeadPose(cx=200, cy=200, size=size, yaw=yaw, pitch=pitch, smile=0.5)
            render_head(model, pose)
        out[role] = 1000 * (time.perf_counter() - start) / repeats
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scripts", default="textbook,mixed")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    fit_face("grace_hopper")
    fit_face("astronaut", child=True)  # fitting (once per process) is not counted below
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.scripts.split(","):
            start = time.perf_counter()
            result = generate_session(
                Path(tmp) / f"{name}.mp4", script=shipped_script(name), seed=args.seed
            )
            took = time.perf_counter() - start
            frames = round(result.duration * 25)
            rows.append((name, result.duration, took, result.duration / took, 1000 * took / frames))
    print(f"{'script':<16}{'video s':>9}{'took s':>9}{'x real time':>13}{'ms/frame':>10}")
    for name, dur, took, speed, ms in rows:
        print(f"{name:<16}{dur:>9.1f}{took:>9.1f}{speed:>13.2f}{ms:>10.1f}")
    print()
    for what, ms in _render_ms().items():
        print(f"{what:<16} render {ms:6.2f} ms (640x480 session, random pose within +-45 deg)")


if __name__ == "__main__":
    main()
