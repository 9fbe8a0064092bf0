"""Windows, scores and moments in one call, with plain-English notes about what could be seen."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from vigcv.scoring.combine import Combiner, WindowScores, score_windows
from vigcv.scoring.reasons import capitalise, people_names
from vigcv.scoring.select import select_moments
from vigcv.scoring.windows import Windows, compute_windows
from vigcv.types import FrameFeatures, Moment, SpeechTrack


def session_notes(
    windows: Windows, moments: list[Moment], *, config: Mapping[str, Any]
) -> list[str]:
    """Statements for the guider about the footage: what was missing and what the ranking rests on.

    Returns
    -------
    list of str
        Possibly empty; each a full sentence.
    """
    tl = windows.timeline
    notes = []
    if not tl.has_faces and not tl.has_speech:
        notes.append(
            "Neither faces nor speech were found, so no moments could be suggested; check that "
            "the film shows both faces and has sound."
        )
        return notes
    if not tl.has_faces:
        notes.append(
            "No faces were found, so gaze and smiles could not be scored; moments are ranked on "
            "speech only."
        )
    if not tl.has_speech:
        basis = "gaze and smiles" if tl.has_faces else "what could be seen"
        notes.append(
            "No speech was found (or the film has no sound), so spoken turns could not be "
            f"scored; moments are ranked on {basis} only."
        )
    if tl.has_faces:
        both = tl.table["both_visible"].to_numpy(dtype=float)
        share = float(np.nanmean(np.nan_to_num(both, nan=0.0))) if len(both) else 0.0
        if share < 0.5:
            notes.append(
                f"Both faces were visible in {round(100 * share)}% of the session, so gaze and "
                "smiles are scored only where they could be seen."
            )
        notes.extend(_unread_notes(tl.table, config=config))
    top_k = int(config["selection"]["top_k"])
    if len(moments) == 0:
        notes.append("No stretch of the session stood out, so no moments are suggested.")
    elif len(moments) < top_k:
        gap = float(config["selection"]["min_gap_s"])
        stood = "1 moment stood out" if len(moments) == 1 else f"{len(moments)} moments stood out"
        notes.append(f"{stood} (of up to {top_k}), kept at least {gap:g} s apart.")
    return notes


def _unread_notes(table: Any, *, config: Mapping[str, Any]) -> list[str]:
    """A note per person whose face, found with the other's, could often not be read.

    Among the steps where both faces were found, the share where the person's gaze is unknown
    (the face turned away, hidden, blurred: vigcv.vision's measurement checks); a note when it
    is at least ``[scoring] note_unread_share``.
    """
    names = people_names(config)
    both = np.nan_to_num(table["both_visible"].to_numpy(dtype=float), nan=0.0) >= 0.5
    if both.sum() == 0:
        return []
    notes = []
    for role, other in (("child", "parent"), ("parent", "child")):
        unread = float(np.mean(np.isnan(table[f"{role}_looks"].to_numpy(dtype=float)[both])))
        if unread >= float(config["scoring"]["note_unread_share"]):
            name = names[role]
            notes.append(
                f"{capitalise(name)}'s face was in view but could not be read "
                f"(turned away, hidden or blurred) in {round(100 * unread)}% of the frames "
                f"with both faces, so {name}'s gaze and smiles count only where they could be "
                f"read; elsewhere the moments rest on speech and {names[other]}'s face."
            )
    return notes


def score_session(
    frames: FrameFeatures,
    speech: SpeechTrack,
    *,
    config: Mapping[str, Any],
    weights: Mapping[str, float] | None = None,
    combine: str | Combiner | None = None,
) -> tuple[WindowScores, list[Moment], list[str]]:
    """Compute windows, score them and select the moments of one session.

    Parameters
    ----------
    frames, speech : FrameFeatures, SpeechTrack
        The session's cached features (either may be empty).
    config : dict
        The full vigcv config.
    weights, combine : optional
        Override ``[scoring.weights]`` / ``[scoring] combine`` (see
        :func:`~vigcv.scoring.combine.score_windows`).

    Returns
    -------
    scores : WindowScores
    moments : list of Moment
        Ranked, rank 1 first.
    notes : list of str
        Plain-English statements for the guider (missing faces or speech, few moments).
    """
    windows = compute_windows(frames, speech, config=config)
    scores = score_windows(windows, weights=weights, combine=combine, config=config)
    moments = select_moments(scores, frames, speech, config=config)
    return scores, moments, session_notes(windows, moments, config=config)
