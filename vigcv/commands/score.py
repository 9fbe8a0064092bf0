"""``vigcv score``: re-score processed sessions from their cached features."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from vigcv.commands.common import console, fail, get_config, moments_table
from vigcv.errors import VigcvError


def score(
    sessions: Annotated[
        list[Path], typer.Argument(help="Session folders (OUT/<session>) or a whole OUT folder.")
    ],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML file with new weights/windows.")
    ] = None,
) -> None:
    """Rewrite moments.json/csv and windows.parquet from cached features, without decoding.

    Use it to try other weights or window lengths: it takes well under a second per
    session-hour. Review decisions in OUT/reviews.sqlite are never touched.
    """
    from vigcv.pipeline import rescore
    from vigcv.results import session_dirs

    cfg = get_config(config)
    folders: list[Path] = []
    for path in sessions:
        if not path.is_dir():
            raise fail(f"{path}: not a session folder (no run.json); give OUT/<session>", code=2)
        folders += session_dirs(path)
    if not folders:
        given = ", ".join(str(p) for p in sessions)
        raise fail(f"{given}: no processed sessions here; run `vigcv run` first", code=2)
    failed = 0
    for folder in folders:
        try:
            result = rescore(folder, config=cfg)
        except VigcvError as exc:
            console.print(f"[red]failed[/] {escape(str(folder))}: {escape(str(exc))}")
            failed += 1
            continue
        console.print(f"{folder.name}: {result.moments} moments in {result.seconds * 1000:.0f} ms")
        table = moments_table(folder, top=3)
        if table is not None:
            console.print(table)
    if failed:
        raise typer.Exit(1)
