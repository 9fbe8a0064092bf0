"""``vigcv export``: clips, ELAN files, a decisions CSV and static reports of reviewed sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vigcv.commands.common import console, fail, get_config

HELP = """Export what the guider decided on the review page.

Writes into OUT/exports (or --to DIR): an mp4 clip of each moment kept for the parent (with its trimmed start and end and a small time caption), an ELAN .eaf file per session (tiers: moments with reasons, mutual gaze, smiles, speech of each person), decisions.csv, and a report.html per session that opens in any browser without vigcv.

With --confirmed the reports, ELAN files and CSV hold only the kept moments (for sharing); otherwise they show every suggested moment with its decision.

[bold]Examples[/]

  vigcv export ~/vig-results

  vigcv export ~/vig-results --confirmed --to ~/for-feedback
"""  # noqa: E501


def export(
    out: Annotated[Path, typer.Argument(help="The OUT folder of `vigcv run` (and of the review).")],
    to: Annotated[
        Path | None, typer.Option("--to", help="Folder to write into (default OUT/exports).")
    ] = None,
    confirmed: Annotated[
        bool, typer.Option("--confirmed", help="Only the moments kept for the parent.")
    ] = False,
    session: Annotated[
        list[str] | None, typer.Option("--session", "-s", help="Only this session (repeatable).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML file with [export] settings.")
    ] = None,
) -> None:
    """Export clips, ELAN files, decisions.csv and reports for OUT."""
    from vigcv.errors import VigcvError
    from vigcv.export import export_out

    cfg = get_config(config)
    if not out.is_dir():
        raise fail(f"{out}: no such folder; give the --out folder of `vigcv run`", code=2)

    def hook(step: str, artifact: Any = None, **progress: Any) -> None:
        path = getattr(artifact, "path", artifact)
        console.print(f"  {step:<7} {path}")

    try:
        result = export_out(
            out, to=to, confirmed=confirmed, sessions=session or None, config=cfg, hook=hook
        )
    except VigcvError as exc:
        raise fail(str(exc)) from None
    for line in result.warnings:
        console.print(f"[yellow]note:[/] {line}")
    console.print(
        f"Exported {result.sessions} session(s), {result.clips} clip(s) into {result.folder}"
    )


def register(app: typer.Typer) -> None:
    """Add ``vigcv export`` to the CLI."""
    app.command("export", help=HELP)(export)
