"""``vigcv report``: a family's referrer's report, or the parent's journey."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from vigcv.commands.common import console, err_console, fail

HELP = """Write a family's report from its visits (OUT/<family>, made by `vigcv run` on films filed per family).

--for referrer (the default): the referrer's summary for the end of the intervention, in a new folder OUT/<family>/reports/<date>/: report.html (opens from disk, no server, no network) and report.pdf (printed with Chromium; skipped with a note when it is not installed). It holds the visits and their dates, the indicators of each visit with their measurement quality, a short summary of what grew, a still of each moment you kept, and your own text from OUT/<family>/referrer_text.md (write it there; it is kept between reports). No set-aside moment, no private note, no note for the parent.

--for parent: the parent's journey, OUT/<family>/journey/<date>/journey.html: the moments you kept at each visit side by side in date order, with your notes for the parent; no score, no curve.

Also refreshes OUT/<family>/progress.csv and progress.png. An earlier report is never replaced.

[bold]Examples[/]

  vigcv report ~/vig-results/lee

  vigcv report ~/vig-results/lee --for parent
"""  # noqa: E501


def report(
    family: Annotated[Path, typer.Argument(help="A family folder OUT/<family>.")],
    audience: Annotated[
        str, typer.Option("--for", help="referrer (summary, HTML and PDF) or parent (journey).")
    ] = "referrer",
    pdf: Annotated[
        bool, typer.Option("--pdf/--no-pdf", help="Also print the referrer's report to PDF.")
    ] = True,
) -> None:
    from vigcv.errors import VigcvError
    from vigcv.family.journey import write_journey
    from vigcv.family.report import write_referrer_report

    if audience not in ("referrer", "parent"):
        raise fail(f"--for must be referrer or parent, got {audience!r}", code=2)
    try:
        if audience == "parent":
            page = write_journey(family)
            console.print(f"The parent's journey: {escape(str(page))}")
            return
        result = write_referrer_report(family, pdf=pdf)
    except VigcvError as exc:
        raise fail(str(exc)) from None
    for note in result.notes:
        err_console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    console.print(f"The referrer's report: {escape(str(result.html))}")
    if result.pdf is not None:
        console.print(f"Print-ready PDF: {escape(str(result.pdf))}")


def register(app: typer.Typer) -> None:
    """Add ``vigcv report`` to the CLI."""
    app.command("report", help=HELP)(report)
