"""``vigcv tune``: learn the component weights from review decisions and/or human coding."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from vigcv.commands.common import console, fail, get_config
from vigcv.errors import VigcvError

HELP = """Learn the component weights from the guider's decisions and/or human coding.

Accepted and rejected moments in OUT/reviews.sqlite (and, with --labels DIR, windows overlapping labelled moments of strength >= 2 against windows overlapping none) teach a pairwise ranking with non-negative weights. Prints the cross-validated precision@k before and after (leave one session out, or time blocks of a single session), how well each component alone ranks the examples (AUC: why a weight came out high or zero), and writes the weights to a config file (default OUT/tuned.toml) for `vigcv score OUT --config OUT/tuned.toml`.
"""  # noqa: E501


def tune(
    out: Annotated[Path, typer.Argument(help="The OUT folder of `vigcv run`.")],
    labels: Annotated[
        Path | None, typer.Option("--labels", "-l", help="Folder of .json / .eaf coding files.")
    ] = None,
    reviews: Annotated[
        bool, typer.Option("--reviews/--no-reviews", help="Learn from OUT/reviews.sqlite.")
    ] = True,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config to start from ('before').")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Config file to write [OUT/tuned.toml].")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="k of precision@k.")] = 3,
) -> None:
    from vigcv.tune import tune as learn
    from vigcv.tune import write_tuned

    cfg = get_config(config)
    try:
        result = learn(out, labels=labels, use_reviews=reviews, config=cfg, k=k)
        path = write_tuned(result, output or out / "tuned.toml")
    except VigcvError as exc:
        raise fail(str(exc)) from None
    weights = Table(title="Component weights", title_justify="left")
    weights.add_column("component")
    weights.add_column("before", justify="right")
    weights.add_column("after", justify="right")
    for name, after in result.weights_after.items():
        weights.add_row(name, f"{result.weights_before[name]:g}", f"{after:.3f}")
    console.print(weights)
    cv = Table(title=f"Cross-validated ({result.method})", title_justify="left")
    cv.add_column("session")
    for col in (f"P@{k} before", f"P@{k} after", "nDCG@5 before", "nDCG@5 after"):
        cv.add_column(col, justify="right")
    for _, row in result.folds.iterrows():
        cv.add_row(
            str(row["session"]),
            *(
                f"{row[c]:.2f}"
                for c in ("precision_before", "precision_after", "ndcg_before", "ndcg_after")
            ),
        )
    s = result.summary()
    cv.add_section()
    cv.add_row(
        "mean",
        *(
            f"{s[c]:.2f}"
            for c in ("precision_before", "precision_after", "ndcg_before", "ndcg_after")
        ),
    )
    console.print(cv)
    if len(result.separation):
        sep = Table(
            title="Each component alone: how well it ranks the examples (AUC; 0.5 is chance)",
            title_justify="left",
        )
        sep.add_column("component")
        for session in result.separation.index:
            sep.add_column(str(session), justify="right", overflow="fold")
        for name in result.separation.columns:
            values = result.separation[name]
            sep.add_row(name, *("-" if np.isnan(v) else f"{v:.2f}" for v in values))
        console.print(sep)
        below = [c for c in result.separation.columns if result.separation[c].max() < 0.5]
        if below:
            console.print(
                f"ranked below chance in every session: {', '.join(below)} (a weight of 0 is "
                "learned for what does not rank the examples; check how it is measured there)"
            )
    console.print(
        f"learned from {result.source} ({result.positives} positive, {result.negatives} negative "
        f"windows); wrote {path}\nuse it: vigcv score {out} --config {path}"
    )


def register(app: typer.Typer) -> None:
    """Add ``vigcv tune`` to the app."""
    app.command("tune", help=HELP)(tune)
