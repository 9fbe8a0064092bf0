"""``vigcv family``: a family's visits, and the guider's correction of a visit's date."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vigcv.commands.common import console, fail

app = typer.Typer(
    help="A family's visits (OUT/<family>): list them, correct a visit's date.",
    no_args_is_help=True,
)


@app.command("date")
def date(
    family: Annotated[Path, typer.Argument(help="A family folder OUT/<family>.")],
    visit: Annotated[str, typer.Argument(help="The visit (its folder's name).")],
    when: Annotated[str, typer.Argument(help="Its date, YYYY-MM-DD.", metavar="DATE")],
) -> None:
    """Correct the date of a visit: kept in OUT/<family>/family.json, never replaced by a
    re-run. progress.csv follows.

    Example: vigcv family date ~/vig-results/lee visit2 2026-02-07
    """
    from vigcv.errors import VigcvError
    from vigcv.family.dates import correct_date
    from vigcv.family.indicators import write_progress
    from vigcv.family.plot import write_progress_plot

    try:
        record = correct_date(family, visit, when)
        table = write_progress(family)
        write_progress_plot(family, table)
    except VigcvError as exc:
        raise fail(str(exc)) from None
    console.print(
        f"{escape(family.name)}/{escape(visit)}: dated {record['date']} (your correction)"
    )


@app.command("list")
def list_visits(
    family: Annotated[Path, typer.Argument(help="A family folder OUT/<family>.")],
) -> None:
    """List a family's visits in date order, with where each date came from."""
    from vigcv.errors import VigcvError
    from vigcv.family.dates import visit_dates
    from vigcv.family.visits import family_folder

    try:
        dates = visit_dates(family_folder(family))
    except VigcvError as exc:
        raise fail(str(exc)) from None
    table = Table(title=f"{family.name}: visits", title_justify="left")
    for name in ("visit", "date", "date from"):
        table.add_column(name)
    for visit, (day, source) in sorted(dates.items(), key=lambda kv: (kv[1][0], kv[0])):
        table.add_row(escape(visit), day.isoformat(), source)
    console.print(table)


def register(root: typer.Typer) -> None:
    """Add ``vigcv family`` to the CLI."""
    root.add_typer(app, name="family")
