"""Decode-only speed of vigcv's ingest: the floor every pipeline stands on.

Prints, per folder of media, the media duration, the time to decode every frame to RGB at the
analysis rate (and at every frame), the time to decode the audio to 16 kHz mono, and the
real-time factors (processing seconds / media seconds).

    python scripts/bench_ingest.py ../shared/eval/parent-child
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from vigcv.config import load_config
from vigcv.io import MEDIA_EXTENSIONS, iter_frames, load_audio, probe


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument("--fps", type=float, default=None, help="analysis rate (default: config)")
    args = parser.parse_args()
    config = load_config()
    fps = args.fps if args.fps is not None else float(config["ingest"]["analysis_fps"])
    files = sorted(p for p in args.folder.rglob("*") if p.suffix.lower() in MEDIA_EXTENSIONS)
    media_s = sampled_s = all_s = audio_s = 0.0
    n_sampled = n_all = 0
    for path in files:
        info = probe(path)
        media_s += info.duration
        if info.has_video:
            t = time.perf_counter()
            n_sampled += sum(
                1 for _ in iter_frames(path, fps=fps, max_side=config["ingest"]["max_side"])
            )
            sampled_s += time.perf_counter() - t
            t = time.perf_counter()
            n_all += sum(1 for _ in iter_frames(path, fps=0))
            all_s += time.perf_counter() - t
        if info.has_audio:
            t = time.perf_counter()
            load_audio(path)
            audio_s += time.perf_counter() - t
    print(f"{len(files)} files, {media_s:.1f} s of media in {args.folder}")
    print("| what | frames | seconds | real-time factor |")
    print("| --- | ---: | ---: | ---: |")
    rtf = sampled_s / media_s
    print(f"| decode video, RGB at {fps:g} fps | {n_sampled} | {sampled_s:.2f} | {rtf:.4f} |")
    print(f"| decode video, RGB every frame | {n_all} | {all_s:.2f} | {all_s / media_s:.4f} |")
    print(f"| decode audio to 16 kHz mono | - | {audio_s:.2f} | {audio_s / media_s:.4f} |")


if __name__ == "__main__":
    main()
