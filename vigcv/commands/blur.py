"""``vigcv blur``: a copy of a film with every face blurred except the people kept."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vigcv.commands.common import console, fail, get_config, make_progress

HELP = """Write a copy of a film with the face of everyone not kept blurred, the sound kept, to share it (with your VIG supervisor, say).

The faces come from the film's analysis (--results, the session folder `vigcv run` made for it): each person's face is followed through the film, with a margin and over a missed detection, and blurred unless that person is kept. The face detector also looks at the film itself, so a face the analysis never followed (a visitor passing by, someone in a photo on the wall) is blurred too. The copy has the film's size, its sound, and no location, camera or date metadata.

[bold]--keep[/] (comma-separated): roles [bold]parent[/] and [bold]child[/] (the parent figures and the index child marked on the review page; until you name anyone there, the pair the session's moments are for), names given on the review page ("Mum", "Sam"), or person ids (people.csv: 0, 1, 2...). Adult and child guesses are not accepted: "adult" would show an adult bystander too. Leave --keep out to keep the people marked "may be shown" (by default the parent figures and the index child).

[bold]Examples[/]

  vigcv blur visit3.mp4 visit3-shared.mp4 --results ~/vig-results/visit3 --keep parent,child

  vigcv blur visit3.mp4 part.mp4 --results ~/vig-results/visit3 --keep Mum --start 60 --end 150
"""  # noqa: E501


def blur(
    film: Annotated[Path, typer.Argument(help="The film to copy (the one the session analysed).")],
    out_film: Annotated[
        Path, typer.Argument(help="The blurred copy to write (.mp4); never the film itself.")
    ],
    results: Annotated[
        Path,
        typer.Option(
            "--results", "-r", help="The film's session folder of `vigcv run`: OUT/<session>."
        ),
    ],
    keep: Annotated[
        str | None,
        typer.Option(
            "--keep",
            "-k",
            help="Whose faces stay visible, comma-separated: parent, child, names given on the "
            "review page, or person ids. Default: the people marked 'may be shown'.",
            metavar="WHO,...",
        ),
    ] = None,
    start: Annotated[
        float | None, typer.Option("--start", min=0.0, help="Copy from this second on.")
    ] = None,
    end: Annotated[float | None, typer.Option("--end", help="Copy up to this second.")] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML file with \\[export] blur_* settings."),
    ] = None,
) -> None:
    """Write a copy of FILM with every face blurred except the people kept."""
    from vigcv.errors import VigcvError
    from vigcv.io.media import VIDEO_EXTENSIONS
    from vigcv.privacy import blur_film, blur_plan, split_keep
    from vigcv.results import read_run, recording

    if not film.exists():
        raise fail(f"{film}: no such film; check the path", code=2)
    if film.is_dir():
        raise fail(f"{film}: is a folder; give the film's file", code=2)
    if out_film.suffix.lower() != ".mp4":
        raise fail(f"{out_film}: the blurred copy must end in .mp4", code=2)
    if out_film.exists() and out_film.resolve() == film.resolve():
        raise fail(f"{out_film}: is the film itself; give another name for the copy", code=2)
    if film.suffix.lower() not in VIDEO_EXTENSIONS:
        raise fail(f"{film}: not a video file ({film.suffix or 'no extension'})", code=2)
    if start is not None and end is not None and end <= start:
        raise fail(f"--end {end:g} must be after --start {start:g}", code=2)
    cfg = get_config(config)
    try:
        plan = blur_plan(results, split_keep(keep), config=cfg)
        analysed = recording(read_run(results, missing_ok=True))
        if analysed is not None and analysed != film.resolve():
            console.print(
                f"[yellow]note:[/] {results} analysed {analysed}, not {film}; faces are "
                "followed only if it is the same film"
            )
        if plan.tracks is None:
            console.print(
                f"[yellow]note:[/] {results}: no face tracks (features.parquet), so every "
                "face is blurred; run `vigcv run --force` on the film to keep people visible"
            )
        with make_progress() as progress:
            task = progress.add_task(f"blur {film.name}", total=None)

            def hook(step: str, artifact: Any = None, **counts: Any) -> None:
                if counts.get("total") is not None:
                    progress.update(task, completed=counts["completed"], total=counts["total"])

            made = blur_film(
                film,
                out_film,
                plan=plan,
                start=start,
                end=end,
                crf=cfg["export"]["crf"],
                audio_bitrate=cfg["export"]["audio_bitrate"],
                hook=hook,
            )
    except VigcvError as exc:
        raise fail(str(exc)) from None
    shown = ", ".join(str(p) for p in sorted(plan.keep)) or "nobody"
    console.print(
        f"Wrote {out_film} ({made.duration:.1f} s, {made.frames} frames, sound "
        f"{'kept' if made.audio_samples else 'none'}): person id(s) shown: {shown}; every "
        "other face blurred. Watch it through before you share it."
    )


def register(app: typer.Typer) -> None:
    """Add ``vigcv blur`` to the CLI."""
    app.command("blur", help=HELP)(blur)
