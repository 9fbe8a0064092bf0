"""Plain, strengths-based English reasons for a suggested moment, citing times and behaviours.

The reasons describe what the parent and the child did together, never what was absent: no
sentence may judge the parent (see :data:`JUDGING_WORDS`, checked by the tests).

They say no more than the measurement supports, since a guider may repeat them to a parent:

- durations are whole seconds with "about" ("for about 3 s"), answers "within a second" or
  "within about 2 s"; shares are words ("mostly"), not percentages;
- a signal that reads as on for most of the session (more than ``[scoring]
  reason_common_share`` of the frames where it was measured: a parent whose smile is read as on
  in 94% of frames) does not single out this moment, so no reason rests on it ("Both smiled
  together" becomes "The child smiled" when it is the parent's smile that is always on);
- no figure comes from an unmeasured (NaN) signal: a share needs the signal measured in at least
  ``[scoring] reason_measured_share`` of the moment, a bout is only counted over measured steps;
- no certainty words (:data:`CERTAINTY_WORDS`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from vigcv.clock import clock as format_time
from vigcv.intervals import true_runs
from vigcv.scoring.timeline import Timeline
from vigcv.types import Segment

# Words and stems a reason must never contain (they judge rather than describe strengths).
JUDGING_WORDS = (
    "fail", "ignor", "miss", "poor", "bad", "wrong", "should", "neglect", "lack", "unresponsive",
    "inattentive", "careless", "didn't", "did not", "never", "only", "but ", "however", "late",
    "slow", "weak", "insensitive", "absent", "not enough", "too little", "too few", "rarely",
    "hardly", "barely", "struggl", "unable", "cannot", "can't", "problem", "difficult", "concern",
    "deficit", "improve", "better", "instead", "although", "harsh", "cold", "distracted",
)  # fmt: skip
# Words that claim more certainty than a video measurement gives; no reason uses them.
CERTAINTY_WORDS = (
    "always", "exactly", "clearly", "definitely", "certainly", "constantly", "entire", "whole",
    "throughout", "completely", "perfectly", "precisely", "every", "all the time", "100%",
)  # fmt: skip

# What the child did (after the child's name) and how the parent answered (after the parent's).
_ACT = {"gaze": "turned to look at {parent}", "vocal": "vocalised", "smile": "smiled"}
# How the parent answered (by the response's kind), after a wait and straight away.
_ANSWER = {"gaze": "turned to {child}", "speech": "answered", "smile": "smiled at {child}"}
_ALREADY = {
    "gaze": "was already looking at {child}",
    "speech": "answered straight away",
    "smile": "was already smiling",
}
_ORDER = {"gaze": 0, "vocal": 1, "smile": 2}
# A child's vocal turn at least this long (s) is cited with its end ("vocalised until 03:59"),
# from which the parent's answer is timed.
LONG_VOCAL_S = 2.0


def capitalise(text: str) -> str:
    """``text`` with its first letter upper-case ("the child" -> "The child")."""
    return text[:1].upper() + text[1:]


def people_names(config: Mapping[str, Any]) -> dict[str, str]:
    """How reasons and notes name the two people: ``[scoring.names]`` by role."""
    names = config["scoring"]["names"]
    return {"parent": str(names["parent"]), "child": str(names["child"])}


def about_seconds(seconds: float) -> str:
    """A duration as a guider would say it: ``about 3 s`` (whole seconds, at least 1)."""
    return f"about {max(1, round(seconds))} s"


def within(latency: float) -> str:
    """How soon an answer came: ``within a second`` or ``within about 2 s`` (rounded up)."""
    if latency < 1.0:
        return "within a second"
    return f"within about {math.ceil(latency - 1e-9)} s"


def common_share(values: np.ndarray, present: float) -> float:
    """Share of the measured (finite) steps where ``values`` is at least ``present``; NaN when
    nothing was measured."""
    measured = np.isfinite(values)
    if not measured.any():
        return math.nan
    return float(np.count_nonzero(values[measured] >= present) / np.count_nonzero(measured))


def informative(values: np.ndarray, present: float, common: float) -> bool:
    """The signal was measured in the session and is on in at most ``common`` of its measured
    steps (``[scoring] reason_common_share``), so it being on can single out a moment."""
    share = common_share(values, present)
    return math.isfinite(share) and share <= common


def _longest_bout(on: np.ndarray) -> tuple[int, int]:
    """(start index, length) of the longest run of True in ``on`` ((0, 0) if none)."""
    runs = true_runs(on)
    if not runs:
        return 0, 0
    start, end = max(runs, key=lambda run: run[1] - run[0])  # the first of equally long runs
    return start, end - start


def _initiative_sentences(
    timeline: Timeline,
    seg: Segment,
    names: Mapping[str, str],
    *,
    limit: int,
    skip_already: set[str],
) -> list[str]:
    """One sentence per answered initiative (the first of each kind), in time order.

    Initiatives of a kind in ``skip_already`` that met an answer already there (latency < 0.15 s)
    are left to the bout sentences (the shared look or smile says it better)."""
    ev = timeline.events
    if len(ev) == 0:
        return []
    t = ev["onset_t"].to_numpy(dtype=float)
    latency = ev["latency_s"].to_numpy(dtype=float)
    inside = (t >= seg.start) & (t < seg.end) & ev["answered"].to_numpy(dtype=bool)
    inside &= np.isfinite(latency)  # an answer whose time was not measured is not cited
    already = (latency < 0.15) & ev["kind"].isin(skip_already).to_numpy(dtype=bool)
    picked = ev[inside & ~already]
    picked = picked.sort_values("onset_t", kind="stable").drop_duplicates("kind").head(limit)
    rows = list(picked.itertuples(index=False))
    out = []
    while rows:
        # initiatives that begin within half a second of each other make one sentence
        group = [r for r in rows if float(r.onset_t) - float(rows[0].onset_t) <= 0.5]
        rows = rows[len(group) :]
        group.sort(key=lambda r: _ORDER.get(str(r.kind), 3))
        acts: list[str] = []
        quickest: dict[str, float] = {}  # how the parent answered -> its shortest latency
        for r in group:
            kind = str(r.kind) if str(r.kind) in _ACT else "vocal"
            how = str(r.response) if str(r.response) in _ANSWER else "speech"
            act = _ACT[kind]
            if kind == "vocal" and float(r.initiative_t) - float(r.onset_t) >= LONG_VOCAL_S:
                # a long turn: the answer's time counts from its end, so say where that is
                act += f" until {format_time(float(r.initiative_t))}"
            if act not in acts:
                acts.append(act)
            quickest[how] = min(quickest.get(how, np.inf), float(r.latency_s))
        answers = _answers(quickest)
        acts = [a.format(**names) for a in acts]
        answers = [a.format(**names) for a in answers]
        at = format_time(float(group[0].onset_t))
        out.append(
            f"At {at} {names['child']} {' and '.join(acts)}; "
            f"{names['parent']} {' and '.join(answers)}."
        )
    return out


def _answers(quickest: Mapping[str, float]) -> list[str]:
    """The parent's answers, those that came equally soon said once: "turned to the child and
    answered within a second"."""
    out: list[str] = []
    by_time: dict[str, list[str]] = {}
    for how, latency in quickest.items():
        if latency < 0.15:
            out.append(_ALREADY[how])
        else:
            by_time.setdefault(within(latency), []).append(_ANSWER[how])
    out += [" and ".join(hows) + " " + when for when, hows in by_time.items()]
    return out


def _bout(values: np.ndarray, present: float) -> tuple[int, float]:
    """(start index, length in steps) of the longest measured run at or above ``present``."""
    start, length = _longest_bout(np.nan_to_num(values, nan=0.0) >= present)
    return start, float(length)


def _bout_sentence(
    values: np.ndarray, t0: float, step: float, present: float, template: str, min_s: float
) -> str | None:
    start, length = _bout(values, present)
    seconds = length * step
    if seconds < min_s:
        return None
    return template.format(at=format_time(t0 + start * step), dur=about_seconds(seconds))


def _smile_sentence(
    timeline: Timeline,
    part: Any,
    *,
    t0: float,
    step: float,
    present: float,
    common: float,
    names: Mapping[str, str],
) -> str | None:
    """Shared smiling, worded by which smiles are informative in this session: both ("Both
    smiled together"), only the child's ("The child smiled": the parent's smile reads as on most
    of the session) or only the parent's; none when neither is."""
    parent = informative(timeline.column("parent_smile"), present, common)
    child = informative(timeline.column("child_smile"), present, common)
    p, c = names["parent"], names["child"]
    if parent and child:
        return _bout_sentence(
            part("both_smile"), t0, step, present, "Both smiled together for {dur}, from {at}.", 0.5
        )
    if child:
        return _bout_sentence(
            part("child_smile"),
            t0,
            step,
            present,
            f"{capitalise(c)} smiled for {{dur}}, from {{at}}.",
            0.5,
        )
    if parent:
        return _bout_sentence(
            part("parent_smile"),
            t0,
            step,
            present,
            f"{capitalise(p)} smiled for {{dur}}, from {{at}}.",
            0.5,
        )
    return None


def moment_reasons(
    timeline: Timeline,
    segment: Segment,
    *,
    components: Mapping[str, float],
    config: Mapping[str, Any],
    max_initiatives: int = 2,
) -> tuple[str, ...]:
    """Reasons for the moment ``segment``, in time order of the behaviours they cite.

    Parameters
    ----------
    timeline : Timeline
        The session's per-step features and child initiatives (the whole session: how common a
        signal is decides whether it can single out this moment).
    segment : Segment
        The moment, seconds.
    components : dict
        The moment's component scores (0..1), to add supporting signals.
    config : dict
        ``scoring`` and ``selection`` sections (``scoring.names``, ``scoring.present``).

    Returns
    -------
    tuple of str
        One to five sentences; never empty.
    """
    sc = config["scoring"]
    names = people_names(config)
    present = float(sc["present"])
    common = float(sc["reason_common_share"])
    step = timeline.step
    table = timeline.table
    t = table["t"].to_numpy(dtype=float)
    i0, i1 = np.searchsorted(t, [segment.start, segment.end])
    t0 = float(t[i0]) - 0.5 * step if i1 > i0 else segment.start

    def part(name: str) -> np.ndarray:
        return table[name].to_numpy(dtype=float)[i0:i1]

    p, c = names["parent"], names["child"]
    gaze = None
    if informative(timeline.column("mutual_gaze"), present, common):
        gaze = _bout_sentence(
            part("mutual_gaze"), t0, step, present,
            f"From {{at}} {p} and {c} looked at each other for {{dur}}.", 0.5,
        )  # fmt: skip
    smiles = _smile_sentence(
        timeline, part, t0=t0, step=step, present=present, common=common, names=names
    )
    skip = {kind for kind, said in (("gaze", gaze), ("smile", smiles)) if said}
    reasons = _initiative_sentences(
        timeline, segment, names, limit=max_initiatives, skip_already=skip
    )
    reasons += [capitalise(text) for text in (gaze, smiles) if text]
    parent_smiles = informative(timeline.column("parent_smile"), present, common) & (
        np.nan_to_num(part("parent_smile")) >= present
    )
    child_laughs = part("child_laugh") > 0
    together = child_laughs & ((part("parent_laugh") > 0) | parent_smiles)
    if together.any():
        first = int(np.argmax(together))
        reasons.append(f"At {format_time(t0 + first * step)} they laughed together.")
    elif child_laughs.any():
        first = int(np.argmax(child_laughs))
        reasons.append(f"At {format_time(t0 + first * step)} {c} laughed.")
    if components.get("turn_taking", 0.0) >= 0.4:
        switches = _speaker_switches(part("parent_speech"), part("child_speech"))
        if switches >= 2:
            reasons.append(
                f"They took turns: the talk passed between {p} and {c} {switches} times "
                f"in {about_seconds(segment.duration)}."
            )
    looks = part("parent_looks")
    measured = float(np.isfinite(looks).mean()) if len(looks) else 0.0
    if (
        not gaze
        and measured >= float(sc["reason_measured_share"])
        and informative(timeline.column("parent_looks"), present, common)
        and np.nanmean(looks) >= 0.7
    ):
        reasons.append(capitalise(f"{p} mostly kept their eyes on {c} in this moment."))
    if components.get("proximity", 0.0) >= 0.7:
        reasons.append(capitalise(f"{p} and {c} stayed close to each other."))
    if not reasons:
        reasons.append(_fallback(segment, part, present, names))
    return tuple(reasons)


def _speaker_switches(parent: np.ndarray, child: np.ndarray) -> int:
    who = np.where(parent > 0, 1, np.where(child > 0, 2, 0))
    who = who[who > 0]
    return int(np.count_nonzero(np.diff(who))) if len(who) > 1 else 0


def _fallback(segment: Segment, part: Any, present: float, names: Mapping[str, str]) -> str:
    a, b = format_time(segment.start), format_time(segment.end)
    p, c = names["parent"], names["child"]
    if (part("child_speech") > 0).any() and (part("parent_speech") > 0).any():
        return f"Between {a} and {b} {p} and {c} both used their voices, sharing the moment."
    if (np.nan_to_num(part("child_smile")) >= present).any():
        return f"Between {a} and {b} {c} smiled while they played together."
    if (np.nan_to_num(part("parent_looks")) >= present).any():
        return f"Between {a} and {b} {p} watched {c} as they played."
    return f"Between {a} and {b} {p} and {c} shared this stretch of play."
