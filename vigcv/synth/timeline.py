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
# applied per side; pitch > 0 looks up.
TARGET_ANGLES = {
    "other": (32.0, None),  # pitch: parent looks down at the child, child up at the parent
    "toy": (14.0, -26.0),
    "camera": (0.0, 0.0),
    "away": (-55.0, 2.0),
    "back": (-180.0, 0.0),  # the back of the head to the camera (turning away from the other)
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


def smiling(events: tuple[Event, ...], role: str, t: float) -> bool:
    return any(ev.who == role and ev.action == "smile" and ev.covers(t) for ev in events)


def _smooth_step(x: np.ndarray, fps: float) -> np.ndarray:
    size = max(1, round(0.16 * fps))
    return uniform_filter1d(uniform_filter1d(x, size, mode="nearest"), size, mode="nearest")


def _idle(n: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Slow random motion with unit standard deviation."""
    noise = gaussian_filter1d(rng.standard_normal(n + 200), sigma=0.5 * fps, mode="wrap")[100:-100]
    return noise / max(float(noise.std()), 1e-9)


def motion(
    script: Script,
    events: tuple[Event, ...],
    layout: Layout,
    *,
    times: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, Motion]:
    """Per-frame head motion and smiles of both people at ``times`` (seconds)."""
    fps = 1.0 / float(np.median(np.diff(times))) if len(times) > 1 else 25.0
    out = {}
    angles = SIDE_ANGLES if script.view == "side" else TARGET_ANGLES
    for role in ("parent", "child"):
        other = "child" if role == "parent" else "parent"
        toward = -1.0 if layout.places[role].cx < layout.places[other].cx else 1.0
        targets = np.array([gaze_target(events, role, t, idle=script.idle_gaze) for t in times])
        yaw = np.zeros(len(times))
        pitch = np.zeros(len(times))
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
        place = layout.places[role]
        # Leaving: the head slides sideways, away from the other, until it is past the edge.
        edge = place.cx if toward < 0 else layout.width - place.cx
        out_shift = (edge / place.size + _OUT_MARGIN) * toward
        shift = _smooth_step(_smooth_step((targets == "out").astype(float), fps), fps)
        calm = np.where(np.isin(targets, [other, "camera"]), 0.5, 1.0)
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
    """The ``frames`` list of the label format, every :data:`LABEL_STEP_S` seconds."""
    frames: list[dict[str, object]] = []
    for t in np.arange(0.0, script.duration - 1e-9, LABEL_STEP_S):
        tp = gaze_target(events, "parent", float(t), idle=script.idle_gaze)
        tc = gaze_target(events, "child", float(t), idle=script.idle_gaze)
        p_at_c, c_at_p = int(tp == "child"), int(tc == "parent")
        # A back turned to the camera (or a person out of the frame) shows no face: a coder
        # cannot tell that person's gaze or smile (null), nor whether the two look at each other.
        p_seen, c_seen = tp not in UNSEEN, tc not in UNSEEN

        def known(value: int, *seen: bool) -> int | None:
            return value if all(seen) else None

        frames.append(
            {
                "t": round(float(t), 2),
                "parent_visible": p_seen,
                "child_visible": c_seen,
                "parent_looks_at_child": known(p_at_c, p_seen),
                "child_looks_at_parent": known(c_at_p, c_seen),
                "mutual_gaze": known(p_at_c * c_at_p, p_seen, c_seen),
                "parent_smile": known(int(smiling(events, "parent", float(t))), p_seen),
                "child_smile": known(int(smiling(events, "child", float(t))), c_seen),
            }
        )
    return frames
