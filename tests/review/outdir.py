"""Builders of small OUT folders in exactly the formats `vigcv run` writes, around a real video.

The video is a few seconds of two real public-domain face photos (scikit-image's astronaut and
matplotlib's Grace Hopper) side by side, panning slowly, with a tone as audio (so thumbnails,
clips and the player show real pictures and sound), encoded with PyAV as H.264/AAC.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd

COMPONENTS = ("mutual_gaze", "contingency", "shared_affect", "turn_taking", "proximity")


def _faces(height: int) -> tuple[np.ndarray, np.ndarray]:
    import matplotlib.cbook
    import skimage.data

    astro = skimage.data.astronaut()
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        data = np.frombuffer(fh.read(), dtype=np.uint8)
    hopper = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    side = height
    return cv2.resize(hopper, (side, side)), cv2.resize(astro, (side, side))


def write_video(path: Path, *, seconds: float = 12.0, fps: int = 15, size=(320, 192)) -> Path:
    """A short H.264/AAC mp4 with two real faces and a 440 Hz tone."""
    w, h = size
    left, right = _faces(h - 32)
    rate = 16000
    with av.open(str(path), mode="w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.options = {"preset": "ultrafast", "crf": "30"}
        a = out.add_stream("aac", rate=rate)
        a.layout = "mono"
        n = int(seconds * fps)
        for i in range(n):
            img = np.full((h, w, 3), 235, np.uint8)
            shift = int(6 * np.sin(i / fps))
            img[16 : 16 + left.shape[0], 8 + shift : 8 + shift + left.shape[1]] = left
            x = w - 8 - right.shape[1] - shift
            img[16 : 16 + right.shape[0], x : x + right.shape[1]] = right
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
        t = np.arange(int(seconds * rate)) / rate
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for _k, i in enumerate(range(0, tone.size, 1024)):
            block = tone[None, i : i + 1024].copy()
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="mono")
            frame.sample_rate = rate
            frame.pts, frame.time_base = i, Fraction(1, rate)
            for p in a.encode(frame):
                out.mux(p)
        for p in a.encode(None):
            out.mux(p)
    return path


MOMENTS = [
    # rank, start, end, score, reasons
    (1, 1.0, 4.0, 0.82, ["They look at each other for 2 s.", "They smile together."]),
    (2, 5.0, 8.0, 0.64, ["The parent answers the child's sound within a second."]),
    (3, 8.5, 11.5, 0.41, ["They take turns: 3 exchanges."]),
]


def moments_doc(session: str, moments=MOMENTS, shift: float = 0.0) -> dict:
    out = []
    for rank, start, end, score, reasons in moments:
        comps = {c: round(score * (0.5 + 0.1 * k), 4) for k, c in enumerate(COMPONENTS)}
        out.append(
            {
                "rank": rank,
                "start": start + shift,
                "end": end + shift,
                "score": score,
                "components": comps,
                "principles": ["being attentive", "shared enjoyment"][: rank % 2 + 1],
                "reasons": reasons,
            }
        )
    return {"session": session, "config_hash": "test", "moments": out}


def write_session(out: Path, name: str, video: Path, *, seconds: float = 12.0) -> Path:
    """OUT/<name>/ with run.json, moments.json, windows.parquet, timeline.csv, speech.csv."""
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    run = {
        "session": name,
        "status": "ok",
        "input": str(video.resolve()),
        "media": {"duration_s": seconds, "has_video": True, "has_audio": True},
        "warnings": [],
        "roles_swapped": False,
    }
    (folder / "run.json").write_text(json.dumps(run, indent=2))
    (folder / "moments.json").write_text(json.dumps(moments_doc(name), indent=2))
    starts = np.arange(0.0, seconds - 2.0 + 1e-9, 0.5)
    rows = {"start": starts, "end": starts + 2.0}
    mid = starts + 1.0
    for k, c in enumerate(COMPONENTS):
        rows[c] = np.clip(0.5 + 0.45 * np.sin(mid / (1.5 + k)), 0, 1)
    rows["score"] = np.mean([rows[c] for c in COMPONENTS], axis=0)
    pd.DataFrame(rows).to_parquet(folder / "windows.parquet", index=False)
    t = np.arange(0.0, seconds, 0.1)
    gaze = (np.sin(t) > 0).astype(float)
    timeline = pd.DataFrame(
        {
            "t": t,
            "parent_visible": 1.0,
            "child_visible": 1.0,
            "parent_looks_at_child": gaze,
            "child_looks_at_parent": gaze,
            "mutual_gaze": gaze,
            "parent_smile": (np.cos(t / 2) > 0.3).astype(float),
            "child_smile": (np.cos(t / 3) > 0.5).astype(float),
            "head_distance": 2.0,
            "parent_speaking": 0.0,
            "child_speaking": 0.0,
        }
    )
    timeline.to_csv(folder / "timeline.csv", index=False)
    speech = pd.DataFrame(
        {
            "start": [0.5, 2.4, 5.0, 7.1, 9.0],
            "end": [2.0, 3.4, 6.5, 8.0, 10.2],
            "speaker": ["parent", "child", "parent", "child", "parent"],
            "confidence": [0.9, 0.7, 0.8, 0.6, 0.9],
        }
    )
    speech.to_csv(folder / "speech.csv", index=False)
    return folder


def make_out(root: Path, *, sessions=("family-a", "family-b")) -> Path:
    """An OUT folder with processed sessions sharing one short real video (outside OUT)."""
    media = root / "media"
    media.mkdir(parents=True, exist_ok=True)
    video = write_video(media / "play.mp4")
    out = root / "out"
    for name in sessions:
        write_session(out, name, video)
    return out


def write_processed_session(out: Path, name: str, video: Path, *, seconds: float = 12.0) -> Path:
    """OUT/<name>/ as `vigcv run` leaves it, from hand-made features in its extraction cache.

    The cache holds FrameFeatures (parent left, child right, known gaze/smile/mouth curves) and a
    SpeechTrack; the real :func:`vigcv.pipeline.rescore` then writes every output file, so a role
    swap on the review page runs the real re-derivation.
    """
    from vigcv.cache import cache_dir, extraction_key, file_sha256
    from vigcv.config import load_config
    from vigcv.io import store
    from vigcv.pipeline import rescore
    from vigcv.types import PERSON_COLUMNS, FrameFeatures, SpeechTrack

    config = load_config()
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    sha = file_sha256(video)
    fps = 10.0
    t = np.arange(0.0, seconds, 1.0 / fps)
    talk_parent = ((t % 4.0) < 1.5).astype(float)
    talk_child = (((t + 2.0) % 4.0) < 1.0).astype(float)
    gaze = (np.sin(t * 0.9) > -0.2).astype(float)
    rows = []
    for role, person, x, mouth, smile in (
        ("parent", 0, 20.0, talk_parent, (np.cos(t / 2) > 0.0).astype(float)),
        ("child", 1, 180.0, talk_child, (np.cos(t / 2.5) > 0.2).astype(float)),
    ):
        for i, ti in enumerate(t):
            rows.append(
                {
                    "t": ti, "person": person, "role": role, "visible": 1.0,
                    "x": x, "y": 30.0, "w": 100.0, "h": 120.0,
                    "yaw": 30.0 if role == "parent" else -30.0, "pitch": 0.0, "roll": 0.0,
                    "gaze_x": 1.0 if role == "parent" else -1.0, "gaze_y": 0.0, "gaze_z": 0.0,
                    "looks_at_other": gaze[i], "smile": smile[i],
                    "mouth_open": 0.05 + 0.5 * mouth[i] * (0.5 + 0.5 * np.sin(ti * 12)),
                }
            )  # fmt: skip
    table = pd.DataFrame(rows, columns=list(PERSON_COLUMNS))
    dyad = pd.DataFrame(
        {
            "t": t,
            "parent_visible": 1.0,
            "child_visible": 1.0,
            "parent_looks_at_child": gaze,
            "child_looks_at_parent": gaze,
            "mutual_gaze": gaze,
            "parent_smile": table[table.role == "parent"]["smile"].to_numpy(),
            "child_smile": table[table.role == "child"]["smile"].to_numpy(),
            "head_distance": 1.6,
        }
    )
    frames = FrameFeatures(table, dyad, fps, sha, 320, 192, {"source": "test builder"})
    vt = np.arange(0.016, seconds, 0.032)
    vad = np.clip(np.interp(vt, t, np.maximum(talk_parent, talk_child)) * 0.9 + 0.05, 0.0, 1.0)
    segs = []
    for who, talk, pitch, guess in (
        ("A", talk_parent, 210.0, "adult"),
        ("B", talk_child, 380.0, "child"),
    ):
        edges = np.diff(np.concatenate([[0], talk.astype(int), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            segs.append(
                {
                    "start": t[a], "end": t[b - 1] + 0.1, "speaker": who, "confidence": 0.9,
                    "cluster": who, "pitch_hz": pitch, "role_guess": guess,
                }
            )  # fmt: skip
    segments = pd.DataFrame(segs).sort_values("start").reset_index(drop=True)
    turns = pd.DataFrame(
        {
            c: pd.Series(dtype=object)
            for c in ("time", "from", "to", "latency_s", "kind", "contingent")
        }
    )
    speech = SpeechTrack(vt, vad, segments, turns, {"source": "test builder"})
    cache = cache_dir(folder, sha256=sha, config=config)
    for sub, value, save in (
        ("vision", frames, store.save_frames),
        ("audio", speech, store.save_speech),
    ):
        (cache / sub).mkdir(parents=True, exist_ok=True)
        save(cache / sub, value)
        (cache / sub / "COMPLETE").write_text("ok\n")
    stat = video.stat()
    run = {
        "session": name,
        "status": "ok",
        "input": str(video.resolve()),
        "input_sha256": sha,
        "input_size": stat.st_size,
        "input_mtime_ns": stat.st_mtime_ns,
        "media": {"duration_s": seconds, "has_video": True, "has_audio": True},
        "extraction_key": extraction_key(config),
        "parent_side": None,
        "roles_swapped": False,
        "warnings": [],
    }
    (folder / "run.json").write_text(json.dumps(run, indent=2))
    rescore(folder, config=config)
    return folder
