"""The ``vigcv`` command: a thin typer app; one module per verb in vigcv/commands/."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from vigcv import __version__
from vigcv.commands import models, run, score
from vigcv.commands.common import STATE, err_console
from vigcv.errors import VigcvError

app = typer.Typer(
    name="vigcv",
    help=(
        "vigcv watches parent-child play recordings and suggests the attuned micro-moments "
        "(mutual gaze, answered initiatives, shared smiles, turn-taking) for Video Interaction "
        "Guidance. Everything runs offline on this machine."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        print(f"vigcv {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    STATE["debug"] = debug


app.command("run", help=run.HELP)(run.run)
app.command("score")(score.score)
app.add_typer(models.app, name="models")


def _register_optional() -> None:
    """Verbs whose modules are optional at import time (their dependencies load lazily)."""
    import importlib

    for name in (
        "synth", "demo", "evaluate", "review", "export", "tune", "relink", "forget", "report",
        "family", "blur",
    ):  # fmt: skip
        try:
            module = importlib.import_module(f"vigcv.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"vigcv.commands.{name}":
                continue
            raise
        module.register(app)


_register_optional()


def main() -> None:
    """Entry point: run the app; a VigcvError is one line on stderr unless --debug."""
    try:
        app()
    except VigcvError as exc:
        if STATE["debug"]:
            raise
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted; finished sessions are kept, run again to resume")
        sys.exit(130)
    except Exception as exc:  # a bug: one line for the guider, the traceback with --debug
        if STATE["debug"]:
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} "
            "(run again with --debug for the details, and please report it)",
            soft_wrap=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
