"""``vigcv run``: process recordings into ranked moments."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vigcv.commands.common import (
    STATE,
    clock,
    console,
    err_console,
    fail,
    get_config,
    make_progress,
    moments_table,
    stage_hook,
)
from vigcv.errors import VigcvError
from vigcv.models import check_optional_models

if TYPE_CHECKING:
    from vigcv.batch import Job
    from vigcv.pipeline import SessionResult

HELP = """Find attuned parent-child moments in recordings.

INPUT is one or more video or audio files and/or folders (searched recursively for mp4 mov m4v avi mkv webm 3gp wav flac m4a mp3). Each file becomes a session folder OUT/<name>/ with timeline.csv, features.parquet, speech.csv, turns.csv, moments.json, moments.csv, windows.parquet and run.json; OUT/summary.csv lists every session.

Families: films filed in a folder per family, named by their date (films/<family>/2026-01-10.mp4; or any names with --families) become visits OUT/<family>/<visit>/, dated from the recording's metadata, else the date in the name, else the file's modification time; OUT/<family>/progress.csv and progress.png show each visit's indicators in date order. A --sessions CSV may give family and visit_date columns.

Finished sessions are skipped on a re-run (--force redoes them). A file that cannot be read is reported in one line and the batch carries on. Nothing leaves this machine.

[bold]Examples[/]

  vigcv run ~/films/family1.mp4 --out ~/vig-results

  vigcv run ~/films --out ~/vig-results --parent-side left

  vigcv run ~/films --out ~/vig-results --config my-weights.toml

  vigcv run /shared/films --out /shared/vig-results --executor dask --scheduler tcp://head:8786
"""  # noqa: E501


def _sessions_rows(path: Path | None) -> list[dict[str, str]]:
    if path is None:
        return []
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except OSError as exc:
        raise fail(f"{path}: cannot read the sessions CSV ({exc.strerror})", code=2) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise fail(
            f"{path}: not a CSV file ({exc.__class__.__name__}); save it as UTF-8 CSV", code=2
        ) from None


def _families_csv(path: Path | None) -> tuple[dict[str, str], dict[str, str]]:
    """``({file key: family}, {file key: visit_date})`` from the sessions CSV's ``family`` and
    ``visit_date`` columns (a key is the ``session``, ``input`` or ``file`` column, its name and
    its stem)."""
    from vigcv.family.dates import parse_date

    families: dict[str, str] = {}
    dates: dict[str, str] = {}
    for row in _sessions_rows(path):
        key = (row.get("session") or row.get("input") or row.get("file") or "").strip()
        family = (row.get("family") or "").strip()
        date = (row.get("visit_date") or "").strip()
        if not key or not (family or date):
            continue
        if date:
            try:
                parse_date(date, what=f"{path}: visit_date of {key}")
            except VigcvError as exc:
                raise fail(str(exc), code=2) from None
        for k in (key, Path(key).name, Path(key).stem):
            if family:
                families[k] = family
            if date:
                dates[k] = date
    return families, dates


def _sessions_csv(path: Path | None) -> dict[str, str]:
    """``{session name or file name: parent_side}`` from an optional sessions CSV."""
    if path is None:
        return {}
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise fail(f"{path}: cannot read the sessions CSV ({exc.strerror})", code=2) from None
    sides: dict[str, str] = {}
    for row in rows:
        side = (row.get("parent_side") or "").strip().lower()
        key = (row.get("session") or row.get("input") or row.get("file") or "").strip()
        if not key or not side:
            continue
        if side not in ("left", "right"):
            raise fail(f"{path}: parent_side must be left or right, got {side!r} for {key}", code=2)
        sides[key] = side
        sides[Path(key).name] = side
        sides[Path(key).stem] = side
    return sides


def run(
    inputs: Annotated[
        list[Path], typer.Argument(help="Video/audio files and/or folders.", show_default=False)
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results (created).")],
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML file overriding configs/default.toml."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Redo sessions that are already done.")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Worker processes: sessions, or the time chunks of long sessions, run at once "
            "(default: the number of cores). Each worker takes a core of its own "
            "([batch] pin_cores).",
            show_default=False,
        ),
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="local (this machine) or dask (an existing Dask cluster, see --scheduler).",
        ),
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Dask scheduler address for --executor dask, e.g. tcp://HOST:8786. Workers "
            "must see the inputs and --out at the same paths.",
        ),
    ] = None,
    parent_side: Annotated[
        str | None,
        typer.Option(
            "--parent-side",
            help="Where the parent is in the picture (left|right); otherwise found automatically.",
        ),
    ] = None,
    sessions: Annotated[
        Path | None,
        typer.Option(
            "--sessions",
            help="CSV with columns session (or input) and parent_side, family, visit_date "
            "(YYYY-MM-DD): per-recording overrides.",
        ),
    ] = None,
    overlay: Annotated[
        bool, typer.Option("--overlay", help="Also write overlay.mp4: boxes, gaze rays, smiles.")
    ] = False,
    families: Annotated[
        bool,
        typer.Option(
            "--families",
            help="Every sub-folder of a folder given is a family, its films its visits "
            "(without it: only sub-folders whose films are named by date, YYYY-MM-DD).",
        ),
    ] = False,
) -> None:
    # Imported here: `vigcv --help` and `vigcv run --help` answer without loading the pipeline.
    from vigcv.batch import discover, run_batch
    from vigcv.executors import EXECUTORS, default_jobs
    from vigcv.io import MEDIA_EXTENSIONS, store

    if parent_side is not None and parent_side not in ("left", "right"):
        raise fail(f"--parent-side must be left or right, got {parent_side!r}", code=2)
    if executor not in EXECUTORS:
        raise fail(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}", code=2)
    if executor == "dask" and not scheduler:
        raise fail("--executor dask needs --scheduler tcp://HOST:8786", code=2)
    workers = jobs if jobs is not None else default_jobs()
    cfg = get_config(config)
    try:
        check_optional_models(cfg)
    except VigcvError as exc:
        raise fail(str(exc), code=2) from None
    sides = _sessions_csv(sessions)
    family_of, csv_dates = _families_csv(sessions)
    found = discover(inputs, out=out, families=families, family_of=family_of)
    visit_dates = {
        job.session: date
        for job in found
        for k in (str(job.input), job.input.name, job.input.stem)
        if (date := csv_dates.get(k)) and "/" in job.session
    }
    if not any(not job.problem for job in found):
        # nothing to run: a usage error, and OUT is not created
        for job in found[:-1]:
            err_console.print(f"[bold red]error:[/] {escape(job.problem)}", soft_wrap=True)
        if found:
            raise fail(found[-1].problem, code=2)
        kinds = " ".join(sorted(MEDIA_EXTENSIONS))
        given = ", ".join(str(p) for p in inputs)
        raise fail(f"{given}: no video or audio files in here ({kinds}); check the folder", code=2)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe_file = out / ".vigcv-write-test"
        probe_file.write_text("ok")
        probe_file.unlink()
    except OSError as exc:
        raise fail(str(store.output_error(out, exc))) from None

    groups: dict[str | None, list[Job]] = {}
    for job in found:
        side = sides.get(job.session) or sides.get(job.input.name) or parent_side
        groups.setdefault(side, []).append(job)

    results: list[SessionResult] = []
    with make_progress() as progress:
        batch_task = progress.add_task("sessions", total=len(found))
        hook, stage_tasks = stage_hook(progress)  # one bar per session in progress

        def on_result(result: SessionResult) -> None:
            progress.advance(batch_task)
            task_id = stage_tasks.pop(result.session, None)
            if task_id is not None:
                progress.remove_task(task_id)
            if result.status == "failed":
                err_console.print(
                    f"[red]failed[/] {result.session}: {result.reason}", soft_wrap=True
                )

        for side, group in groups.items():
            results += run_batch(
                group,
                out,
                config=cfg,
                force=force,
                parent_side=side,
                overlay=overlay,
                jobs_n=workers,
                executor=executor,
                scheduler=scheduler,
                debug=STATE["debug"],
                hook=hook,
                on_result=on_result,
                visit_dates=visit_dates,
            )
    _write_progress(out, results)
    if len(groups) > 1:
        from vigcv.batch import write_summary

        write_summary(out, results)
    _print_summary(results, out)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


def _write_progress(out: Path, results: list[SessionResult]) -> None:
    """Each family's progress.csv and progress.png, for the families of this run."""
    from vigcv.family.indicators import write_progress
    from vigcv.family.plot import write_progress_plot
    from vigcv.results import PROGRESS_FILE, is_family

    families = sorted({r.session.split("/")[0] for r in results if "/" in r.session})
    for name in families:
        folder = out / name
        if not is_family(folder):
            continue
        try:
            table = write_progress(folder)
            write_progress_plot(folder, table)
        except VigcvError as exc:
            err_console.print(f"[red]no progress for {escape(name)}:[/] {escape(str(exc))}")
            continue
        console.print(f"{name}: {len(table)} visits in {folder / PROGRESS_FILE}")


def _print_summary(results: list[SessionResult], out: Path) -> None:
    table = Table(title=f"vigcv run: {out}", title_justify="left")
    for name in ("session", "status", "length", "took", "moments", "note"):
        table.add_column(name, overflow="fold")
    for r in results:
        colour = {"ok": "green", "skipped": "cyan", "failed": "red"}[r.status]
        note = r.reason or "; ".join(r.warnings[:2])
        table.add_row(
            escape(r.session),
            f"[{colour}]{r.status}[/]",
            clock(r.duration) if r.duration else "–",
            f"{r.seconds:.1f} s" if r.seconds else "–",
            str(r.moments) if r.status != "failed" else "–",
            escape(note),
        )
    console.print(table)
    shown = [r for r in results if r.status in ("ok", "skipped") and r.out_dir is not None]
    for r in shown[:3]:
        assert r.out_dir is not None
        moments = moments_table(r.out_dir, top=5)
        if moments is not None:
            console.print(moments)
    if len(shown) > 3:
        console.print(f"… and {len(shown) - 3} more sessions: see {out}/<session>/moments.csv")
    ok = sum(r.status != "failed" for r in results)
    console.print(f"{ok} of {len(results)} sessions done; summary in {out / 'summary.csv'}")
