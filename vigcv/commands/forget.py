"""``vigcv forget``: delete a family's data from an OUT folder in one command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from vigcv.commands.common import console, err_console, fail

HELP = """Delete everything vigcv keeps about some sessions (a family's data) from OUT.

For each SESSION: its folder OUT/SESSION (results, the analysis cache, the overlay video), the guider's decisions and notes in OUT/reviews.sqlite (with their history; the file is compacted so deleted notes do not linger in it), its exports in OUT/exports/SESSION, and its rows in OUT/summary.csv and the other tables of OUT. The original recordings are never touched. Exports written elsewhere with `vigcv export --to` are not known to vigcv: delete them yourself.

Asks before deleting unless --yes.

[bold]Examples[/]

  vigcv forget ~/vig-results family1_visit

  vigcv forget ~/vig-results --all --yes
"""  # noqa: E501


def _interactive() -> bool:
    """Whether someone at a terminal can answer the question."""
    return sys.stdin.isatty()


def forget(
    out: Annotated[Path, typer.Argument(help="The OUT folder of `vigcv run`.")],
    sessions: Annotated[
        list[str] | None,
        typer.Argument(help="Session names (as `vigcv review` lists them).", show_default=False),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Forget every session of OUT.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before deleting.")] = False,
) -> None:
    """Delete the data of SESSIONs (or --all) from OUT."""
    from vigcv.errors import VigcvError
    from vigcv.results.forget import forget as forget_sessions
    from vigcv.results.forget import known_sessions

    if not out.is_dir():
        raise fail(f"{out}: no such folder; give the --out folder of `vigcv run`", code=2)
    known = known_sessions(out)
    if every and sessions:
        raise fail("give session names or --all, not both", code=2)
    if not every and not sessions:
        raise fail(
            f"name the sessions to forget, or --all; {out} holds: {', '.join(known) or 'none'}",
            code=2,
        )
    names = known if every else list(sessions or [])
    unknown = [n for n in names if n not in known]
    if unknown:
        raise fail(
            f"{out}: no session named {', '.join(map(repr, unknown))}; "
            f"it holds: {', '.join(known) or 'none'}",
            code=2,
        )
    if not names:
        console.print(f"{out} holds no session; nothing to forget.")
        return
    if not yes:
        if not _interactive():
            raise fail(
                f"not asking without a terminal; add --yes to delete {', '.join(names)} from {out}",
                code=2,
            )
        listed = ", ".join(names)
        if not typer.confirm(
            f"Delete every result, decision, note and export of {listed} from {out}? "
            "(the recordings are kept)",
            default=False,
        ):
            err_console.print("nothing deleted")
            raise typer.Exit(1)
    try:
        done, warnings = forget_sessions(out, names)
    except VigcvError as exc:
        raise fail(str(exc)) from None
    for item in done:
        console.print(f"[bold]{escape(item.session)}[/]", soft_wrap=True)
        for line in item.removed:
            console.print(f"  removed {escape(line)}", soft_wrap=True)
        for line in item.kept:
            console.print(f"  [yellow]kept[/] {escape(line)}", soft_wrap=True)
        if not item.removed and not item.kept:
            console.print("  nothing left to remove", soft_wrap=True)
    for line in warnings:
        err_console.print(f"[yellow]note:[/] {escape(line)}", soft_wrap=True)
    console.print(
        f"Forgot {len(done)} session(s); the original recordings were not touched. "
        "Exports written elsewhere with --to are not known to vigcv."
    )


def register(app: typer.Typer) -> None:
    """Add ``vigcv forget`` to the CLI."""
    app.command("forget", help=HELP)(forget)
