"""Config: defaults, partial overrides, and one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigcv.config import default_config_path, extract_hash, load_config, score_hash
from vigcv.errors import ConfigError


def test_every_default_value_has_a_comment() -> None:
    lines = [line.strip() for line in default_config_path().read_text().splitlines()]
    for i, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            above = i - 1
            while above >= 0 and lines[above] and not lines[above].startswith(("#", "[")):
                above -= 1  # a comment may describe a group of keys written together
            assert above >= 0 and lines[above].startswith("#"), f"no comment for: {line}"


def test_partial_override(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("[scoring]\nwindow_s = 4\n[scoring.weights]\nmutual_gaze = 2.0\n")
    config = load_config(path)
    assert config["scoring"]["window_s"] == 4.0
    assert config["scoring"]["weights"]["mutual_gaze"] == 2.0
    assert config["scoring"]["hop_s"] == load_config()["scoring"]["hop_s"]
    assert score_hash(config) != score_hash(load_config())
    assert extract_hash(config) == extract_hash(load_config())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[scoring]\nwindow_len = 3\n", "unknown config key 'scoring.window_len'"),
        ("[scorng]\nwindow_s = 3\n", "unknown config key 'scorng'"),
        ("[scoring]\nwindow_s = 'long'\n", "'scoring.window_s' must be a number"),
        ("[scoring]\nwindow_s = -1\n", "'scoring.window_s' must not be negative"),
        ("[scoring]\nweights = 3\n", "'scoring.weights' must be a section"),
        ("[scoring\nwindow_s = 3\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
