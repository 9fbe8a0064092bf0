"""Generate a synthetic session: video with audio plus its ground truth.

Files written for ``OUT.mp4`` (each to a temporary name, renamed into place; the video last):

- ``OUT.mp4``: H.264 video and AAC audio;
- ``OUT.labels.json``: labels every 0.5 s in the format of the real evaluation data
  (``frames`` with ``parent_visible`` … ``child_smile``, and ``attuned_moments``), plus, with a
  third person, every pair's and each person's keys (:func:`vigcv.synth.timeline.label_frames`);
- ``OUT.rttm``: who speaks when (speakers ``parent``, ``child`` and the third person's role);
- ``OUT.truth.csv``: per video frame and person (columns ``t, role, x, y, w, h, yaw, pitch,
  roll, smile, mouth_open, speaking, target, visible``): the face box (pixels, top-left corner
  and size of the 478 face-mesh points: forehead to chin, cheek to cheek; not clipped to the
  frame), head angles, smile, mouth opening, speaking (0/1), gaze target (a role, ``toy``,
  ``camera``, ``away``, ``back`` or ``out``) and whether the face is on screen (0 while the back
  is turned or the person has left) -- for testing the vision stage against exact values;
- ``OUT.synth.json``: the resolved script (events with their jittered, synthesised times), seed
  and layout, from which :func:`load_result` rebuilds the :class:`SynthResult`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from vigcv.errors import OutputError
from vigcv.hooks import Hook, no_hook
from vigcv.synth.facemesh import FaceModel, fit_face
from vigcv.synth.hand import draw_hand, paste
from vigcv.synth.render import HeadPose, composite, render_head, rotation
from vigcv.synth.scene import lighting, make_background, make_layout
from vigcv.synth.script import (
    UNSEEN,
    AttunedMoment,
    Event,
    Person,
    Script,
    jittered,
    load_script,
    parse_script,
)
from vigcv.synth.soundtrack import build_soundtrack
from vigcv.synth.timeline import label_frames, motion
from vigcv.types import Segment

GENERATOR_VERSION = "4"
AUDIO_RATE = 48000
_NOISE_FRAMES = 6
_SENSOR_NOISE = 3.0  # standard deviation of per-pixel noise, 0..255 units


@dataclass(frozen=True)
class SynthResult:
    """A generated session.

    Attributes
    ----------
    video, labels, rttm, truth, meta : Path
        The files written (see the module docstring).
    script : Script
        The script after jitter, its ``events`` resolved (same as ``events``).
    events : tuple of Event
        Every event with its actual times (utterances: voiced extent).
    speech : dict of str to list of Segment
        Voiced stretches per role, as in the RTTM.
    seed : int
        The seed used.
    duration : float
        Seconds.
    """

    video: Path
    labels: Path
    rttm: Path
    truth: Path
    meta: Path
    script: Script
    events: tuple[Event, ...]
    speech: dict[str, list[Segment]]
    seed: int
    duration: float

    def moments(self) -> list[AttunedMoment]:
        return list(self.script.attuned_moments)


def sidecar_paths(out_path: Path) -> dict[str, Path]:
    """Paths of the files written for ``out_path``."""
    out_path = Path(out_path)
    stem = out_path.with_suffix("")
    return {
        "video": out_path,
        "labels": stem.with_name(stem.name + ".labels.json"),
        "rttm": stem.with_name(stem.name + ".rttm"),
        "truth": stem.with_name(stem.name + ".truth.csv"),
        "meta": stem.with_name(stem.name + ".synth.json"),
    }


def _skin(model: FaceModel) -> tuple[int, int, int]:
    rgb = model.vertex_rgb[[50, 280, 205, 425, 152]].mean(axis=0) * 0.93
    return int(rgb[0]), int(rgb[1]), int(rgb[2])


def _face_box(model: FaceModel, pose: HeadPose) -> tuple[float, float, float, float]:
    v = (model.rest[:478] + pose.smile * model.smile_dir[:478]) @ rotation(
        pose.yaw, pose.pitch, pose.roll
    ).T
    xy = v[:, :2] * pose.size + [pose.cx, pose.cy]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])


def _rttm_lines(name: str, speech: dict[str, list[Segment]]) -> list[str]:
    rows = sorted((seg, role) for role, segs in speech.items() for seg in segs)
    return [
        f"SPEAKER {name} 1 {seg.start:.3f} {seg.duration:.3f} <NA> <NA> {role} <NA> <NA>"
        for seg, role in rows
    ]


def _labels_json(labels: dict[str, Any]) -> str:
    """JSON with one label frame per line (as in the evaluation data)."""
    head = {k: v for k, v in labels.items() if k != "frames"}
    frames = ",\n  ".join(json.dumps(f) for f in labels["frames"])
    body = json.dumps(head, indent=1)[:-2]  # drop the closing "\n}"
    return f'{body},\n "frames": [\n  {frames}\n ]\n}}\n'


def _write_text(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    return tmp


def _resolve_script(script: Path | dict[str, Any] | Script | None) -> Script:
    if script is None:
        return load_script(shipped_script("textbook"))
    if isinstance(script, Script):
        return script
    if isinstance(script, dict):
        return parse_script(script)
    return load_script(Path(script))


def shipped_scripts_dir() -> Path:
    """``configs/synth`` of the checkout, else the copy inside the installed package."""
    checkout = Path(__file__).resolve().parents[2] / "configs" / "synth"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parents[1] / "resources" / "synth"


def shipped_script(name: str) -> Path:
    """Path of a shipped script by name (``textbook``, ``missed``, ``long_latency``, …)."""
    from vigcv.synth.script import ScriptError

    path = shipped_scripts_dir() / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in shipped_scripts_dir().glob("*.toml"))
        raise ScriptError(f"no shipped synth script {name!r}; known: {', '.join(known)}")
    return path


def generate_session(
    out_path: Path,
    *,
    script: Path | dict[str, Any] | Script | None = None,
    seed: int = 0,
    size: tuple[int, int] = (640, 480),
    fps: float = 25.0,
    hook: Hook = no_hook,
) -> SynthResult:
    """Write a synthetic session (parent and child, perhaps a third person) and its ground truth.

    Parameters
    ----------
    out_path : Path
        The ``.mp4`` to write; the truth files go next to it (module docstring).
    script : Path, dict, Script or None
        A script file, an already-read TOML dict, a parsed script, or None for the shipped
        ``textbook`` script.
    seed : int
        Varies placement, lighting, room, timing jitter and idle head motion.
    size : (int, int)
        Frame width and height in pixels (even).
    fps : float
        Frame rate.
    hook : callable, optional
        Called as ``hook("synth", None, completed=frames_done, total=frames_total)`` every 25
        frames (:mod:`vigcv.hooks`).

    Returns
    -------
    SynthResult
    """
    out_path = Path(out_path)
    paths = sidecar_paths(out_path)
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(f"cannot write {out_path}: {reason}; choose another folder") from None
    width, height = int(size[0]) // 2 * 2, int(size[1]) // 2 * 2
    base = _resolve_script(script)
    rng = np.random.default_rng(seed)
    plan = jittered(base, rng)
    layout = make_layout(plan, size=(width, height), rng=rng)
    roles = plan.roles
    models = {r: fit_face(plan.person(r).face, child=plan.childlike(r)) for r in roles}
    background = make_background(layout, rng=rng, skins={r: _skin(m) for r, m in models.items()})
    light = lighting(layout)
    sound = build_soundtrack(plan, rate=AUDIO_RATE, rng=rng)
    n_frames = max(1, round(plan.duration * fps))
    times = np.arange(n_frames) / fps
    moves = motion(plan, sound.events, layout, times=times, rng=rng)
    mouths = {r: sound.mouth_open(r, times + 0.5 / fps) for r in roles}
    shaking = np.zeros(n_frames, bool)
    for ev in plan.events:
        if ev.action == "blur":
            shaking |= (times >= ev.start) & (times < ev.end)
    # Hands over the eyes (peekaboo): one drawn hand per person who hides, from its own
    # generator so that scripts without it render as before.
    hiding = {r: np.zeros(n_frames, bool) for r in roles}
    for ev in plan.events:
        if ev.action == "hide":
            hiding[ev.who] |= (times >= ev.start) & (times < ev.end)
    hand_rng = np.random.default_rng([seed, 7])
    hands = {r: draw_hand(256, rng=hand_rng) for r in roles if hiding[r].any()}
    blur_kernel = np.zeros((1, max(1, round(plan.blur_px))), np.float32)
    blur_kernel[:] = 1.0 / blur_kernel.size  # a horizontal linear motion blur
    noise = [
        rng.normal(0.0, _SENSOR_NOISE, (height, width, 1)).astype(np.float32)
        for _ in range(_NOISE_FRAMES)
    ]
    # The room does not move: light it and add each noise pattern once; heads are lit per frame.
    lit = background * light
    noisy_backgrounds = [np.clip(lit + n, 0, 255).astype(np.uint8) for n in noise]
    truth_rows: list[dict[str, Any]] = []
    speaking = {r: np.zeros(n_frames, bool) for r in roles}
    for role, segs in sound.speech.items():
        for seg in segs:
            speaking[role][(times >= seg.start) & (times < seg.end)] = True

    from vigcv.synth.writer import Mp4Writer

    tmp_video = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp.mp4")
    try:
        with Mp4Writer(
            tmp_video, width=width, height=height, fps=fps, audio=sound.audio, rate=AUDIO_RATE
        ) as writer:
            for i in range(n_frames):
                k = i % _NOISE_FRAMES
                frame = noisy_backgrounds[k].copy()
                for role in roles:
                    place, mv = layout.places[role], moves[role]
                    pose = HeadPose(
                        cx=place.cx + mv.dx[i] * place.size,
                        cy=place.cy + mv.dy[i] * place.size,
                        size=place.size,
                        yaw=float(mv.yaw[i]),
                        pitch=float(mv.pitch[i]),
                        roll=float(mv.roll[i]),
                        smile=float(mv.smile[i]),
                        mouth_open=float(mouths[role][i]),
                    )
                    rgb, alpha, x0, y0 = render_head(models[role], pose, light=layout.light)
                    composite(frame, rgb, alpha, x0, y0, light=light, noise=noise[k])
                    x, y, w, h = _face_box(models[role], pose)
                    if hiding[role][i]:  # the palm's centre on the eyes, fingers up the brow
                        side = max(8, round(0.9 * h))
                        hand = cv2.resize(hands[role], (side, side), interpolation=cv2.INTER_AREA)
                        frame = paste(frame, hand, (x + w / 2, y + 0.4 * h - 0.12 * side))
                    truth_rows.append(
                        {
                            "t": round(float(times[i]), 4),
                            "role": role,
                            "x": round(x, 1),
                            "y": round(y, 1),
                            "w": round(w, 1),
                            "h": round(h, 1),
                            "yaw": round(pose.yaw, 2),
                            "pitch": round(pose.pitch, 2),
                            "roll": round(pose.roll, 2),
                            "smile": round(pose.smile, 3),
                            "mouth_open": round(pose.mouth_open, 3),
                            "speaking": int(speaking[role][i]),
                            "target": str(mv.target[i]),
                            "visible": int(str(mv.target[i]) not in UNSEEN),
                            "eyes_hidden": int(hiding[role][i]),
                        }
                    )
                if shaking[i]:  # the camera shakes: the whole frame is smeared sideways
                    frame = cv2.filter2D(frame, -1, blur_kernel, borderType=cv2.BORDER_REFLECT)
                writer.write(frame)
                if i % 25 == 24 or i == n_frames - 1:
                    hook("synth", None, completed=i + 1, total=n_frames)
    except BaseException:
        tmp_video.unlink(missing_ok=True)
        raise

    name = out_path.stem
    labels = {
        "clip": out_path.name,
        "step_s": 0.5,
        "frames": label_frames(plan, sound.events),
        "attuned_moments": [m.to_dict() for m in plan.attuned_moments],
        "notes": f"synthetic session from script {plan.title!r}, seed {seed} (vigcv synth)",
    }
    meta = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "size": [width, height],
        "fps": fps,
        "audio_rate": AUDIO_RATE,
        "script": _script_to_dict(plan),
        "events": [ev.to_dict() for ev in sound.events],
        "speech": {r: [[s.start, s.end] for s in segs] for r, segs in sound.speech.items()},
        "layout": {r: asdict(p) for r, p in layout.places.items()},
    }
    tmps = {
        "labels": _write_text(paths["labels"], _labels_json(labels)),
        "rttm": _write_text(paths["rttm"], "\n".join(_rttm_lines(name, sound.speech)) + "\n"),
        "truth": _write_text(paths["truth"], pd.DataFrame(truth_rows).to_csv(index=False)),
        "meta": _write_text(paths["meta"], json.dumps(meta, indent=1) + "\n"),
    }
    for key, tmp in tmps.items():
        os.replace(tmp, paths[key])
    os.replace(tmp_video, out_path)
    return SynthResult(
        **paths,
        script=replace(plan, events=sound.events),
        events=sound.events,
        speech=sound.speech,
        seed=seed,
        duration=plan.duration,
    )


def _script_to_dict(script: Script) -> dict[str, Any]:
    return {
        "title": script.title,
        "duration": script.duration,
        "events": [ev.source for ev in script.events],
        "attuned_moments": [m.to_dict() for m in script.attuned_moments],
        "parent": asdict(script.parent),
        "child": asdict(script.child),
        "idle_gaze": script.idle_gaze,
        "jitter_s": script.jitter_s,
        "idle_motion_deg": script.idle_motion_deg,
        "blur_px": script.blur_px,
        "view": script.view,
        "toy": script.toy,
        "extras": {role: asdict(person) for role, person in script.extras},
    }


def load_result(out_path: Path) -> SynthResult:
    """Rebuild the :class:`SynthResult` of a session written earlier (from ``.synth.json``)."""
    paths = sidecar_paths(Path(out_path))
    meta = json.loads(paths["meta"].read_text())
    raw = meta["script"]
    script = Script(
        title=raw["title"],
        duration=float(raw["duration"]),
        events=tuple(
            Event(
                who=e["who"],
                action=e["action"],
                start=e["start"],
                end=e["end"],
                target=e.get("target", ""),
                text=e.get("text", ""),
                after=e.get("after", float("nan")),
                source=e["source"],
            )
            for e in meta["events"]
        ),
        attuned_moments=tuple(
            AttunedMoment(m["start"], m["end"], m["strength"], m["why"])
            for m in raw["attuned_moments"]
        ),
        parent=Person(**raw["parent"]),
        child=Person(**raw["child"]),
        idle_gaze=raw["idle_gaze"],
        jitter_s=raw["jitter_s"],
        idle_motion_deg=raw["idle_motion_deg"],
        blur_px=raw.get("blur_px", 25.0),
        view=raw.get("view", "front"),
        toy=raw.get("toy", "table"),
        extras=tuple((role, Person(**p)) for role, p in raw.get("extras", {}).items()),
    )
    speech = {r: [Segment(a, b) for a, b in segs] for r, segs in meta["speech"].items()}
    return SynthResult(
        **paths,
        script=script,
        events=script.events,
        speech=speech,
        seed=int(meta["seed"]),
        duration=script.duration,
    )
