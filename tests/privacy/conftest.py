"""A synthetic session (the shipped ``textbook`` script: a parent and a child) analysed by
`vigcv run` once per test run, and helpers to compare the pictures of two films."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from vigcv.io.media import iter_frames
from vigcv.results import list_sessions


def vigcv(*args: str | Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    cmd = [sys.executable, "-m", "vigcv.cli", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


@dataclass(frozen=True)
class Analysed:
    film: Path
    truth: pd.DataFrame  # per video frame and role: t, role, x, y, w, h (synth truth.csv)
    session: Path  # OUT/<session>


def analyse(script: str, root: Path) -> Analysed:
    """Generate a shipped synthetic script (cached) and run `vigcv run` on it."""
    from vigcv.synth import cached_session

    made = cached_session(script)
    out = root / "out"
    proc = vigcv("run", made.video, "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (name,) = list_sessions(out)
    return Analysed(film=made.video, truth=pd.read_csv(made.truth), session=out / name)


@pytest.fixture(scope="session")
def textbook(tmp_path_factory: pytest.TempPathFactory) -> Analysed:
    """Read-only."""
    return analyse("textbook", tmp_path_factory.mktemp("privacy-textbook"))


def pictures(path: Path) -> dict[float, np.ndarray]:
    """Every decoded picture of a film by its time (ms-rounded)."""
    return {round(f.t, 3): f.rgb for f in iter_frames(path, fps=0)}


def crop(rgb: np.ndarray, x: float, y: float, w: float, h: float) -> np.ndarray:
    x0, y0 = max(0, round(x)), max(0, round(y))
    return rgb[y0 : round(y + h), x0 : round(x + w)]


def sharpness(rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the grey picture: its high-frequency energy."""
    return float(cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


def compare_boxes(truth: pd.DataFrame, original: Path, blurred: Path, plain: Path) -> pd.DataFrame:
    """Per video frame and role: the sharpness of the face's truth box in the blurred film over
    the original's and over a plain re-encode's, and how far (mean absolute grey level) the
    blurred and the plain re-encode are from the original there."""
    a, b, c = pictures(original), pictures(blurred), pictures(plain)
    assert len(a) == len(b) == len(c)
    rows = []
    for row in truth.itertuples(index=False):
        t = round(float(row.t), 3)
        if t not in b:
            continue
        box = (row.x, row.y, row.w, row.h)
        orig, blur, re = (crop(p[t], *box).astype(float) for p in (a, b, c))
        rows.append(
            {
                "t": t,
                "role": row.role,
                "vs_original": sharpness(blur.astype(np.uint8)) / sharpness(orig.astype(np.uint8)),
                "vs_plain": sharpness(blur.astype(np.uint8)) / sharpness(re.astype(np.uint8)),
                "change": float(np.abs(blur - orig).mean()),
                "codec_change": float(np.abs(re - orig).mean()),
            }
        )
    return pd.DataFrame(rows)
