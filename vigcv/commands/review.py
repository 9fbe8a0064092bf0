"""``vigcv review``: the guider's local review page over an OUT folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigcv.commands.common import console, err_console, fail, get_config

HELP = """Open the review page: watch each suggested moment, keep or set it aside, trim it, add a note.

OUT is the folder `vigcv run --out` wrote. A small web app starts on this computer only (127.0.0.1, a free port) and the browser opens; if it does not, open the printed link. It is a private link: anyone who has it can open the page while it runs, from this computer only, so do not share it. Every click is saved at once in OUT/reviews.sqlite, so closing the browser or the terminal loses nothing; re-running `vigcv run` or `vigcv score` never changes it.

Keys on the page: arrows = previous/next moment, Space = play/pause, A = keep, R = set aside, [ ] = start earlier/later, - = = end earlier/later, N = note. Press Ctrl+C here to stop.

[bold]Example[/]

  vigcv review ~/vig-results
"""  # noqa: E501


def review(
    out: Annotated[Path, typer.Argument(help="The OUT folder of `vigcv run`.")],
    port: Annotated[
        int, typer.Option("--port", help="Port on 127.0.0.1 (0 = any free port).", min=0)
    ] = 0,
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="Open the page in the web browser.")
    ] = True,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML file with [review] settings.")
    ] = None,
) -> None:
    """Start the review page for OUT and print its address."""
    from vigcv.errors import VigcvError
    from vigcv.export import export_out
    from vigcv.results.decisions import DB_NAME
    from vigcv.review.server import NoResultsError, make_server

    cfg = get_config(config)
    if not out.is_dir():
        raise fail(f"{out}: no such folder; give the --out folder of `vigcv run`", code=2)
    try:
        server = make_server(out, port=port, config=cfg, exporter=export_out)
    except NoResultsError as exc:  # the wrong folder: a usage error, and nothing written there
        raise fail(str(exc), code=2) from None
    except VigcvError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(
            f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); try another --port"
        ) from None
    # print() and flush: scripts and tests read the address from a pipe
    print(f"Review page: {server.url}", flush=True)
    err_console.print(
        "This is a private link: anyone with it can open the page on this computer while it "
        "runs, so do not share it. Keep this window open while you review; Ctrl+C stops the page."
    )
    if browser:
        try:
            import webbrowser

            webbrowser.open(server.url, new=2)
        except Exception:
            console.print("Could not open a browser; open the address above yourself.")
    # Ctrl+C stops the page even where the shell started this process with interrupts ignored
    # (a job started in the background inherits SIGINT ignored, and Python then leaves it so).
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        database = server.app.out / DB_NAME
        err_console.print(f"review page stopped; every decision is saved in {database}")
    finally:
        server.server_close()


def register(app: typer.Typer) -> None:
    """Add ``vigcv review`` to the CLI."""
    app.command("review", help=HELP)(review)
