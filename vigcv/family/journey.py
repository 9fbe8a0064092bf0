"""The parent's journey: a strengths-only page of the moments kept at each visit, side by side
in date order, with the guider's notes for the parent.

No number, score, curve or indicator: only dates, the stills (or the clips of the visit's latest
parent export, when it holds the moment) and the guider's words. No set-aside or undecided
moment, no private note. Self-contained: it opens from disk (the clips, when there are any, stay
in ``OUT/exports`` and are linked relatively).
"""

from __future__ import annotations

import datetime as dt
import html
import os
import urllib.parse
from pathlib import Path

from vigcv.clock import clock
from vigcv.family.visits import KeptMoment, Visit, data_uri, dated_folder, long_date, read_visits
from vigcv.io.store import output_error, write_text
from vigcv.results.folder import EXPORTS_FOLDER, JOURNEY_FILE, JOURNEY_FOLDER, file_stem

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; media-src 'self' file:"
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f4ef;
color:#222;font-size:17px;line-height:1.45}
header{background:#1b9e77;color:#fff;padding:1.2rem 1.5rem}h1{margin:0;font-size:1.6rem}
main{padding:1rem 1.5rem}.visits{display:grid;grid-auto-flow:column;grid-auto-columns:
minmax(16rem,1fr);gap:1rem;overflow-x:auto;align-items:start}
.visit{background:#fff;border-radius:10px;padding:.8rem;box-shadow:0 1px 3px #0002}
.visit h2{font-size:1.1rem;margin:0 0 .6rem}.moment{margin:0 0 1rem}
.moment img,.moment video{width:100%;height:auto;border-radius:6px;display:block}
.note{background:#fff7dd;border-radius:6px;padding:.4rem .6rem;margin-top:.4rem}
.when{color:#555;font-size:.9rem}
@media print{.visits{grid-auto-flow:row;grid-template-columns:repeat(2,1fr)}}
"""


def _clip(visit: Visit, moment: KeptMoment, out: Path, page_folder: Path) -> str | None:
    """The relative URL of the moment's clip in the visit's latest parent export, if any."""
    exports = out / EXPORTS_FOLDER / visit.session
    if not exports.is_dir():
        return None
    folders = sorted(p for p in exports.iterdir() if p.name.endswith("-parent") and p.is_dir())
    if not folders:
        return None
    m, s = divmod(int(moment.start), 60)
    stem = file_stem(visit.session)
    for clip in sorted((folders[-1] / "clips").glob(f"{stem}-moment*-{m:02d}m{s:02d}s.mp4")):
        rel = os.path.relpath(clip, page_folder)
        return urllib.parse.quote(Path(rel).as_posix())
    return None


def journey_html(visits: list[Visit], *, family: str, clips: dict[int, str]) -> str:
    """The page; ``clips`` maps ``id(moment)`` to its clip's relative URL."""
    esc = html.escape
    columns = []
    for number, visit in enumerate(visits, start=1):
        items = []
        for k in visit.kept:
            label = f"A moment from {long_date(visit.date)}, at {clock(k.start)} in the film"
            clip = clips.get(id(k))
            poster = data_uri(k.still)
            if clip:
                media = (
                    f"<video controls preload='none' src='{esc(clip)}'"
                    + (f" poster='{poster}'" if poster else "")
                    + f" aria-label='{esc(label)}'></video>"
                )
            elif poster:
                media = f"<img src='{poster}' alt='{esc(label)}'>"
            else:
                media = ""
            why = f"<div>{esc(k.reasons[0])}</div>" if k.reasons else ""
            note = f"<div class='note'>{esc(k.parent_note)}</div>" if k.parent_note else ""
            items.append(
                f"<div class='moment'>{media}<div class='when'>{clock(k.start)} in the film"
                f"</div>{why}{note}</div>"
            )
        if not items:
            items.append("<p class='when'>Moments from this visit will be added here.</p>")
        columns.append(
            f"<section class='visit'><h2>Visit {number}: {esc(long_date(visit.date))}</h2>"
            + "".join(items)
            + "</section>"
        )
    body = (
        f"<header><h1>Our moments together</h1><p>{esc(family)}: moments chosen with your "
        "guider at each visit</p></header><main><p>Each visit, side by side: the moments "
        "where you and your child were connected, and what your guider noticed.</p>"
        f"<div class='visits'>{''.join(columns)}</div></main>"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        "<meta name='referrer' content='no-referrer'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>Our moments together – {esc(family)}</title><style>{CSS}</style></head>"
        f"<body>{body}</body></html>"
    )


def write_journey(family: Path, *, today: dt.date | None = None) -> Path:
    """Write the parent's journey into a new ``family/journey/<date>/journey.html``."""
    family = Path(family)
    visits = read_visits(family)
    folder = dated_folder(family / JOURNEY_FOLDER, today or dt.date.today())
    try:
        folder.mkdir(parents=True)
    except OSError as exc:
        raise output_error(folder, exc) from None
    out = family.parent
    clips = {
        id(k): url for v in visits for k in v.kept if (url := _clip(v, k, out, folder)) is not None
    }
    page = folder / JOURNEY_FILE
    write_text(page, journey_html(visits, family=family.name, clips=clips))
    return page
