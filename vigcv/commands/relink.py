"""``vigcv relink``: find moved recordings by their content and update their sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from vigcv.commands.common import console, err_console, fail

HELP = """Find films that were moved since they were analysed, and tell their sessions where they are now.

For every session of OUT whose recording is no longer where it was, the FOLDERs are searched (with their sub-folders) for a video or audio file with the same content (the same size and sha256 as when it was analysed). Each one found is written into the session's run.json; nothing is re-analysed and no decision is changed. Exit status: 0 when every missing recording was found, 1 when some were not, 2 for a usage error.

[bold]Example[/]

  vigcv relink ~/vig-results ~/films-2024
"""  # noqa: E501


def relink(
    out: Annotated[Path, typer.Argument(help="The OUT folder of `vigcv run`.")],
    folders: Annotated[
        list[Path],
        typer.Argument(help="Folders (searched recursively) where the films are now."),
    ],
) -> None:
    """Update the sessions of OUT whose films were moved into FOLDERs."""
    from vigcv.results import list_sessions
    from vigcv.results.relink import relink as relink_out

    if not out.is_dir() or not list_sessions(out):
        raise fail(
            f"{out}: no analysed sessions here; give the --out folder of `vigcv run`", code=2
        )
    for folder in folders:
        if not folder.exists():
            raise fail(f"{folder}: no such folder; give the folder the films are in now", code=2)
    done = relink_out(out, folders)
    if not done:
        console.print(f"Every recording of {out} is where it was; nothing to do.")
        return
    where = " ".join(str(f) for f in folders)
    missing = 0
    for item in done:
        if item.new is not None:
            console.print(
                f"[green]found[/]     {escape(item.session)}: {escape(str(item.new))} "
                f"(was {escape(item.old)})",
                soft_wrap=True,
            )
        else:
            missing += 1
            err_console.print(
                f"[red]not found[/] {escape(item.session)}: no file with the content of "
                f"{escape(item.old)} under {escape(where)}; run `vigcv relink {escape(str(out))} "
                "FOLDER` with the folder that holds it now",
                soft_wrap=True,
            )
    console.print(
        f"{len(done) - missing} of {len(done)} moved recording(s) found; nothing re-analysed"
    )
    if missing:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``vigcv relink`` to the CLI."""
    app.command("relink", help=HELP)(relink)
