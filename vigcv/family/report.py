"""The referrer's report: a self-contained HTML page (and a print-ready PDF) for the end of an
intervention, written to ``OUT/<family>/reports/<date>/``.

It holds the visits and their dates, the indicators of each visit with their measurement
quality, a short plain-English summary of what grew (only what the numbers support, never a
deficit), a still from each kept moment, and the guider's own text, read from
``OUT/<family>/referrer_text.md`` (kept between reports; vigcv never writes it). No set-aside
or undecided moment, no private note, no note for the parent, no score.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from vigcv.clock import clock
from vigcv.family.indicators import (
    ANSWER_WITHIN_S,
    QUALITY_MIN,
    rising,
    write_progress,
)
from vigcv.family.plot import progress_png, write_progress_plot
from vigcv.family.visits import Visit, data_uri, dated_folder, long_date, read_visits
from vigcv.io.store import output_error, write_text
from vigcv.results.folder import (
    REFERRER_PDF,
    REFERRER_REPORT,
    REFERRER_TEXT,
    REPORTS_FOLDER,
    read_referrer_text,
)

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_TIMEOUT_S = 120

CSS = """
body{font-family:"DejaVu Sans",system-ui,sans-serif;margin:0 auto;max-width:60rem;
padding:1.5rem;color:#222;font-size:15px;line-height:1.45;background:#fff}
h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem;
border-bottom:1px solid #ccc;padding-bottom:.2rem}h3{font-size:1rem;margin:1rem 0 .3rem}
table{border-collapse:collapse;width:100%;font-size:.88rem;margin:.4rem 0}
th,td{border:1px solid #ccc;padding:.3rem .4rem;text-align:left;vertical-align:top}
th{background:#f1f1ee}.muted{color:#666;font-size:.85rem}
.plot{width:100%;height:auto;display:block}
.stills{display:flex;flex-wrap:wrap;gap:.6rem}
.still{width:13rem;break-inside:avoid;page-break-inside:avoid}
.still img{width:100%;height:auto;border-radius:4px;display:block}
.still p{margin:.2rem 0;font-size:.8rem}
.guider{border-left:4px solid #1b9e77;padding:.2rem .8rem;background:#f4faf7}
.empty{border:1px dashed #999;padding:.8rem;color:#555}
.visit,table,tr,.summary li{break-inside:avoid;page-break-inside:avoid}
@page{size:A4;margin:14mm}
@media print{body{max-width:none;padding:0;font-size:12px}h2{break-after:avoid}}
"""


@dataclass
class ReportResult:
    folder: Path
    html: Path
    pdf: Path | None = None
    notes: list[str] = field(default_factory=list)


def _number(value: object, unit: str) -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(v):
        return "–"
    return f"{v:.0%}" if unit == "share" else f"{v:.2f}".rstrip("0").rstrip(".")


def _comparable(row: pd.Series) -> bool:
    return str(row.get("comparable", "")).lower() in ("true", "1")


def growth_sentences(table: pd.DataFrame) -> list[str]:
    """What grew from the first to the last visit, in plain English; only claims the numbers
    support (see :func:`vigcv.family.indicators.rising`), never a fall or a deficit."""
    if len(table) < 2:
        return []
    dates = {i: long_date(dt.date.fromisoformat(str(d))) for i, d in table["date"].items()}
    ok = table[[_comparable(r) for _, r in table.iterrows()]]
    sentences = []

    def grew(frame: pd.DataFrame, column: str) -> tuple[int, int] | None:
        values = pd.to_numeric(frame[column], errors="coerce")
        values = values[values.notna()]
        if len(values) < 2 or not rising(values.tolist()):
            return None
        return int(values.index[0]), int(values.index[-1])

    span = grew(ok, "mutual_gaze_min_per_10min")
    if span:
        a, b = span
        first = float(table.at[a, "mutual_gaze_min_per_10min"])
        last = float(table.at[b, "mutual_gaze_min_per_10min"])
        sentences.append(
            f"Parent and child looked at each other for longer: about {first:.1f} minutes in "
            f"every 10 minutes of film on {dates[a]}, {last:.1f} minutes on {dates[b]}."
        )
    span = grew(ok, "answered_share")
    if span:
        a, b = span
        sentences.append(
            f"The parent answered more of the child's initiatives within {ANSWER_WITHIN_S:.0f} "
            f"seconds: {int(table.at[a, 'answered_2s'])} of {int(table.at[a, 'initiatives'])} "
            f"on {dates[a]}, {int(table.at[b, 'answered_2s'])} of "
            f"{int(table.at[b, 'initiatives'])} on {dates[b]}."
        )
    span = grew(ok, "shared_smiles_per_10min")
    if span:
        a, b = span
        sentences.append(
            "They shared more smiles and laughter: "
            f"{float(table.at[a, 'shared_smiles_per_10min']):.1f} in every 10 minutes of film on "
            f"{dates[a]}, {float(table.at[b, 'shared_smiles_per_10min']):.1f} on {dates[b]}."
        )
    span = grew(table, "turns_per_min")
    if span:
        a, b = span
        sentences.append(
            "They took more turns in conversation: "
            f"{float(table.at[a, 'turns_per_min']):.1f} a minute on {dates[a]}, "
            f"{float(table.at[b, 'turns_per_min']):.1f} on {dates[b]}."
        )
    return sentences


def _quality_sentences(table: pd.DataFrame) -> list[str]:
    out = []
    for _, row in table.iterrows():
        if not _comparable(row):
            when = long_date(dt.date.fromisoformat(str(row["date"])))
            out.append(f"On {when}, {row['quality_note']}; that visit is left out of the summary.")
    return out


INDICATOR_ROWS = (
    ("Mutual gaze (minutes per 10 minutes of film)", "mutual_gaze_min_per_10min", "number"),
    ("Child's initiatives", "initiatives", "number"),
    (f"… answered within {ANSWER_WITHIN_S:.0f} s", "answered_2s", "number"),
    (f"… share answered within {ANSWER_WITHIN_S:.0f} s", "answered_share", "share"),
    ("Shared smiles and laughter (per 10 minutes)", "shared_smiles_per_10min", "number"),
    ("Turns between parent and child (per minute)", "turns_per_min", "number"),
    ("Strong moments suggested", "moments_above", "number"),
)


def _indicator_table(table: pd.DataFrame) -> str:
    esc = html.escape
    head = "".join(f"<th>Visit {i + 1}<br>{esc(str(d))}</th>" for i, d in enumerate(table["date"]))
    rows = []
    for label, column, unit in INDICATOR_ROWS:
        cells = "".join(f"<td>{_number(v, unit)}</td>" for v in table[column])
        rows.append(f"<tr><th>{esc(label)}</th>{cells}</tr>")
    quality = "".join(
        f"<td>{_number(r['both_faces_share'], 'share')}"
        + ("" if _comparable(r) else "<br><i>few faces seen: not comparable</i>")
        + "</td>"
        for _, r in table.iterrows()
    )
    rows.append(f"<tr><th>Measurement quality: both faces measured</th>{quality}</tr>")
    return f"<table><tr><th>Indicator</th>{head}</tr>{''.join(rows)}</table>"


def _guider_text(text: str | None, where: Path) -> str:
    esc = html.escape
    if text is None or not text.strip():
        return (
            "<div class='empty'>The guider's account of the work goes here. Write it in "
            f"<b>{esc(str(where))}</b> (plain text; a blank line starts a new paragraph) and "
            "run <code>vigcv report</code> again: it is kept between reports.</div>"
        )
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = ""
    for p in paragraphs:
        if p.startswith("#"):
            body += f"<h3>{esc(p.lstrip('#').strip())}</h3>"
        else:
            body += "<p>" + "<br>".join(esc(line) for line in p.split("\n")) + "</p>"
    return (
        f"<div class='guider'>{body}</div>"
        f"<p class='muted'>The guider's text comes from {esc(str(where))}.</p>"
    )


def _visits_table(visits: list[Visit], table: pd.DataFrame) -> str:
    esc = html.escape
    minutes = dict(zip(table["visit"], table["film_min"], strict=True))
    rows = "".join(
        f"<tr><td>{i}</td><td>{esc(long_date(v.date))}</td>"
        f"<td>{esc(v.date_source)}</td><td>{clock(float(minutes.get(v.name, 0.0)) * 60)}</td>"
        f"<td>{len(v.kept)}</td></tr>"
        for i, v in enumerate(visits, start=1)
    )
    return (
        "<table><tr><th>Visit</th><th>Date</th><th>Date from</th><th>Film length</th>"
        f"<th>Moments kept with the parent</th></tr>{rows}</table>"
    )


def _stills(visits: list[Visit]) -> str:
    esc = html.escape
    parts = []
    for i, v in enumerate(visits, start=1):
        items = []
        for k in v.kept:
            img = (
                f"<img src='{data_uri(k.still)}' alt='Moment at {clock(k.start)}'>"
                if k.still
                else ""
            )
            reason = f"<p>{esc(k.reasons[0])}</p>" if k.reasons else ""
            items.append(
                f"<div class='still'>{img}<p><b>{clock(k.start)}–{clock(k.end)}</b></p>"
                f"{reason}</div>"
            )
        inner = "".join(items) or "<p class='muted'>No moment kept from this visit yet.</p>"
        parts.append(
            f"<div class='visit'><h3>Visit {i}: {esc(long_date(v.date))}</h3>"
            f"<div class='stills'>{inner}</div></div>"
        )
    return "".join(parts)


def referrer_report_html(family: Path, visits: list[Visit], table: pd.DataFrame) -> str:
    esc = html.escape
    name = family.name
    growth = growth_sentences(table)
    summary = (
        "<ul class='summary'>" + "".join(f"<li>{esc(s)}</li>" for s in growth) + "</ul>"
        if growth
        else "<p>These figures do not show a clear change from the first visit to the last; "
        "the guider's account below describes the work.</p>"
    )
    quality = "".join(f"<p class='muted'>{esc(s)}</p>" for s in _quality_sentences(table))
    plot = base64.b64encode(progress_png(table)).decode()
    first, last = (visits[0].date, visits[-1].date) if visits else (None, None)
    span = f"{long_date(first)} to {long_date(last)}" if first and last else ""
    body = (
        f"<h1>Video Interaction Guidance: {esc(name)}</h1>"
        f"<p>Summary for the referrer. {len(visits)} visit{'s' if len(visits) != 1 else ''}"
        f"{', ' + esc(span) if span else ''}. Made on {long_date(dt.date.today())}.</p>"
        "<h2>The visits</h2>" + _visits_table(visits, table) + "<h2>What grew</h2>" + summary
        + quality
        + "<p class='muted'>Measured by vigcv in each filmed visit, the same way every time: "
        "how long parent and child looked at each other, how many of the child's initiatives "
        f"(a call, a look, a smile) the parent answered within {ANSWER_WITHIN_S:.0f} seconds, "
        "shared smiles and laughter, and turns in conversation. A visit where both faces were "
        f"measured in less than {QUALITY_MIN:.0%} of the film is not compared. The films are "
        "short samples of family life, chosen and reviewed with the parent.</p>"
        "<h2>The indicators at each visit</h2>" + _indicator_table(table)
        + f"<img class='plot' src='data:image/png;base64,{plot}' "
        "alt='The indicators at each visit, one bar per visit'>"
        "<h2>Moments chosen with the parent</h2>" + _stills(visits)
        + "<h2>The guider's account</h2>" + _guider_text(
            read_referrer_text(family), family / REFERRER_TEXT
        )
    )  # fmt: skip
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        "<meta name='referrer' content='no-referrer'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>VIG summary – {esc(name)}</title><style>{CSS}</style></head>"
        f"<body>{body}</body></html>"
    )


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) to print with, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(page: Path, pdf: Path, *, chromium: str) -> None:
    """Print an HTML file to PDF with headless Chromium (no network: the page is self-contained).

    Raises OSError or subprocess errors when Chromium fails.
    """
    with tempfile.TemporaryDirectory(prefix="vigcv-chromium-") as profile:
        tmp = pdf.with_name(f".{pdf.name}.part")
        args = [
            chromium,
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--no-pdf-header-footer",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={tmp}",
            page.resolve().as_uri(),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        try:
            subprocess.run(
                args,
                check=True,
                capture_output=True,
                timeout=PDF_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
            if not tmp.is_file() or tmp.stat().st_size == 0:
                raise OSError("Chromium wrote no PDF")
            os.replace(tmp, pdf)
        finally:
            tmp.unlink(missing_ok=True)


def write_referrer_report(
    family: Path,
    *,
    pdf: bool = True,
    chromium: str | None = None,
    today: dt.date | None = None,
    notify: Callable[[str], None] | None = None,
) -> ReportResult:
    """Write the referrer's report into a new ``family/reports/<date>/`` folder.

    Also refreshes the family's progress.csv and progress.png. Without a Chromium (or with
    ``pdf=False``) only the HTML is written and ``notes`` says so.
    """
    family = Path(family)
    visits = read_visits(family)
    table = write_progress(family)
    write_progress_plot(family, table)
    folder = dated_folder(family / REPORTS_FOLDER, today or dt.date.today())
    try:
        folder.mkdir(parents=True)
    except OSError as exc:
        raise output_error(folder, exc) from None
    page = folder / REFERRER_REPORT
    write_text(page, referrer_report_html(family, visits, table))
    result = ReportResult(folder=folder, html=page)
    for v in visits:
        result.notes += v.problems
    if pdf:
        browser = chromium or find_chromium()
        if browser is None:
            result.notes.append(
                "no PDF: Chromium is not installed (apt install chromium); open report.html in "
                "a browser and print it"
            )
        else:
            try:
                print_pdf(page, folder / REFERRER_PDF, chromium=browser)
                result.pdf = folder / REFERRER_PDF
            except (OSError, subprocess.SubprocessError) as exc:
                result.notes.append(
                    f"no PDF: Chromium could not print ({exc.__class__.__name__}); open "
                    "report.html in a browser and print it"
                )
    if notify is not None:
        for note in result.notes:
            notify(note)
    return result
