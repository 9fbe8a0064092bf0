"""An ELAN ``.eaf`` annotation file per session, written with pympi-ling.

Tiers: ``Moments`` (each suggested moment with its rank, score, the guider's decision and its
reasons), ``Mutual gaze``, ``Parent smile``, ``Child smile`` (intervals where the per-frame
probability is at least one half) and ``Parent speech``, ``Child speech`` (and ``Other speech``
for speakers that are neither). Times are whole milliseconds, as ELAN stores them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pympi.Elan import Eaf, to_eaf

from vigcv.intervals import true_runs
from vigcv.io.store import atomic_path

SIGNAL_TIERS = {
    "mutual_gaze": "Mutual gaze",
    "parent_smile": "Parent smile",
    "child_smile": "Child smile",
}
SPEECH_TIERS = {"parent": "Parent speech", "child": "Child speech"}


def runs(
    t: np.ndarray, values: np.ndarray, *, threshold: float = 0.5, min_s: float = 0.2
) -> list[tuple[float, float]]:
    """Intervals where a sampled signal is at least ``threshold``.

    Parameters
    ----------
    t : ndarray, shape (n,)
        Sample times in seconds, increasing.
    values : ndarray, shape (n,)
        Signal values (NaN counts as below).
    threshold : float
        Level a sample must reach.
    min_s : float
        Shorter intervals are dropped (seconds).

    Returns
    -------
    list of (start, end)
        Seconds; each interval ends half a sample step after its last sample.
    """
    t = np.asarray(t, dtype=float)
    on = np.nan_to_num(np.asarray(values, dtype=float), nan=-1.0) >= threshold
    if t.size == 0 or not on.any():
        return []
    step = float(np.median(np.diff(t))) if t.size > 1 else 0.1
    out = []
    for a, stop in true_runs(on):
        start, end = float(t[a]), float(t[stop - 1]) + step
        if end - start >= min_s:
            out.append((start, end))
    return out


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _add(eaf: Eaf, tier: str, start: float, end: float, value: str) -> None:
    a, b = _ms(start), _ms(end)
    if b > a:
        eaf.add_annotation(tier, a, b, value)


def build_eaf(
    *,
    moments: Sequence[dict[str, Any]],
    timeline: pd.DataFrame | None,
    speech: pd.DataFrame | None,
    media: Path | None,
) -> Eaf:
    """The ELAN document of one session.

    Parameters
    ----------
    moments : sequence of dict
        Moments as moments.json has them, each optionally with ``decision`` (``status``,
        ``note``) and ``bounds`` ([start, end] seconds, trimmed by the guider).
    timeline : DataFrame or None
        timeline.csv (``t`` plus the signal columns).
    speech : DataFrame or None
        speech.csv (``start``, ``end``, ``speaker``).
    media : Path or None
        The recording, linked so ELAN opens it beside the tiers.
    """
    eaf = Eaf(author="vigcv")
    eaf.remove_tier("default")
    if media is not None:
        mime = "video/mp4" if media.suffix.lower() in (".mp4", ".m4v", ".mov") else None
        eaf.add_linked_file(media.resolve().as_uri(), mimetype=mime)
    eaf.add_tier("Moments")
    for m in moments:
        start, end = m.get("bounds") or (m["start"], m["end"])
        decision = m.get("decision") or {}
        status = {"accepted": "kept", "rejected": "not kept"}.get(decision.get("status", ""), "")
        head = f"#{m.get('rank', '?')} score {float(m.get('score', 0.0)):.2f}"
        if status:
            head += f" ({status})"
        text = " ".join([head + ":", *[str(r) for r in m.get("reasons", [])]])
        if decision.get("note"):
            text += f" Note: {decision['note']}"
        _add(eaf, "Moments", float(start), float(end), text)
    for column, tier in SIGNAL_TIERS.items():
        eaf.add_tier(tier)
        if timeline is not None and column in timeline and "t" in timeline:
            for start, end in runs(timeline["t"].to_numpy(), timeline[column].to_numpy()):
                _add(eaf, tier, start, end, tier.lower())
    for tier in (*SPEECH_TIERS.values(), "Other speech"):
        eaf.add_tier(tier)
    if speech is not None and {"start", "end", "speaker"} <= set(speech.columns):
        for row in speech.itertuples(index=False):
            start, end = float(row.start), float(row.end)
            if not (math.isfinite(start) and math.isfinite(end)):
                continue
            speaker = str(row.speaker)
            tier = SPEECH_TIERS.get(speaker, "Other speech")
            _add(eaf, tier, start, end, speaker if tier == "Other speech" else "speaks")
    return eaf


def write_eaf(eaf: Eaf, path: Path) -> Path:
    """Write ``eaf`` to ``path`` (temporary name, then renamed)."""
    with atomic_path(path) as tmp:
        tmp.unlink()  # pympi would otherwise keep the empty placeholder as a .bak file
        to_eaf(str(tmp), eaf, pretty=True)
    return path
