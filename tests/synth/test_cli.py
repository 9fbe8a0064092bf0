"""``vigcv synth`` on a throwaway typer app: a tiny session end to end, and a friendly error."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import typer
from typer.testing import CliRunner

from vigcv.commands.synth import register

TINY = """
title = "tiny"
duration = 2.0
events = ["parent looks at child 0.5-1.5", 'child says "ba" at 0.4']
[[attuned_moments]]
start = 0.2
end = 1.8
strength = 2
why = "tiny"
"""


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def noop() -> None:  # a second command keeps typer from collapsing to a single command
        pass

    return app


def test_synth_command_writes_a_session(tmp_path: Path) -> None:
    script = tmp_path / "tiny.toml"
    script.write_text(TINY)
    out = tmp_path / "tiny.mp4"
    result = CliRunner().invoke(_app(), ["synth", str(out), "--script", str(script), "--seed", "4"])
    assert result.exit_code == 0, result.output
    labels = json.loads((tmp_path / "tiny.labels.json").read_text())
    assert len(labels["frames"]) == 4 and labels["attuned_moments"][0]["why"] == "tiny"
    assert (tmp_path / "tiny.rttm").read_text().split()[7] == "child"
    truth = pd.read_csv(tmp_path / "tiny.truth.csv")
    assert len(truth) == 2 * 50
    # same seed, same session; another seed moves people and light
    again = CliRunner().invoke(
        _app(), ["synth", str(tmp_path / "b.mp4"), "--script", str(script), "--seed", "4"]
    )
    assert again.exit_code == 0
    assert pd.read_csv(tmp_path / "b.truth.csv").equals(truth)
    other = CliRunner().invoke(
        _app(), ["synth", str(tmp_path / "c.mp4"), "--script", str(script), "--seed", "5"]
    )
    assert other.exit_code == 0
    assert not pd.read_csv(tmp_path / "c.truth.csv")[["x", "y"]].equals(truth[["x", "y"]])


def test_synth_command_explains_a_bad_script(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["synth", str(tmp_path / "x.mp4"), "--script", "nope"])
    assert result.exit_code == 1
    assert "no shipped synth script 'nope'" in result.output
    assert not (tmp_path / "x.mp4").exists()
