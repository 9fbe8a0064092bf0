"""Hand-made people of session folders (people.csv, people.json with embeddings, thumbnails),
in exactly the format the vision stage writes, through vigcv.results.write_people."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from vigcv.results import FAMILY_FILE, RUN_FILE, write_people

DIM = 128


def face(seed: int) -> np.ndarray:
    """A made-up face descriptor: unrelated seeds are about 1.0 apart (as different people's
    dlib descriptors are)."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=DIM)
    return v / np.linalg.norm(v) * (1.0 / np.sqrt(2.0))


def near(base: np.ndarray, distance: float, seed: int) -> np.ndarray:
    """A descriptor exactly ``distance`` from ``base`` (the same person seen again)."""
    rng = np.random.default_rng(1000 + seed)
    d = rng.normal(size=base.size)
    return base + d / np.linalg.norm(d) * distance


def jpeg(seed: int) -> bytes:
    """A tiny real JPEG (a coloured square with a face-like circle)."""
    rng = np.random.default_rng(seed)
    img = np.full((48, 48, 3), rng.integers(80, 200, size=3), np.uint8)
    cv2.circle(img, (24, 24), 14, (200, 170, 150), -1)
    ok, data = cv2.imencode(".jpg", img)
    assert ok
    return data.tobytes()


def make_session(
    folder: Path,
    people: list[tuple[int, str, str, float, np.ndarray | None]],
) -> Path:
    """A session folder with a run.json and ``people``: (id, role_guess, pair_role, seconds,
    embedding or None) each."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / RUN_FILE).is_file():
        run = {"session": folder.name, "status": "ok", "input": "", "warnings": []}
        (folder / RUN_FILE).write_text(json.dumps(run))
    table = pd.DataFrame(
        [
            {
                "person": pid,
                "role_guess": role,
                "confidence": 0.9,
                "seconds_visible": seconds,
                "pair_role": pair,
                "thumbnail": "",
            }
            for pid, role, pair, seconds, _ in people
        ]
    )
    write_people(
        folder,
        table,
        embeddings={pid: vec for pid, _, _, _, vec in people if vec is not None},
        thumbnails={pid: jpeg(pid) for pid, *_ in people},
    )
    return folder


def make_family(out: Path, family: str, visits: list[str]) -> Path:
    """OUT/<family>/ with a family.json naming ``visits`` (their folders are made by the caller
    with :func:`make_session`)."""
    folder = out / family
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "visits": {
            v: {"date": f"2026-0{k + 1}-10", "source": "file name"} for k, v in enumerate(visits)
        }
    }
    (folder / FAMILY_FILE).write_text(json.dumps(doc))
    return folder


MUM, ELLIE, SAM, DAD = face(1), face(2), face(3), face(4)


def lee_family(out: Path) -> Path:
    """OUT/lee/v1 (Mum 0, Ellie 1, Sam 2) and OUT/lee/v2 (Mum again, 0.2 away: person 5;
    Ellie, 0.52 away: person 6; a visitor never seen before: person 7)."""
    make_family(out, "lee", ["v1", "v2"])
    make_session(
        out / "lee" / "v1",
        [
            (0, "adult", "parent", 20.0, MUM),
            (1, "child", "child", 18.0, ELLIE),
            (2, "child", "", 6.0, SAM),
        ],
    )
    make_session(
        out / "lee" / "v2",
        [
            (5, "adult", "parent", 25.0, near(MUM, 0.2, 5)),
            (6, "child", "child", 22.0, near(ELLIE, 0.52, 6)),
            (7, "adult", "", 4.0, DAD),
        ],
    )
    return out / "lee"
