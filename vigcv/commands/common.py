"""Shared CLI pieces: the console, one-line errors, config loading, progress and moment tables."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
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

from vigcv.config import Config, load_config
from vigcv.errors import VigcvError

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


def clock(seconds: float) -> str:
    """``mm:ss`` (or ``h:mm:ss``) for a time in seconds."""
    seconds = max(0.0, float(seconds))
    h, rem = divmod(round(seconds), 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def make_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )


def stage_hook(progress: Progress) -> tuple[Callable[[str, Any], None], dict[str, TaskID]]:
    """A pipeline hook drawing one bar per session in progress, and its ``{session: task}``.

    Hook artifacts that carry ``done`` and ``total`` (and optionally ``session``) move the bar.
    """
    tasks: dict[str, TaskID] = {}

    def hook(step: str, artifact: Any) -> None:
        if isinstance(artifact, dict) and "done" in artifact and "total" in artifact:
            session = str(artifact.get("session", ""))
            if session not in tasks:
                tasks[session] = progress.add_task("", total=1)
            progress.update(
                tasks[session],
                description=f"  {session} {step}" if session else f"  {step}",
                completed=float(artifact["done"]),
                total=max(float(artifact["total"]), 1e-9),
                visible=True,
            )

    return hook, tasks


def moments_table(session_dir: Path, *, top: int = 5) -> Table | None:
    """A table of a session's top moments from its moments.json, or None if there is none."""
    path = session_dir / "moments.json"
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    moments: Sequence[dict[str, Any]] = data.get("moments", [])[:top]
    table = Table(
        title=f"Suggested moments: {data.get('session', session_dir.name)}", title_justify="left"
    )
    table.add_column("#", justify="right")
    table.add_column("when")
    table.add_column("score", justify="right")
    table.add_column("why", overflow="fold")
    for m in moments:
        reasons = m.get("reasons") or ["(no reason recorded)"]
        table.add_row(
            str(m["rank"]),
            f"{clock(m['start'])}–{clock(m['end'])}",
            f"{float(m['score']):.2f}",
            " ".join(reasons[:2]),
        )
    if not moments:
        table.add_row("–", "–", "–", "no moments could be suggested for this recording")
    return table
