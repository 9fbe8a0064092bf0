"""``vigcv evaluate``: compare processed sessions with human coding (JSON labels or ELAN .eaf)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vigcv.commands.common import console, err_console, fail, get_config
from vigcv.errors import VigcvError

HELP = """Compare suggested moments and per-frame signals with human coding.

LABELS is a folder of coding files, matched to the sessions of OUT by name (<session>.json, <family>.session.json or <session>.eaf): JSON labels (per-frame 1/0/null every step_s seconds and attuned_moments with a strength 1-3), or ELAN files with tiers named mutual_gaze, parent_looks_at_child, child_looks_at_parent, parent_smile, child_smile (annotations = where the signal is 1) and attuned_moments (strength 1-3 as the annotation's value). Both formats, with examples, and how frames are matched in time: docs/labels.md in the vigcv repository.

Prints and saves OUT/evaluation.csv and OUT/evaluation.json: frame-level precision/recall/F1 per signal, event-level F1 (temporal IoU >= 0.5), and moment precision@3/@5, nDCG@5 and recall@10 beside random 4 s windows.

--rttm DIR scores who speaks when: each session's speech.csv against <session>.rttm of DIR (RTTM SPEAKER lines), as voice-activity F1 (10 ms frames), DER and JER (no collar, overlap counted; pyannote.metrics) and speaker-change F1 (0.25 s collar); printed and saved as OUT/speech_evaluation.csv. Give --labels, --rttm or both.
"""  # noqa: E501


def _f(value: float, digits: int = 2) -> str:
    return (
        "–"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:.{digits}f}")
    )


def _signal_table(title: str, blocks: list[tuple[str, object]], *, uncoded: bool = False) -> Table:
    """Precision, recall, F1 and n per session and signal; with ``uncoded`` (frame level) also
    the frames the coders left null where vigcv said yes, of all they left null."""
    table = Table(title=title, title_justify="left")
    table.add_column("session")
    table.add_column("signal")
    for col in ("precision", "recall", "F1", "n"):
        table.add_column(col, justify="right")
    if uncoded:
        table.add_column("said yes where the coders could not tell", justify="right")
    for name, frame in blocks:
        for signal, row in frame.iterrows():  # type: ignore[attr-defined]
            n = row["n"] if "n" in row else f"{int(row['system'])}/{int(row['labelled'])}"
            cells = [
                name,
                str(signal),
                _f(row["precision"]),
                _f(row["recall"]),
                _f(row["f1"]),
                str(int(n)) if not isinstance(n, str) else n,
            ]
            if uncoded:
                cells.append(f"{int(row['uncoded_yes'])}/{int(row['uncoded'])}")
            table.add_row(*cells)
        table.add_section()
    return table


def evaluate(
    out: Annotated[Path, typer.Argument(help="The OUT folder of `vigcv run` (or one session).")],
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels", "-l", help="Folder of .json / .eaf coding files (see docs/labels.md)."
        ),
    ] = None,
    rttm: Annotated[
        Path | None,
        typer.Option(
            "--rttm", help="Folder of <session>.rttm speech references (who speaks when)."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Re-score from the cache with this config first."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random-window baseline.")] = 0,
) -> None:
    if labels is None and rttm is None:
        raise fail("give --labels DIR (coding files), --rttm DIR (speech references) or both")
    if rttm is not None:
        _evaluate_speech(out, rttm)
    if labels is None:
        return
    from vigcv.evaluation.report import evaluate_out, write_evaluation

    cfg = get_config(config) if config is not None else None
    try:
        result = evaluate_out(out, labels, config=cfg, seed=seed)
        paths = write_evaluation(result, out if out.is_dir() else out.parent)
    except VigcvError as exc:
        raise fail(str(exc)) from None
    blocks = [(s.session, s) for s in result.sessions]
    pooled = result.pooled
    frame_blocks = [(n, s.frame) for n, s in blocks]
    event_blocks = [(n, s.event) for n, s in blocks]
    if pooled:
        frame_blocks.append(("all", pooled["frame"]))
        event_blocks.append(("all", pooled["event"]))
    console.print(
        _signal_table("Frame level (label times, threshold 0.5)", frame_blocks, uncoded=True)
    )
    console.print(
        _signal_table("Event level (temporal IoU >= 0.5; n = system/labelled)", event_blocks)
    )
    mt = Table(title="Moments: ours (random 4 s windows)", title_justify="left")
    mt.add_column("session", overflow="fold", min_width=12)
    rows = [(s.session, s.moments, s.random) for s in result.sessions]
    if pooled:
        rows.append(("mean", pooled["moments"], pooled["random"]))
    metrics = {
        "precision_at_3": "P@3",
        "precision_at_5": "P@5",
        "ndcg_at_5": "nDCG@5",
        "recall_at_10": "recall@10",
        "clip_recall_at_5": "clip recall@5",
    }
    for label in metrics.values():
        mt.add_column(label, justify="right")
    for i, (name, mom, rnd) in enumerate(rows):  # one row per session: many sessions stay legible
        mt.add_row(
            name,
            *[f"{_f(mom[key])}\n({_f(rnd[key])})" for key in metrics],
            end_section=i == len(rows) - 2 and pooled is not None,
        )
    console.print(mt)
    if result.unmatched:
        err_console.print(
            f"no coding for {len(result.unmatched)} session(s): " + ", ".join(result.unmatched)
        )
    console.print(f"saved {paths['csv']} and {paths['json']}")


def _evaluate_speech(out: Path, rttm: Path) -> None:
    """Who speaks when against RTTM references: print and save speech_evaluation.csv."""
    from vigcv.evaluation.speech import SPEECH_EVALUATION_FILE, evaluate_speech
    from vigcv.io import store

    try:
        table, unmatched = evaluate_speech(out, rttm)
        path = (out if out.is_dir() else out.parent) / SPEECH_EVALUATION_FILE
        store.write_csv(path, table, float_format="%.4f")
    except VigcvError as exc:
        raise fail(str(exc)) from None
    st = Table(title="Who speaks when (RTTM references)", title_justify="left")
    columns = {
        "session": "session",
        "vad_f1": "VAD F1",
        "der": "DER",
        "jer": "JER",
        "change_f1": "change F1",
        "ref_speakers": "speakers (ref)",
        "hyp_speakers": "speakers (found)",
    }
    for key, label in columns.items():
        st.add_column(label, justify="left" if key == "session" else "right")
    for i, row in table.iterrows():
        cells = [str(row["session"])]
        cells += [_f(float(row[k]), 0 if "speakers" in k else 3) for k in list(columns)[1:]]
        st.add_row(*cells, end_section=i == len(table) - 2)
    console.print(st)
    if unmatched:
        err_console.print(f"no RTTM for {len(unmatched)} session(s): " + ", ".join(unmatched))
    console.print(f"saved {path}")


def register(app: typer.Typer) -> None:
    """Add ``vigcv evaluate`` to the app."""
    app.command("evaluate", help=HELP)(evaluate)
