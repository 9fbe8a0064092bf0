"""Consent-aware sharing: faces blurred for anyone who has not agreed to be shown.

- :mod:`vigcv.privacy.blur`: face boxes over time (a session's tracks, the detector's finds),
  the blur itself, and a film's frames blurred in order (:class:`FrameBlurrer`).
- :mod:`vigcv.privacy.consent`: a session's people and who may be shown; ``--keep`` read as
  roles, names and ids; the :class:`BlurPlan` of a session.
- :mod:`vigcv.privacy.film`: a film or a part of it written as a new mp4 with faces blurred,
  the sound kept and no metadata (:func:`blur_film`, ``vigcv blur``; the exported clips too).
"""

from __future__ import annotations

from vigcv.privacy.blur import BlurPlan, BlurSettings, FaceTracks, blur_boxes
from vigcv.privacy.consent import blur_plan, resolve_keep, session_people, split_keep
from vigcv.privacy.film import FilmResult, blur_film, blurred_still, write_film

__all__ = [
    "BlurPlan",
    "BlurSettings",
    "FaceTracks",
    "FilmResult",
    "blur_boxes",
    "blur_film",
    "blur_plan",
    "blurred_still",
    "resolve_keep",
    "session_people",
    "split_keep",
    "write_film",
]
