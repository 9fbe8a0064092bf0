"""Plain, strengths-based English reasons for a suggested moment, citing times and behaviours.

The reasons describe what the parent and the child did together, never what was absent: no
sentence may judge the parent (see :data:`JUDGING_WORDS`, checked by the tests).
"""

from __future__ import annotations

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
    "slow", "weak", "insensitive", "absent",
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


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


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
    inside = (t >= seg.start) & (t < seg.end) & ev["answered"].to_numpy(dtype=bool)
    already = (ev["latency_s"].to_numpy(dtype=float) < 0.15) & ev["kind"].isin(skip_already)
    picked = ev[inside & ~already.to_numpy(dtype=bool)]
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
            if _ACT[kind] not in acts:
                acts.append(_ACT[kind])
            quickest[how] = min(quickest.get(how, np.inf), float(r.latency_s))
        answers = [
            _ALREADY[how] if latency < 0.15 else f"{_ANSWER[how]} within {latency:.1f} s"
            for how, latency in quickest.items()
        ]
        acts = [a.format(**names) for a in acts]
        answers = [a.format(**names) for a in answers]
        at = format_time(float(group[0].onset_t))
        out.append(
            f"At {at} {names['child']} {' and '.join(acts)}; "
            f"{names['parent']} {' and '.join(answers)}."
        )
    return out


def _bout_sentence(
    values: np.ndarray, t0: float, step: float, present: float, template: str, min_s: float
) -> str | None:
    start, length = _longest_bout(np.nan_to_num(values, nan=0.0) >= present)
    seconds = length * step
    if seconds < min_s:
        return None
    return template.format(at=format_time(t0 + start * step), dur=f"{seconds:.1f}")


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
        The session's per-step features and child initiatives.
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
    names = {"parent": str(sc["names"]["parent"]), "child": str(sc["names"]["child"])}
    present = float(sc["present"])
    step = timeline.step
    table = timeline.table
    t = table["t"].to_numpy(dtype=float)
    i0, i1 = np.searchsorted(t, [segment.start, segment.end])
    t0 = float(t[i0]) - 0.5 * step if i1 > i0 else segment.start

    def part(name: str) -> np.ndarray:
        return table[name].to_numpy(dtype=float)[i0:i1]

    p, c = names["parent"], names["child"]
    gaze = _bout_sentence(
        part("mutual_gaze"), t0, step, present,
        f"From {{at}} {p} and {c} looked at each other for {{dur}} s.", 0.5,
    )  # fmt: skip
    smiles = _bout_sentence(
        part("both_smile"), t0, step, present, "Both smiled together for {dur} s, from {at}.", 0.5
    )
    skip = {kind for kind, said in (("gaze", gaze), ("smile", smiles)) if said}
    reasons = _initiative_sentences(
        timeline, segment, names, limit=max_initiatives, skip_already=skip
    )
    reasons += [_cap(text) for text in (gaze, smiles) if text]
    laugh = (part("child_laugh") > 0) & (
        (part("parent_laugh") > 0) | (np.nan_to_num(part("parent_smile")) >= present)
    )
    if laugh.any():
        first = int(np.argmax(laugh))
        reasons.append(f"They laughed together at {format_time(t0 + first * step)}.")
    if components.get("turn_taking", 0.0) >= 0.4:
        switches = _speaker_switches(part("parent_speech"), part("child_speech"))
        if switches >= 2:
            reasons.append(
                f"They took turns: the talk passed between {p} and {c} {switches} times "
                f"in {segment.duration:.0f} s."
            )
    looks = part("parent_looks")
    if not gaze and np.isfinite(looks).any() and np.nanmean(looks) >= 0.7:
        share = round(100 * float(np.nanmean(looks)))
        reasons.append(_cap(f"{p} kept their eyes on {c} for {share}% of the moment."))
    if components.get("proximity", 0.0) >= 0.7:
        reasons.append(_cap(f"{p} and {c} stayed close to each other."))
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
        return f"Between {a} and {b} {p} watched {c} closely."
    return f"Between {a} and {b} {p} and {c} shared this stretch of play."
