"""Shared CLI pieces: the console, one-line errors, config loading, progress and moment tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from vigcv.clock import clock
from vigcv.config import Config, load_config
from vigcv.errors import VigcvError
from vigcv.hooks import Hook, is_progress

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)

STATE: dict[str, bool] = {"debug": False}


def fail(message: str, *, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on one line to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


def get_config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except VigcvError as exc:
        raise fail(str(exc), code=2) from None


def make_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )


def stage_hook(progress: Progress) -> tuple[Hook, dict[str, TaskID]]:
    """A batch hook drawing one bar per session in progress, and its ``{session: task}``.

    Progress calls (``hook(step, session, completed=, total=)``, :mod:`vigcv.hooks`) move the
    session's bar; finished steps are not drawn.
    """
    tasks: dict[str, TaskID] = {}

    def hook(
        step: str,
        artifact: Any = None,
        *,
        completed: float | None = None,
        total: float | None = None,
    ) -> None:
        if not is_progress(completed, total):
            return
        session = artifact if isinstance(artifact, str) else ""
        if session not in tasks:
            tasks[session] = progress.add_task("", total=1)
        progress.update(
            tasks[session],
            description=f"  {session} {step}" if session else f"  {step}",
            completed=float(completed or 0.0),
            total=max(float(total or 0.0), 1e-9),
            visible=True,
        )

    return hook, tasks


def moments_table(session_dir: Path, *, top: int = 5) -> Table | None:
    """A table of a session's top moments from its moments.json, or None if there is none."""
    from vigcv.results import MOMENTS_JSON, read_moments

    if not (session_dir / MOMENTS_JSON).is_file():
        return None
    try:
        moments = read_moments(session_dir)[:top]
    except VigcvError:
        return None
    table = Table(title=f"Suggested moments: {session_dir.name}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("when")
    table.add_column("score", justify="right")
    table.add_column("why", overflow="fold")
    for m in moments:
        reasons = list(m.reasons) or ["(no reason recorded)"]
        table.add_row(
            str(m.rank),
            f"{clock(m.segment.start)}–{clock(m.segment.end)}",
            f"{m.score:.2f}",
            " ".join(reasons[:2]),
        )
    if not moments:
        table.add_row("–", "–", "–", "no moments could be suggested for this recording")
    return table
