"""From resolved events to per-frame head motion and expression, and to the 0.5 s labels.

Gaze is head direction here: a person "looks at" a target when the scripted head direction
points at it. With the person on the left, looking at the other person (on the right) means
turning towards image right, which is a negative yaw (``yaw > 0`` turns towards image left, as in
:mod:`vigcv.types`). Turns are smoothed over about 0.3 s, centred on the scripted boundaries, so
a label at time ``t`` is exactly the scripted state at ``t`` and the head is at least half-way
there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, uniform_filter1d

from vigcv.synth.scene import Layout
from vigcv.synth.script import UNSEEN, Event, Script

LABEL_STEP_S = 0.5

# Head direction (yaw towards the other person, pitch) per gaze target, degrees. The yaw sign is
# applied per side; pitch > 0 looks up. Looking at each other the heads turn 50 deg: the real
# mothers of ../shared/eval turn 56-80 deg to look at a child beside them (WHENet's yaw), and
# past about 50 deg the face mesh loses the rendered faces' smiles (until December 2026 the
# scenes turned 32 deg, less than any real parent, which held the looks-at threshold at 20 deg).
TARGET_ANGLES = {
    "other": (50.0, None),  # pitch: parent looks down at the child, child up at the parent
    "toy": (14.0, -26.0),
    "camera": (0.0, 0.0),
    "away": (-55.0, 2.0),
    "back": (-180.0, 0.0),  # the back of the head to the camera (turning away from the other)
    "shoulder": (-110.0, 0.0),  # over the shoulder: the side and back of the head, no face
    "out": (14.0, -26.0),  # out of the frame (``leaves``): never on screen
}
# The camera at their side (``view = "side"``): both heads in profile facing each other; the toy
# on the table between them is far below their line of sight.
SIDE_ANGLES = {**TARGET_ANGLES, "other": (78.0, None), "toy": (62.0, -34.0), "away": (20.0, 2.0)}
_OTHER_PITCH = {"parent": -7.0, "child": 9.0}
# ``toy = "held"``: the parent holds the toy just below her face towards the child. The child
# looking at it turns 4 deg less and looks 15 deg lower than at the parent's face; the parent
# looks down at it in her own hands.
_HELD_TOY = {"parent": (10.0, -38.0), "child": (-4.0, -15.0)}  # child: relative to "other"
# ``leaves``: how far the head moves sideways past the frame edge, in face heights.
_OUT_MARGIN = 1.0
# Three people: a head turns to look at what it looks at as if the camera's image plane stood
# this far (in frame widths) in front of the heads: yaw = atan(dx / depth), pitch = atan(-dy /
# depth), dx, dy the image offsets from the face centre to the target. 0.64 gives 32 deg for two
# people 0.4 widths apart; neighbours about 0.28 widths apart turn about 24 deg, the two at the
# ends (about 0.57 widths) about 42 deg. Milder than two people's 50 deg: at the depth that gives
# 50 deg (0.336; neighbours 40, ends 60) the detector loses one of the two parents of
# ``two_parents`` altogether and ``siblings``' older sibling is taken for the parent
# (measured December 2026, left for the three-person work).
GAZE_DEPTH = 0.64


@dataclass(frozen=True)
class Motion:
    """Per-frame state of one person (arrays of shape (n_frames,)).

    Attributes
    ----------
    yaw, pitch, roll : ndarray
        Degrees (signs as in :mod:`vigcv.synth.render`).
    smile : ndarray
        0..1.
    dx, dy : ndarray
        Small head translation, in face heights.
    target : ndarray of str
        Scripted gaze target (``parent``, ``child``, ``toy``, ``camera``, ``away``, ``back``,
        ``out``).
    """

    yaw: np.ndarray
    pitch: np.ndarray
    roll: np.ndarray
    smile: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    target: np.ndarray


def gaze_target(events: tuple[Event, ...], role: str, t: float, *, idle: str) -> str:
    """What ``role`` looks at at time ``t``: the latest-starting ``look`` event covering it."""
    best: Event | None = None
    for ev in events:
        looks = ev.who == role and ev.action == "look" and ev.covers(t)
        if looks and (best is None or ev.start >= best.start):
            best = ev
    return best.target if best is not None else idle


def hiding_eyes(events: tuple[Event, ...], role: str, t: float) -> bool:
    """Whether ``role`` holds a hand over the eyes at ``t`` (a ``hide`` event)."""
    return any(ev.who == role and ev.action == "hide" and ev.covers(t) for ev in events)


def smiling(events: tuple[Event, ...], role: str, t: float) -> bool:
    return any(ev.who == role and ev.action == "smile" and ev.covers(t) for ev in events)


def _smooth_step(x: np.ndarray, fps: float) -> np.ndarray:
    size = max(1, round(0.16 * fps))
    return uniform_filter1d(uniform_filter1d(x, size, mode="nearest"), size, mode="nearest")


def _idle(n: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Slow random motion with unit standard deviation."""
    noise = gaussian_filter1d(rng.standard_normal(n + 200), sigma=0.5 * fps, mode="wrap")[100:-100]
    return noise / max(float(noise.std()), 1e-9)


def look_angles(layout: Layout, role: str, point: tuple[float, float]) -> tuple[float, float]:
    """Yaw and pitch (degrees) that turn ``role``'s face towards the image point ``point`` in a
    scene of three (:data:`GAZE_DEPTH`): ``yaw > 0`` towards image left, ``pitch > 0`` up."""
    place = layout.places[role]
    depth = GAZE_DEPTH * layout.width
    dx, dy = point[0] - place.cx, point[1] - place.cy
    return -float(np.degrees(np.arctan2(dx, depth))), -float(np.degrees(np.arctan2(dy, depth)))


def _aim_two(
    script: Script, layout: Layout, role: str, targets: np.ndarray, angles: dict
) -> tuple[np.ndarray, np.ndarray, float]:
    """Yaw and pitch per frame of the parent or child with two people (fixed angles)."""
    other = "child" if role == "parent" else "parent"
    toward = -1.0 if layout.places[role].cx < layout.places[other].cx else 1.0
    yaw = np.zeros(len(targets))
    pitch = np.zeros(len(targets))
    for name in np.unique(targets):
        key = "other" if name == other else str(name)
        y, p = angles[key]
        if key == "toy" and script.toy == "held":
            y, p = _HELD_TOY[role]
            if role == "child":
                y, p = angles["other"][0] + y, _OTHER_PITCH[role] + p
        sel = targets == name
        yaw[sel] = toward * y
        pitch[sel] = _OTHER_PITCH[role] if p is None else p
    return yaw, pitch, toward


def _aim_three(
    script: Script, layout: Layout, role: str, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Yaw and pitch per frame with three people: the head points at the person or toy it
    looks at (:func:`look_angles`); ``away`` is 55 deg away from the nearest other person."""
    place = layout.places[role]
    others = [r for r in script.roles if r != role]
    nearest = min(others, key=lambda r: abs(layout.places[r].cx - place.cx))
    toward = -1.0 if place.cx < layout.places[nearest].cx else 1.0
    yaw = np.zeros(len(targets))
    pitch = np.zeros(len(targets))
    for name in np.unique(targets):
        key = str(name)
        if key in layout.places:
            y, p = look_angles(layout, role, (layout.places[key].cx, layout.places[key].cy))
        elif key in ("toy", "out"):
            y, p = look_angles(layout, role, layout.toy)
        elif key == "camera":
            y, p = 0.0, 0.0
        else:  # away, back
            y, p = toward * TARGET_ANGLES[key][0], float(TARGET_ANGLES[key][1] or 0.0)
        sel = targets == name
        yaw[sel], pitch[sel] = y, p
    return yaw, pitch, toward


def motion(
    script: Script,
    events: tuple[Event, ...],
    layout: Layout,
    *,
    times: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, Motion]:
    """Per-frame head motion and smiles of everyone at ``times`` (seconds)."""
    fps = 1.0 / float(np.median(np.diff(times))) if len(times) > 1 else 25.0
    out = {}
    angles = SIDE_ANGLES if script.view == "side" else TARGET_ANGLES
    three = len(script.roles) > 2
    for role in script.roles:
        targets = np.array([gaze_target(events, role, t, idle=script.idle_gaze) for t in times])
        if three:
            yaw, pitch, toward = _aim_three(script, layout, role, targets)
        else:
            yaw, pitch, toward = _aim_two(script, layout, role, targets, angles)
        others = [r for r in script.roles if r != role]
        place = layout.places[role]
        # Leaving: the head slides sideways, away from the other, until it is past the edge.
        edge = place.cx if toward < 0 else layout.width - place.cx
        out_shift = (edge / place.size + _OUT_MARGIN) * toward
        shift = _smooth_step(_smooth_step((targets == "out").astype(float), fps), fps)
        calm = np.where(np.isin(targets, [*others, "camera"]), 0.5, 1.0)
        amp = script.idle_motion_deg * _smooth_step(calm, fps)
        n = len(times)
        yaw = _smooth_step(yaw, fps) + amp * _idle(n, fps, rng)
        pitch = _smooth_step(pitch, fps) + 0.6 * amp * _idle(n, fps, rng)
        roll = 0.5 * amp * _idle(n, fps, rng)
        smile_on = np.array([smiling(events, role, t) for t in times], float)
        smile = np.clip(_smooth_step(smile_on, fps) * rng.uniform(0.85, 1.0), 0.0, 1.0)
        out[role] = Motion(
            yaw=yaw,
            pitch=pitch,
            roll=roll,
            smile=smile,
            dx=0.03 * _idle(n, fps, rng) + out_shift * shift,
            dy=0.02 * _idle(n, fps, rng),
            target=targets,
        )
    return out


def label_frames(script: Script, events: tuple[Event, ...]) -> list[dict[str, object]]:
    """The ``frames`` list of the label format, every :data:`LABEL_STEP_S` seconds.

    Each frame has the two-person keys of the evaluation data (``parent_visible`` …
    ``child_smile``; nothing else with two people). With a third person ``X`` it also has
    ``X_visible``, ``X_smile``, ``A_looks_at_B`` for every ordered pair that involves ``X``,
    ``mutual_gaze_A_B`` for the two pairs that involve ``X`` (``A`` before ``B`` in parent,
    child, X order) and, for everyone, ``<role>_looks_at``: the scripted target's name
    (``parent``, ``child``, ``sibling``, ``parent2``, ``toy``, ``camera``, ``away``), null when
    that person shows no face.
    """
    roles = script.roles
    frames: list[dict[str, object]] = []
    for t in np.arange(0.0, script.duration - 1e-9, LABEL_STEP_S):
        target = {r: gaze_target(events, r, float(t), idle=script.idle_gaze) for r in roles}
        # A back turned to the camera (or a person out of the frame) shows no face: a coder
        # cannot tell that person's gaze or smile (null), nor whether the two look at each other.
        seen = {r: target[r] not in UNSEEN for r in roles}
        # Hands over the eyes: the face is there, where it looks is not seen.
        eyes = {r: seen[r] and not hiding_eyes(events, r, float(t)) for r in roles}

        def known(value: int, *who: str, seen: dict[str, bool] = seen) -> int | None:
            return value if all(seen[r] for r in who) else None

        def looked(value: int, *who: str, eyes: dict[str, bool] = eyes) -> int | None:
            return value if all(eyes[r] for r in who) else None

        def at(a: str, b: str, target: dict[str, str] = target) -> int:
            return int(target[a] == b)

        frame: dict[str, object] = {
            "t": round(float(t), 2),
            "parent_visible": seen["parent"],
            "child_visible": seen["child"],
            "parent_looks_at_child": looked(at("parent", "child"), "parent"),
            "child_looks_at_parent": looked(at("child", "parent"), "child"),
            "mutual_gaze": looked(at("parent", "child") * at("child", "parent"), "parent", "child"),
            "parent_smile": known(int(smiling(events, "parent", float(t))), "parent"),
            "child_smile": known(int(smiling(events, "child", float(t))), "child"),
        }
        for x in roles[2:]:
            frame[f"{x}_visible"] = seen[x]
            frame[f"{x}_smile"] = known(int(smiling(events, x, float(t))), x)
            for a in roles:
                for b in roles:
                    if a != b and x in (a, b):
                        frame[f"{a}_looks_at_{b}"] = looked(at(a, b), a)
            for a in roles[:2]:
                frame[f"mutual_gaze_{a}_{x}"] = looked(at(a, x) * at(x, a), a, x)
        for r in roles if len(roles) > 2 else ():
            frame[f"{r}_looks_at"] = target[r] if eyes[r] else None
        frames.append(frame)
    return frames
