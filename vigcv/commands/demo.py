"""``vigcv demo``: make a synthetic session with known moments, run vigcv on it, compare."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vigcv.commands.common import (
    clock,
    console,
    fail,
    get_config,
    make_progress,
    moments_table,
    stage_hook,
)
from vigcv.errors import VigcvError


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo.")] = Path("demo"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated session.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Regenerate and re-run.")] = False,
) -> None:
    """Show vigcv at work on a two-minute synthetic parent-child session.

    Generates OUT/input/mixed_session.mp4 (two animated faces made from real photos, an adult and
    a child voice, scripted looks, smiles and answers), runs `vigcv run` on it into OUT/results,
    prints the ranked moments and compares them with the scripted ones. Then try
    `vigcv review OUT/results`.
    """
    from vigcv.batch import discover, run_batch
    from vigcv.synth import generate_session, load_result, shipped_script
    from vigcv.synth.generate import sidecar_paths

    config = get_config(None)
    video = out / "input" / "mixed_session.mp4"
    try:
        if force or not all(p.is_file() for p in sidecar_paths(video).values()):
            with make_progress() as progress:
                task = progress.add_task("making the demo session", total=1)

                def tick(step: str, artifact: object = None, **counts: Any) -> None:
                    progress.update(task, completed=counts["completed"], total=counts["total"])

                result = generate_session(
                    video, script=shipped_script("mixed"), seed=seed, hook=tick
                )
        else:
            result = load_result(video)
    except VigcvError as exc:
        raise fail(str(exc)) from None
    console.print(f"demo session: {video} ({clock(result.duration)}), ground truth beside it")

    results_dir = out / "results"
    with make_progress() as progress:
        hook, _ = stage_hook(progress)
        (run,) = run_batch(discover([video]), results_dir, config=config, force=force, hook=hook)
    if run.status == "failed":
        raise fail(run.reason)
    session_dir = results_dir / run.session
    table = moments_table(session_dir, top=10)
    if table is not None:
        console.print(table)
    _compare(session_dir, json.loads(result.labels.read_text(encoding="utf-8")))
    console.print(f"\nAll results: {session_dir}.  Review them: vigcv review {results_dir}")


def _compare(session_dir: Path, labels: dict[str, Any]) -> None:
    """Print the scripted moments and which of them the top suggestions found."""
    from vigcv.results import read_moments

    suggested = [m.to_dict() for m in read_moments(session_dir)]
    truth = labels.get("attuned_moments", [])
    table = Table(title="Scripted attuned moments (the known answers)", title_justify="left")
    for name in ("when", "strength", "what", "found at rank"):
        table.add_column(name, overflow="fold")
    for moment in sorted(truth, key=lambda m: m["start"]):
        ranks = [
            s["rank"]
            for s in suggested
            if min(s["end"], moment["end"]) - max(s["start"], moment["start"]) >= 1.0
            or moment["start"] <= (s["start"] + s["end"]) / 2 <= moment["end"]
        ]
        table.add_row(
            f"{clock(moment['start'])}–{clock(moment['end'])}",
            str(moment.get("strength", "")),
            moment.get("why", ""),
            ", ".join(map(str, ranks)) or "–",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
