"""``vigcv export``: the parent's version (to share) or the guider's of reviewed sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vigcv.commands.common import console, fail, get_config

HELP = """Export what the guider decided on the review page, for the parent or for the guider.

Each export goes into a new dated folder, OUT/exports/<session>/<date>_<time>-parent (or -guider; --to DIR instead of OUT/exports); an earlier export is never replaced.

[bold]--for parent[/] (the default; --confirmed means the same): the version to share with the family. Only the moments kept for the parent, in a report.html that opens in any browser without vigcv, with each moment's clip playable in it (the mp4 files in clips/ beside it), a still, the reasons in plain words and your note for the parent. No private note, no scores, no set-aside or undecided moment, no timeline curve. A session with nothing kept is left out, with a note saying so.

[bold]--for guider[/]: your own record, marked "Guider's version: not for sharing": every suggested moment with its decision, your private notes and notes for the parent, the component bars and the session timeline, the clips of the kept moments, an ELAN .eaf file (tiers: moments with reasons, mutual gaze, smiles, speech of each person) and decisions.csv.

[bold]Faces[/]: clips and stills show only the people who may be shown. By default that is whoever the review page marks "may be shown" (the parent figures and the index child unless you changed it); every other face, a bystander never named included, is blurred. --blur-all-except parent,child (roles, names given on the review page, or person ids) chooses instead. Exported files carry no location or device metadata.

[bold]Examples[/]

  vigcv export ~/vig-results                      # the parent's version of every session

  vigcv export ~/vig-results --session visit3 --to ~/for-feedback

  vigcv export ~/vig-results --for guider

  vigcv export ~/vig-results --confirmed --blur-all-except parent,child
"""  # noqa: E501


def export(
    out: Annotated[Path, typer.Argument(help="The OUT folder of `vigcv run` (and of the review).")],
    audience: Annotated[
        str,
        typer.Option(
            "--for",
            help="parent: only the kept moments, to share (default); guider: everything, "
            "with private notes, not for sharing.",
            metavar="parent|guider",
        ),
    ] = "parent",
    confirmed: Annotated[
        bool, typer.Option("--confirmed", help="The same as --for parent (kept for old scripts).")
    ] = False,
    to: Annotated[
        Path | None, typer.Option("--to", help="Folder to write into (default OUT/exports).")
    ] = None,
    session: Annotated[
        list[str] | None, typer.Option("--session", "-s", help="Only this session (repeatable).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML file with \\[export] settings.")
    ] = None,
    blur_all_except: Annotated[
        str | None,
        typer.Option(
            "--blur-all-except",
            help="Show only these people, blur every other face: roles (parent, child), names "
            "given on the review page, or person ids, comma-separated. Default: the people "
            "marked 'may be shown'.",
            metavar="WHO,...",
        ),
    ] = None,
) -> None:
    """Export the parent's or the guider's version of the reviewed sessions of OUT."""
    from vigcv.errors import VigcvError
    from vigcv.export import AUDIENCES, export_out
    from vigcv.privacy import split_keep

    if audience not in AUDIENCES:
        raise fail(f"--for must be parent or guider, got {audience!r}", code=2)
    if confirmed and audience != "parent":
        raise fail("--confirmed means --for parent; leave one of them out", code=2)
    cfg = get_config(config)
    if not out.is_dir():
        raise fail(f"{out}: no such folder; give the --out folder of `vigcv run`", code=2)

    def hook(step: str, artifact: Any = None, **progress: Any) -> None:
        path = getattr(artifact, "path", artifact)
        console.print(f"  {step:<7} {path}")

    try:
        result = export_out(
            out,
            audience=audience,
            to=to,
            sessions=session or None,
            config=cfg,
            hook=hook,
            keep=split_keep(blur_all_except),
        )
    except VigcvError as exc:
        raise fail(str(exc)) from None
    for line in result.warnings:
        console.print(f"[yellow]note:[/] {line}")
    which = "parent's version (to share)" if audience == "parent" else "guider's version (private)"
    console.print(
        f"Exported the {which} of {result.sessions} session(s), {result.clips} clip(s), into:"
    )
    for folder in result.folders:
        console.print(f"  {folder}")
    if result.missing_clips:  # kept moments whose film was moved: the export is not complete
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``vigcv export`` to the CLI."""
    app.command("export", help=HELP)(export)
