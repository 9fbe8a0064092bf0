"""The people of a session: adult or child for each, the pair scored by default, who looks at whom.

A session yields its people (identities linked by :mod:`vigcv.vision.track`, kept apart by the
face-identity descriptors of :mod:`vigcv.vision.identity` where they were measured). Each person
gets a role guess from two cues measured relative to the session's people, never from one
absolute face size:

- **face proportions**: the face mesh's ``lower_face`` ratio (eye midpoint to upper lip over the
  distance between the eyes, :class:`vigcv.vision.landmarks.FaceMeasures`): young children's
  eyes are large and wide-set and their lower face short. On the development clips toddlers
  read 0.84-0.95 and their mothers 1.03-1.18 wherever the face mesh measured both a few times.
  A teenager's face can be as large as the parent's; its proportions still differ less, so the
  cue fades with age: a 15-year-old may be guessed "adult", and the guider says otherwise.
- **face size** relative to the session's people (the geometric mean of their faces, each
  weighed by the time it was seen; a child's head is smaller, but distance to the camera
  confounds it, so it counts one unit per ``exp(role_size_scale)``).

The voice is not used: a parent playing with a small child speaks in a high play voice. On the
development sessions the mothers' own speech (segments their moving mouth decided,
:mod:`vigcv.audio.attribution`) has a median pitch of 420 Hz (3dC3SQ, 24 s) and 629 Hz (6c6MZQ,
0.6 s), against their toddlers' 353 and 593 Hz, so pitch would point the wrong way. (Speech is
matched to faces after this step anyway, from the pair that this step chooses.)

The default pair is the most visible adult and the youngest-looking child among the children seen
at least half as long as the child seen most (a picture on the wall or a passer-by, seen
briefly, never becomes "the child" for being small).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vigcv.errors import ConfigError
from vigcv.types import PEOPLE_COLUMNS, empty_people
from vigcv.vision.roles import SIDES, RoleAssignment

ROLE_GUESSES = ("adult", "child", "unknown")
LOWER_FACE_RANGE = (0.5, 2.0)  # lower_face ratios a human face can have (0.84-1.18 seen)


@dataclass(frozen=True)
class RoleGuess:
    """One person's adult/child guess and what it rests on.

    Attributes
    ----------
    person : int
        Identity index.
    role : str
        ``"adult"``, ``"child"`` or ``"unknown"`` (no cue measured).
    confidence : float
        0.5 (a coin toss) .. 1.
    childness : float
        Evidence for "child" in units (> 0 child, < 0 adult): the logit of the guess.
    lower_face : float
        Median ``lower_face`` ratio of the person's measured faces (NaN: none).
    face_measures : int
        How many faces the ratio rests on.
    size_px : float
        Median face size (square root of the box area), pixels.
    seconds_visible : float
        Seconds in which the face was detected.
    """

    person: int
    role: str
    confidence: float
    childness: float
    lower_face: float
    face_measures: int
    size_px: float
    seconds_visible: float


def guess_roles(
    *,
    lower_face: dict[int, np.ndarray],
    size: dict[int, np.ndarray],
    detected: dict[int, np.ndarray],
    fps: float,
    face_split: float,
    face_scale: float,
    face_prior_frames: float,
    size_scale: float,
) -> dict[int, RoleGuess]:
    """Adult or child for every person, from face proportions and relative face size.

    Parameters
    ----------
    lower_face, size, detected : dict of int to ndarray, shape (n_frames,)
        Per person, the ``lower_face`` ratio per frame (NaN where not measured), the face size
        in pixels (NaN where absent) and whether the face was detected (bool or 0/1).
    fps : float
        Analysed frames per second (for ``seconds_visible``).
    face_split, face_scale, face_prior_frames, size_scale : float
        ``[vision] role_*`` settings (see ``configs/default.toml``).
    """
    sizes = {
        k: float(np.nanmedian(v)) if np.any(~np.isnan(v)) else math.nan for k, v in size.items()
    }
    seen = {k: float(np.sum(np.asarray(detected[k], dtype=float) >= 1.0)) for k in size}
    # The reference size: the geometric mean of the people's faces, each weighed by the time it
    # was seen (a face glimpsed briefly, a picture or a false detection, barely moves it).
    known = [k for k in size if math.isfinite(sizes[k]) and sizes[k] > 0 and seen[k] > 0]
    reference = (
        math.exp(sum(seen[k] * math.log(sizes[k]) for k in known) / sum(seen[k] for k in known))
        if len(known) >= 2
        else math.nan
    )
    out = {}
    for k in sorted(size):
        ratios = np.asarray(lower_face.get(k, np.zeros(0)), dtype=float)
        # Outside LOWER_FACE_RANGE the mesh did not fit a face: not a measurement.
        ratios = ratios[(ratios >= LOWER_FACE_RANGE[0]) & (ratios <= LOWER_FACE_RANGE[1])]
        n = int(ratios.size)
        ratio = float(np.median(ratios)) if n else math.nan
        evidence = 0.0
        cues = 0
        if n:
            evidence += (n / (n + face_prior_frames)) * (face_split - ratio) / face_scale
            cues += 1
        if math.isfinite(reference) and math.isfinite(sizes[k]) and sizes[k] > 0:
            evidence += -math.log(sizes[k] / reference) / size_scale
            cues += 1
        p_child = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, evidence))))
        if cues == 0:
            role, confidence = "unknown", 0.5
        else:
            role = "child" if p_child > 0.5 else "adult"
            confidence = max(p_child, 1.0 - p_child)
        seconds = seen[k] / fps if fps > 0 else 0.0
        out[k] = RoleGuess(k, role, confidence, evidence, ratio, n, sizes[k], seconds)
    return out


@dataclass(frozen=True)
class Pair:
    """The pair scored by default: the parent figure and the index child.

    Attributes
    ----------
    parent, child : int
        Identity indices (``-1`` when missing).
    method : str
        ``"role_guess"`` (adult and child guesses), ``"parent_side"`` (the user's side),
        ``"single"`` (one person) or ``"none"``.
    confidence : float
        0.5 .. 1: the smaller of the two people's guess confidences (``parent_side``: 1).
    """

    parent: int
    child: int
    method: str
    confidence: float


def choose_pair(
    guesses: dict[int, RoleGuess],
    *,
    cx: dict[int, np.ndarray] | None = None,
    parent_side: str | None = None,
) -> Pair:
    """The parent figure and the index child among the session's people.

    The parent is the most visible adult guess (or, with ``parent_side``, the person most often
    on that side of the image among the adult guesses); the child the most visible child guess
    among the others. Without an adult (or child) guess the person with the least (or most)
    child evidence stands in, so two people always make a pair.
    """
    if parent_side is not None and parent_side not in SIDES:
        raise ConfigError(f"parent_side must be 'left' or 'right', got {parent_side!r}")
    ids = sorted(guesses)
    if not ids:
        return Pair(-1, -1, "none", 0.5)
    if len(ids) == 1:
        return Pair(ids[0], -1, "single", 0.5)

    def most_visible(candidates: list[int]) -> int:
        return max(candidates, key=lambda k: (guesses[k].seconds_visible, -k))

    adults = [k for k in ids if guesses[k].role == "adult"]
    if parent_side is not None and cx is not None:
        # Two people: the one on that side is the parent whatever the guesses say.
        pool = adults if adults and len(ids) > 2 else ids
        centre = {
            k: float(np.nanmedian(cx[k])) if np.any(~np.isnan(cx[k])) else math.nan for k in pool
        }
        sign = 1.0 if parent_side == "left" else -1.0
        parent = min(pool, key=lambda k: sign * centre[k] if math.isfinite(centre[k]) else math.inf)
        method = "parent_side"
    elif adults:
        parent, method = most_visible(adults), "role_guess"
    else:
        parent, method = min(ids, key=lambda k: guesses[k].childness), "role_guess"
    rest = [k for k in ids if k != parent]
    children = [k for k in rest if guesses[k].role == "child"]
    if children:
        # The index child: the youngest-looking of the children seen for at least half as long
        # as the child seen most (a picture or a passer-by, seen briefly, never qualifies).
        longest = max(guesses[k].seconds_visible for k in children)
        seen = [k for k in children if guesses[k].seconds_visible >= 0.5 * longest]
        child = max(seen, key=lambda k: (guesses[k].childness, -k))
    else:
        child = max(rest, key=lambda k: guesses[k].childness)
    if method == "parent_side":
        confidence = 1.0
    else:
        confidence = min(guesses[parent].confidence, guesses[child].confidence)
        if guesses[parent].role != "adult" or guesses[child].role != "child":
            confidence = 0.5
    return Pair(parent, child, method, confidence)


def expected_turn(dx: np.ndarray, dy: np.ndarray, *, depth: float) -> tuple[np.ndarray, np.ndarray]:
    """The head yaw and pitch (degrees; yaw > 0 towards image left, pitch > 0 up) that turn a
    face towards a point ``dx, dy`` away in the image (in frame widths, y down), as if the image
    stood ``depth`` frame widths in front of the head.

    People turn their heads only part of the way to what they look at (the eyes do the rest):
    on the development clips the head turns about 30-45 deg to look at the other person
    whether they sit 0.1 or 0.7 frame widths apart (``depth`` about 0.65-0.75). The model is
    only used to tell which of several people a turned head points at: a nearer person needs
    a smaller turn than one further along the same side.
    """
    yaw = -np.degrees(np.arctan2(np.asarray(dx, dtype=float), depth))
    pitch = -np.degrees(np.arctan2(np.asarray(dy, dtype=float), depth))
    return yaw, pitch


def turn_errors(
    gaze_yaw: np.ndarray,
    gaze_pitch: np.ndarray,
    offsets: dict[int, tuple[np.ndarray, np.ndarray]],
    *,
    depth: float,
    pitch_weight: float,
) -> dict[int, np.ndarray]:
    """Per target, degrees between the measured gaze and the turn :func:`expected_turn` gives
    for it (the pitch difference weighed by ``pitch_weight``: the measured pitch is the less
    reliable of the two); NaN where either is unknown."""
    out = {}
    for k, (dx, dy) in offsets.items():
        yaw, pitch = expected_turn(dx, dy, depth=depth)
        dp = np.nan_to_num(np.asarray(gaze_pitch, dtype=float) - pitch, nan=0.0)
        out[k] = np.hypot(np.asarray(gaze_yaw, dtype=float) - yaw, pitch_weight * dp)
    return out


def target_weights(angles: dict[int, np.ndarray], *, softness_deg: float) -> dict[int, np.ndarray]:
    """Per target, the share (0..1) of a person's attention it can claim, per frame.

    A softmax over minus the angles (degrees) between the gaze and each target's head, with
    temperature ``softness_deg``: the target nearest the gaze gets the most, two targets at the
    same angle share. A target at NaN angle (not where anyone knows) claims nothing while others
    are known; NaN where no target's angle is known. One target alone always gets 1.
    """
    keys = list(angles)
    if len(keys) == 1:
        only = np.asarray(angles[keys[0]], dtype=float)
        return {keys[0]: np.where(np.isnan(only), np.nan, 1.0)}
    a = np.stack([np.asarray(angles[k], dtype=float) for k in keys], axis=1)
    known = ~np.isnan(a)
    logits = np.where(known, -a / softness_deg, -np.inf)
    top = np.max(logits, axis=1, keepdims=True)
    none = ~np.isfinite(top[:, 0])
    with np.errstate(invalid="ignore"):
        e = np.where(known, np.exp(logits - np.where(np.isfinite(top), top, 0.0)), 0.0)
    total = e.sum(axis=1, keepdims=True)
    w = np.where(total > 0, e / np.where(total > 0, total, 1.0), np.nan)
    w[none] = np.nan
    return {k: w[:, j] for j, k in enumerate(keys)}


def pair_assignment(
    pair: Pair, *, size: dict[int, np.ndarray], cx: dict[int, np.ndarray]
) -> RoleAssignment:
    """The pair as a :class:`vigcv.vision.roles.RoleAssignment` (its size ratio and how often the
    parent sits on her usual side of the child), for provenance and the role swap."""
    if pair.parent < 0 or pair.child < 0:
        return RoleAssignment(
            pair.parent, pair.child, pair.method, pair.confidence, math.nan, math.nan
        )
    sp, sc = size[pair.parent], size[pair.child]
    with np.errstate(all="ignore"):
        ratio = (
            float(np.nanmedian(sp) / np.nanmedian(sc))
            if np.any(~np.isnan(sp)) and np.any(~np.isnan(sc))
            else math.nan
        )
    both = ~np.isnan(cx[pair.parent]) & ~np.isnan(cx[pair.child])
    left = float(np.mean(cx[pair.parent][both] < cx[pair.child][both])) if both.any() else 0.5
    return RoleAssignment(
        pair.parent, pair.child, pair.method, pair.confidence, ratio, max(left, 1.0 - left)
    )


def people_table(
    guesses: dict[int, RoleGuess],
    pair: RoleAssignment,
    *,
    best_frame: dict[int, tuple[float, np.ndarray]] | None = None,
    embeddings: dict[int, np.ndarray | None] | None = None,
) -> pd.DataFrame:
    """One row per person (:data:`vigcv.types.PEOPLE_COLUMNS`): the guess, the pair role, the
    time and box of the face's best view (for a thumbnail) and the mean identity descriptor."""
    rows = []
    best_frame = best_frame or {}
    embeddings = embeddings or {}
    for k, g in sorted(guesses.items()):
        t, box = best_frame.get(k, (math.nan, np.full(4, np.nan)))
        vector = embeddings.get(k)
        rows.append(
            {
                "person": k,
                "role_guess": g.role,
                "confidence": g.confidence,
                "seconds_visible": g.seconds_visible,
                "pair_role": "parent" if k == pair.parent else "child" if k == pair.child else "",
                "childness": g.childness,
                "lower_face": g.lower_face,
                "face_measures": g.face_measures,
                "size_px": g.size_px,
                "thumb_t": t,
                "thumb_x": box[0],
                "thumb_y": box[1],
                "thumb_w": box[2],
                "thumb_h": box[3],
                "embedding": None if vector is None else [float(v) for v in vector],
            }
        )
    if not rows:
        return empty_people()
    return pd.DataFrame(rows)[list(PEOPLE_COLUMNS)]
