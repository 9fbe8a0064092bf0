"""``vigcv synth``: write a synthetic family session and its ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vigcv.commands.common import console, fail, make_progress
from vigcv.errors import VigcvError

HELP = (
    "Write a synthetic parent-child session (video with voices) and its ground truth.\n\n"
    "Two people (a parent and a smaller child), or three (with a sibling or a second parent), "
    "sit in a room; their faces are 3D re-renderings "
    "of real photos, their voices come from espeak-ng, and a script says who looks at whom, "
    "smiles and says what when. Next to OUT.mp4 it writes OUT.labels.json (labels every 0.5 s "
    "and the attuned moments, in the format of the evaluation data), OUT.rttm (who speaks when), "
    "OUT.truth.csv (per frame and person: face box, head pose, smile, mouth opening, gaze "
    "target) and OUT.synth.json (the resolved script).\n\n"
    "--script takes a TOML file or the name of a shipped script: textbook, missed, "
    "long_latency, parallel_play, mixed (two minutes, the Quick start demo); siblings, "
    "two_parents, older_child (families of three or a teenager); the others in configs/synth. "
    "The language is documented in vigcv/synth/script.py.\n\n"
    "Example: vigcv synth demo.mp4 --script mixed --seed 3"
)


def _script_path(script: str | None) -> Path | None:
    if script is None:
        return None
    path = Path(script)
    if path.is_file() or path.suffix == ".toml":
        return path
    from vigcv.synth import shipped_script

    return shipped_script(script)


def synth(
    out: Annotated[Path, typer.Argument(help="The .mp4 to write; truth files go next to it.")],
    script: Annotated[
        str | None,
        typer.Option(
            "--script",
            "-s",
            help="Script TOML file, or a shipped name (textbook, missed, long_latency, "
            "parallel_play, mixed). Default: textbook.",
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Varies placement, lighting, jitter and head motion.")
    ] = 0,
    width: Annotated[int, typer.Option("--width", help="Frame width, pixels.")] = 640,
    height: Annotated[int, typer.Option("--height", help="Frame height, pixels.")] = 480,
    fps: Annotated[float, typer.Option("--fps", help="Frames per second.")] = 25.0,
) -> None:
    """Write a synthetic session and its ground truth (see ``vigcv synth --help``)."""
    from vigcv.synth import generate_session

    if out.suffix.lower() != ".mp4":
        raise fail(f"{out}: the output must end in .mp4", code=2)
    try:
        script_path = _script_path(script)
        with make_progress() as progress:
            task = progress.add_task(f"synth {out.name}", total=None)

            def hook(step: str, artifact: object = None, **counts: Any) -> None:
                progress.update(task, completed=counts["completed"], total=counts["total"])

            result = generate_session(
                out,
                script=script_path,
                seed=seed,
                size=(width, height),
                fps=fps,
                hook=hook,
            )
    except VigcvError as exc:
        raise fail(str(exc)) from None
    speech = sum(len(v) for v in result.speech.values())
    console.print(
        f"wrote {result.video} ({result.duration:.1f} s, script {result.script.title!r}, "
        f"seed {seed}): {len(result.script.attuned_moments)} attuned moments, "
        f"{speech} speech turns"
    )
    for path in (result.labels, result.rttm, result.truth, result.meta):
        console.print(f"  {path}")


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command to the vigcv app."""
    app.command("synth", help=HELP)(synth)
