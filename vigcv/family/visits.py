"""A family's visits read for display: their dates and the moments the guider kept.

Only kept moments (status ``accepted`` in ``OUT/reviews.sqlite``) are read, with the guider's
note for the parent; a set-aside or undecided moment and a private note never leave here. The
stills show only the people who may be shown: every other face is blurred (:mod:`vigcv.privacy`).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigcv.errors import VigcvError
from vigcv.family.dates import visit_dates
from vigcv.privacy import BlurPlan, blur_plan, blurred_still
from vigcv.results.decisions import DB_NAME, open_store
from vigcv.results.folder import is_family
from vigcv.results.sessions import Session, load_session, reviewed_moments
from vigcv.scoring.reasons import JUDGING_WORDS

STILL_WIDTH = 320  # pixels
_JUDGING = re.compile(r"\b(" + "|".join(re.escape(w.strip()) for w in JUDGING_WORDS) + ")", re.I)


@dataclass(frozen=True)
class KeptMoment:
    """A moment the guider kept: its bounds (trimmed), reasons, note for the parent, still."""

    start: float
    end: float
    reasons: list[str]
    parent_note: str
    still: bytes | None


@dataclass(frozen=True)
class Visit:
    name: str  # the visit folder's name
    session: str  # "<family>/<visit>"
    date: dt.date
    date_source: str
    folder: Path
    kept: list[KeptMoment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def family_folder(path: Path) -> Path:
    """``path`` checked to be a family folder ``OUT/<family>``; a one-line error otherwise."""
    path = Path(path)
    if not path.is_dir():
        raise VigcvError(f"{path}: no such folder; give OUT/<family> of `vigcv run`")
    if not is_family(path):
        raise VigcvError(
            f"{path}: not a family folder (no family.json); file each family's films in a folder "
            "of its own (films/<family>/<visit>.mp4) and run `vigcv run films --out OUT`"
        )
    return path


def _still(
    session: Session, t: float, problems: list[str], plans: dict[str, BlurPlan]
) -> bytes | None:
    """The picture at ``t`` with every face blurred but those of the people who may be shown
    (the parent figures and the index child unless the guider chose otherwise)."""
    media = session.media
    if media is None or not session.has_video:
        return None
    try:
        if session.name not in plans:
            plans[session.name] = blur_plan(session.folder)
        return blurred_still(media, t, width=STILL_WIDTH, plan=plans[session.name])
    except VigcvError as exc:
        problems.append(f"{session.name}: no still at {t:.1f} s ({exc})")
        return None


def read_visits(family: Path, *, stills: bool = True) -> list[Visit]:
    """The visits of a family folder in date order, each with its kept moments in film order."""
    family = family_folder(family)
    out = family.parent
    dates = visit_dates(family)
    order = sorted(dates, key=lambda v: (dates[v][0], v))
    has_reviews = (out / DB_NAME).is_file()
    visits = []
    store = open_store(out) if has_reviews else None
    plans: dict[str, BlurPlan] = {}
    try:
        for name in order:
            session_name = f"{family.name}/{name}"
            session = load_session(out, session_name)
            problems = list(session.problems)
            kept: list[KeptMoment] = []
            if store is not None:
                for m in reviewed_moments(session, store):
                    decision: dict[str, Any] = m.get("decision") or {}
                    if decision.get("status") != "accepted":
                        continue
                    start, end = (float(x) for x in m["bounds"])
                    reasons = [str(r) for r in m.get("reasons", []) if not _JUDGING.search(str(r))]
                    kept.append(
                        KeptMoment(
                            start=start,
                            end=end,
                            reasons=reasons,
                            parent_note=str(decision.get("parent_note") or "").strip(),
                            still=_still(session, 0.5 * (start + end), problems, plans)
                            if stills
                            else None,
                        )
                    )
            kept.sort(key=lambda k: k.start)
            visits.append(
                Visit(
                    name=name,
                    session=session_name,
                    date=dates[name][0],
                    date_source=dates[name][1],
                    folder=session.folder,
                    kept=kept,
                    problems=problems,
                )
            )
    finally:
        if store is not None:
            store.close()
    return visits


def data_uri(jpeg: bytes | None) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode() if jpeg else ""


def long_date(date: dt.date) -> str:
    """``6 March 2026``."""
    return f"{date.day} {date:%B %Y}" if date != dt.date.min else "date unknown"


def dated_folder(parent: Path, date: dt.date) -> Path:
    """A new folder ``parent/<YYYY-MM-DD>`` (``-2``, ``-3``... when taken): an earlier report
    is never replaced."""
    base = parent / date.isoformat()
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = parent / f"{base.name}-{n}"
    return candidate
