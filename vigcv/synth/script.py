"""The synthetic-session script language (TOML).

A script says who does what when, in sentences that a researcher can read aloud::

    title = "textbook"
    duration = 12.0            # seconds
    idle_gaze = "toy"          # where people look when no "looks at" event says otherwise
    events = [
      "child looks at parent 2.0-5.0",
      "parent looks at child 2.2-6.0",
      "parent smiles 3.0-6.5",
      "child smiles 3.4-6.0",
      'child says "ba ba" at 4.0',
      'parent answers "yes, ball!" 0.6 s later',
      "parent turns away 8.0-11.0",
    ]

    [[attuned_moments]]        # copied into the labels (times follow the jitter)
    start = 2.0
    end = 7.0
    strength = 3
    why = "child initiative, parent answers within 1 s, mutual gaze, shared smile"

    [parent]                   # optional; these are the defaults
    face = "grace_hopper"      # "grace_hopper", "astronaut", "biden" or "obama"
    voice = "adult"            # a key of vigcv.synth.voice.VOICES
    side = "left"              # where the parent sits: "left" or "right" ("middle" with three)
    [child]
    face = "astronaut"         # made child-like (smaller, rounder) whatever the photo
    voice = "child"
    # size = 0.95             # optional: face height relative to the parent's (a teenager)

A third person comes with a ``[sibling]`` or a ``[parent2]`` table (not both; an empty table
takes the defaults)::

    [sibling]                  # an older sibling: child-like, a little larger than the child
    face = "obama"             # default obama (sibling), biden (parent2)
    voice = "child"            # default child (sibling), adult_male (parent2)
    side = "middle"            # default: the side the parent and child leave free
    size = 0.8                 # default 0.72-0.8 (sibling), 0.95-1.05 (parent2), seeded
    childlike = true           # default true (sibling), false (parent2)

With three people the three sit at the left, in the middle and at the right of the frame (each
on a different ``side``), and every gaze angle comes from where the heads are: a head looking at
someone turns towards that person's face (about 24 deg towards a neighbour, 42 deg towards the
far end, see :data:`vigcv.synth.timeline.GAZE_DEPTH`). The person in the middle cannot ``turn
away`` or ``leave`` (no side to turn to), and ``view = "side"`` takes two people only.

Sentences (``WHO`` is ``parent``, ``child`` or the third person, ``sibling`` or ``parent2``;
times in seconds, ``A-B`` is an interval):

- ``WHO looks at TARGET A-B`` with TARGET another person (``parent``, ``child``, ``sibling``,
  ``parent2``), ``toy`` or ``camera``;
- ``WHO turns away A-B``: the head turns about 55° away from the other person (with three: from
  the nearest other person);
- ``WHO turns her back A-B`` (or ``his``/``their``): the head turns round (yaw 180°, away from
  the other person) so that the camera sees the back of the head and no face; the labels say
  that person is not visible and leave their gaze and smile unknown (``null``) meanwhile;
- ``WHO looks over her shoulder A-B`` (or ``his``/``their``): the head turns 110° away from the
  other person, so that the camera sees the side and back of the head (ear, the edge of a cheek,
  hair) but not the face; a face detector may still find a box there. The labels say that person
  is not visible and leave their gaze and smile unknown (``null``) meanwhile;
- ``WHO leaves A-B``: the head moves out of the frame sideways (away from the other person) and
  comes back at B; the labels say that person is not visible, gaze and smile ``null``;
- ``WHO smiles A-B``;
- ``WHO hides her eyes A-B`` (or ``his``/``their``): peekaboo, a hand over the eyes while the
  head keeps looking where it looked; the labels leave that person's looks (and mutual gaze)
  unknown (``null``) meanwhile, and the smile, with the mouth still in view, known;
- ``camera shakes A-B``: every frame in A-B is smeared by a horizontal linear motion blur
  ``blur_px`` pixels long (the script's truth is unchanged: a blurred face still looks where it
  looks);
- ``WHO says "TEXT" at A``: the voice starts at A (espeak-ng decides how long it lasts);
- ``WHO answers "TEXT" D s later``: starts D seconds after the end of the latest utterance
  listed before it by someone else (with two people: the other person's).

Optional top-level keys: ``jitter_s`` (largest random shift of each event, seconds, default
0.15), ``idle_motion_deg`` (amplitude of the slow random head motion, degrees, default 4),
``blur_px`` (length of the ``camera shakes`` blur, pixels, default 25), ``view`` (``"front"``:
the camera in front of both, each turns 50 deg to look at the other; ``"side"``: the camera at
their side, both heads in profile facing each other, 78 deg to look at the other) and ``toy``
(``"table"``: a ball on the table between them; ``"held"``: the parent holds it just below her
own face, towards the child, so the child looking at it looks about 15 deg below the parent's
face and about 4 deg nearer in yaw).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from vigcv.errors import VigcvError

ROLES = ("parent", "child")  # always present
# A third person, present when the script has its table (``[sibling]`` or ``[parent2]``).
EXTRA_ROLES = ("sibling", "parent2")
PEOPLE = ROLES + EXTRA_ROLES
SIDES = ("left", "middle", "right")
TARGETS = (*PEOPLE, "toy", "camera", "away", "back", "shoulder", "out")
# Targets set by "turns away" / "turns her back" / "looks over her shoulder" / "leaves", never by
# "looks at".
TURNS = ("away", "back", "shoulder", "out")
UNSEEN = ("back", "shoulder", "out")  # no face on screen: gaze and smile unknown in the labels
ACTIONS = ("look", "smile", "say", "blur", "hide")
VIEWS = ("front", "side")
TOYS = ("table", "held")


class ScriptError(VigcvError):
    """A synthetic-session script that cannot be understood."""


@dataclass(frozen=True)
class Event:
    """One scripted event.

    Attributes
    ----------
    who : str
        ``"parent"``, ``"child"`` or ``"camera"`` (``blur`` events).
    action : str
        ``"look"``, ``"smile"``, ``"say"``, ``"blur"`` or ``"hide"`` (hands over the eyes).
    start, end : float
        Seconds. For ``say`` events ``end`` is NaN until the voice has been synthesised, and
        ``start`` is NaN for answers until their referent is resolved.
    target : str
        For ``look``: one of :data:`TARGETS`; empty otherwise.
    text : str
        For ``say``: the words.
    after : float
        For answers: the delay after the other person's latest utterance, seconds; NaN for
        events with a fixed start.
    source : str
        The sentence this came from.
    """

    who: str
    action: str
    start: float
    end: float = float("nan")
    target: str = ""
    text: str = ""
    after: float = float("nan")
    source: str = ""

    @property
    def is_answer(self) -> bool:
        return not np.isnan(self.after)

    def covers(self, t: float) -> bool:
        return self.start <= t < self.end

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"who": self.who, "action": self.action}
        out["start"] = round(float(self.start), 4)
        out["end"] = round(float(self.end), 4)
        if self.target:
            out["target"] = self.target
        if self.text:
            out["text"] = self.text
        if self.is_answer:
            out["after"] = round(float(self.after), 4)
        out["source"] = self.source
        return out


@dataclass(frozen=True)
class AttunedMoment:
    """A labelled attuned moment (the label format's ``attuned_moments`` entry)."""

    start: float
    end: float
    strength: int
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 2),
            "end": round(self.end, 2),
            "strength": self.strength,
            "why": self.why,
        }


@dataclass(frozen=True)
class Person:
    """How one role looks and sounds.

    Attributes
    ----------
    face, voice : str
        A key of :data:`vigcv.synth.facemesh.PHOTOS` and of :data:`vigcv.synth.voice.VOICES`.
    side : str
        ``"left"``, ``"middle"`` (only with three people) or ``"right"``.
    size : float or None
        Face height relative to the parent's; None for the role's seeded default (child
        0.6-0.7, sibling 0.72-0.8, second parent 0.95-1.05).
    childlike : bool or None
        Child proportions (:func:`vigcv.synth.facemesh.fit_face`); None for the role's default
        (the child and a sibling are child-like, the parents are not).
    """

    face: str
    voice: str
    side: str
    size: float | None = None
    childlike: bool | None = None


@dataclass(frozen=True)
class Script:
    """A parsed script (see the module docstring for the language)."""

    title: str
    duration: float
    events: tuple[Event, ...]
    attuned_moments: tuple[AttunedMoment, ...] = ()
    parent: Person = field(default_factory=lambda: Person("grace_hopper", "adult", "left"))
    child: Person = field(default_factory=lambda: Person("astronaut", "child", "right"))
    idle_gaze: str = "toy"
    jitter_s: float = 0.15
    idle_motion_deg: float = 4.0
    blur_px: float = 25.0
    view: str = "front"
    toy: str = "table"
    # The third person, if any: ``(("sibling", Person(...)),)`` or ``(("parent2", ...),)``.
    extras: tuple[tuple[str, Person], ...] = ()

    @property
    def roles(self) -> tuple[str, ...]:
        """Everyone in the scene: ``parent``, ``child``, then the third person if any."""
        return ROLES + tuple(name for name, _ in self.extras)

    def person(self, role: str) -> Person:
        if role == "parent":
            return self.parent
        if role == "child":
            return self.child
        for name, person in self.extras:
            if name == role:
                return person
        raise KeyError(role)

    def childlike(self, role: str) -> bool:
        """Whether ``role``'s face gets child proportions."""
        flag = self.person(role).childlike
        return role in ("child", "sibling") if flag is None else bool(flag)


_WHO = r"(?P<who>parent2|parent|child|sibling)"
_NUM = r"[0-9]+(?:\.[0-9]+)?"
_SPAN = rf"(?P<a>{_NUM})\s*-\s*(?P<b>{_NUM})"
_TEXT = r"\"(?P<text>[^\"]+)\""
_SENTENCES = (
    ("look", re.compile(rf"^{_WHO}\s+looks\s+at\s+(?P<target>\w+)\s+{_SPAN}$")),
    ("away", re.compile(rf"^{_WHO}\s+turns\s+away\s+{_SPAN}$")),
    ("back", re.compile(rf"^{_WHO}\s+turns\s+(?:her|his|their)\s+back\s+{_SPAN}$")),
    (
        "shoulder",
        re.compile(rf"^{_WHO}\s+looks\s+over\s+(?:her|his|their)\s+shoulder\s+{_SPAN}$"),
    ),
    ("out", re.compile(rf"^{_WHO}\s+leaves\s+{_SPAN}$")),
    ("blur", re.compile(rf"^(?P<who>camera)\s+shakes\s+{_SPAN}$")),
    ("smile", re.compile(rf"^{_WHO}\s+smiles\s+{_SPAN}$")),
    ("hide", re.compile(rf"^{_WHO}\s+hides\s+(?:her|his|their)\s+eyes\s+{_SPAN}$")),
    ("say", re.compile(rf"^{_WHO}\s+says\s+{_TEXT}\s+at\s+(?P<a>{_NUM})$")),
    ("answer", re.compile(rf"^{_WHO}\s+answers\s+{_TEXT}\s+(?P<d>{_NUM})\s*s\s+later$")),
)


def parse_event(sentence: str) -> Event:
    """One sentence of the language (module docstring) as an :class:`Event`."""
    text = " ".join(sentence.strip().split())
    for kind, pattern in _SENTENCES:
        m = pattern.match(text)
        if m is None:
            continue
        who = m["who"]
        if kind in ("look", "away", "back", "shoulder", "out", "smile", "blur", "hide"):
            start, end = float(m["a"]), float(m["b"])
            if end <= start:
                raise ScriptError(f"event {sentence!r}: the interval ends before it starts")
            if kind in ("smile", "blur", "hide"):
                return Event(who, kind, start, end, source=text)
            target = kind if kind in TURNS else m["target"]
            if target not in TARGETS or target == who or (kind == "look" and target in TURNS):
                valid = ", ".join(t for t in (*ROLES, "toy", "camera") if t != who)
                more = ", ".join(r for r in EXTRA_ROLES if r != who)
                raise ScriptError(
                    f"event {sentence!r}: {who} can look at {valid}, or a third person in the "
                    f"scene ({more})"
                )
            return Event(who, "look", start, end, target=target, source=text)
        if kind == "say":
            return Event(who, "say", float(m["a"]), text=m["text"], source=text)
        return Event(who, "say", float("nan"), text=m["text"], after=float(m["d"]), source=text)
    raise ScriptError(
        f"cannot read event {sentence!r}; write e.g. 'child looks at parent 2.0-5.0', "
        "'parent smiles 3-6.5', 'child says \"ba ba\" at 4.0', "
        "'parent answers \"yes, ball!\" 0.6 s later', 'parent turns away 8-11', "
        "'child leaves 5-8' or 'camera shakes 3-4'"
    )


_PERSON_KEYS = {
    "parent": ("face", "voice", "side"),
    "child": ("face", "voice", "side", "size"),
    "sibling": ("face", "voice", "side", "size", "childlike"),
    "parent2": ("face", "voice", "side", "size", "childlike"),
}


def _person(raw: Any, role: str, default: Person) -> Person:
    from vigcv.synth.facemesh import PHOTOS
    from vigcv.synth.voice import VOICES

    if not isinstance(raw, dict):
        raise ScriptError(f'[{role}] must be a table (e.g. face = "obama")')
    keys = _PERSON_KEYS[role]
    unknown = set(raw) - set(keys)
    if unknown:
        raise ScriptError(f"[{role}] has unknown keys {sorted(unknown)}; use {', '.join(keys)}")
    person = replace(default, **raw)
    if person.face not in PHOTOS:
        raise ScriptError(f"[{role}] face = {person.face!r}; use one of {', '.join(PHOTOS)}")
    if person.voice not in VOICES:
        raise ScriptError(f"[{role}] voice = {person.voice!r}; use one of {', '.join(VOICES)}")
    if person.side not in SIDES:
        raise ScriptError(f"[{role}] side = {person.side!r}; use left, middle or right")
    if person.size is not None:
        try:
            size = float(person.size)
        except (TypeError, ValueError):
            raise ScriptError(f"[{role}] size = {person.size!r}; use a number") from None
        if not 0.4 <= size <= 1.2:
            raise ScriptError(f"[{role}] size = {size}: the face height relative to the "
                              "parent's must be in 0.4..1.2")  # fmt: skip
        person = replace(person, size=size)
    if person.childlike is not None and not isinstance(person.childlike, bool):
        raise ScriptError(f"[{role}] childlike = {person.childlike!r}; use true or false")
    return person


def _people(
    raw: dict[str, Any], name: str
) -> tuple[Person, Person, tuple[tuple[str, Person], ...]]:
    """The parent, the child and the third person (if any) with their sides."""
    extra_names = [r for r in EXTRA_ROLES if r in raw]
    if len(extra_names) > 1:
        raise ScriptError(
            f"{name}: at most three people: [{extra_names[0]}] or [{extra_names[1]}], not both"
        )
    sides = {r: raw[r].get("side") for r in (*ROLES, *extra_names) if isinstance(raw.get(r), dict)}
    parent_side = sides.get("parent") or "left"
    child_side = sides.get("child") or ("right" if parent_side == "left" else "left")
    parent = _person(raw.get("parent", {}), "parent", Person("grace_hopper", "adult", parent_side))
    child = _person(raw.get("child", {}), "child", Person("astronaut", "child", child_side))
    extras: tuple[tuple[str, Person], ...] = ()
    if extra_names:
        role = extra_names[0]
        free = [s for s in SIDES if s not in (parent.side, child.side)]
        face = "obama" if role == "sibling" else "biden"
        voice = "child" if role == "sibling" else "adult_male"
        extra = _person(raw[role], role, Person(face, voice, free[0] if free else "middle"))
        extras = ((role, extra),)
    people = [("parent", parent), ("child", child), *extras]
    seen: dict[str, str] = {}
    for role, person in people:
        if person.side in seen:
            raise ScriptError(
                f"{name}: {seen[person.side]} and {role} cannot both sit on the {person.side}"
            )
        seen[person.side] = role
    if not extras and "middle" in seen:
        raise ScriptError(f'{name}: side = "middle" needs a third person; use left or right')
    return parent, child, extras


def parse_script(raw: dict[str, Any], *, name: str = "script") -> Script:
    """Validate a script already read from TOML (a dict) into a :class:`Script`."""
    known = {
        "title",
        "duration",
        "events",
        "attuned_moments",
        "parent",
        "child",
        *EXTRA_ROLES,
        "idle_gaze",
        "jitter_s",
        "idle_motion_deg",
        "blur_px",
        "view",
        "toy",
    }
    unknown = set(raw) - known
    if unknown:
        raise ScriptError(f"{name}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    try:
        duration = float(raw["duration"])
    except (KeyError, TypeError, ValueError):
        raise ScriptError(f"{name}: needs `duration = <seconds>`") from None
    if not 1.0 <= duration <= 3600.0:
        raise ScriptError(f"{name}: duration {duration} s is outside 1..3600")
    events = tuple(parse_event(str(s)) for s in raw.get("events", []))
    for ev in events:
        if ev.start > duration or (not np.isnan(ev.end) and ev.end > duration + 1e-9):
            raise ScriptError(f"{name}: event {ev.source!r} ends after duration {duration}")
        if ev.is_answer:
            earlier = events[: events.index(ev)]
            if not any(e.action == "say" and e.who != ev.who for e in earlier):
                raise ScriptError(f"{name}: {ev.source!r} answers nobody (no earlier utterance)")
    moments = []
    for i, m in enumerate(raw.get("attuned_moments", [])):
        try:
            moment = AttunedMoment(
                float(m["start"]), float(m["end"]), int(m["strength"]), str(m.get("why", ""))
            )
        except (KeyError, TypeError, ValueError):
            raise ScriptError(
                f"{name}: attuned_moments[{i}] needs start, end, strength (1-3) and why"
            ) from None
        if not (moment.end > moment.start and 1 <= moment.strength <= 3):
            raise ScriptError(f"{name}: attuned_moments[{i}] needs end > start, strength 1-3")
        moments.append(moment)
    idle = str(raw.get("idle_gaze", "toy"))
    if idle not in ("toy", "camera"):
        raise ScriptError(f"{name}: idle_gaze = {idle!r}; use toy or camera")
    view, toy = str(raw.get("view", "front")), str(raw.get("toy", "table"))
    if view not in VIEWS:
        raise ScriptError(f"{name}: view = {view!r}; use {' or '.join(VIEWS)}")
    if toy not in TOYS:
        raise ScriptError(f"{name}: toy = {toy!r}; use {' or '.join(TOYS)}")
    blur_px = float(raw.get("blur_px", 25.0))
    if not 1.0 <= blur_px <= 200.0:
        raise ScriptError(f"{name}: blur_px = {blur_px}; use 1..200")
    parent, child, extras = _people(raw, name)
    if extras and view != "front":
        raise ScriptError(f"{name}: view = {view!r} takes two people; three need view = front")
    present = set(ROLES) | {role for role, _ in extras}
    middle = next((r for r, p in (("parent", parent), ("child", child), *extras)
                   if p.side == "middle"), None)  # fmt: skip
    for ev in events:
        for role in (ev.who, ev.target):
            if role in PEOPLE and role not in present:
                raise ScriptError(
                    f"{name}: event {ev.source!r} names {role}, who is not in the scene; "
                    f"add a [{role}] table"
                )
        if ev.who == middle and ev.target in ("away", "out"):
            raise ScriptError(
                f"{name}: {ev.source!r}: the person in the middle has no side to turn away to "
                "or leave by; use 'looks at camera', 'looks at toy' or 'turns her back'"
            )
    return Script(
        title=str(raw.get("title", name)),
        duration=duration,
        events=events,
        attuned_moments=tuple(moments),
        parent=parent,
        child=child,
        idle_gaze=idle,
        jitter_s=float(raw.get("jitter_s", 0.15)),
        idle_motion_deg=float(raw.get("idle_motion_deg", 4.0)),
        blur_px=blur_px,
        view=view,
        toy=toy,
        extras=extras,
    )


def load_script(path: Path) -> Script:
    """Read and validate a script file (one-line :class:`ScriptError` on any problem)."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ScriptError(f"script {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScriptError(f"script {path} is not valid TOML: {exc}") from None
    return parse_script(raw, name=path.stem)


def jittered(script: Script, rng: np.random.Generator) -> Script:
    """The script with every time moved by up to ``jitter_s`` (answers' delays by half that).

    Intervals keep at least 0.3 s; attuned moments move by the mean shift of the events they
    overlap, so that the labels follow the jittered truth.
    """
    j = script.jitter_s
    if j <= 0:
        return script
    events, shifts = [], []
    for ev in script.events:
        d0, d1 = rng.uniform(-j, j, size=2)
        if ev.is_answer:
            after = max(0.1, ev.after + rng.uniform(-j / 2, j / 2))
            events.append(replace(ev, after=after))
            shifts.append(0.0)
            continue
        start = float(np.clip(ev.start + d0, 0.0, script.duration - 0.3))
        end = ev.end
        if not np.isnan(ev.end):
            end = float(np.clip(ev.end + d1, start + 0.3, script.duration))
        events.append(replace(ev, start=start, end=end))
        shifts.append(start - ev.start)
    moments = []
    for m in script.attuned_moments:
        near = [
            s
            for ev, s in zip(script.events, shifts, strict=True)
            if not ev.is_answer and ev.start < m.end and (np.isnan(ev.end) or ev.end > m.start)
        ]
        shift = float(np.mean(near)) if near else 0.0
        start = round(max(0.0, m.start + shift), 2)
        end = round(min(script.duration, m.end + shift), 2)
        moments.append(replace(m, start=start, end=end))
    return replace(script, events=tuple(events), attuned_moments=tuple(moments))
