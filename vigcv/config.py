"""Configuration: ``configs/default.toml`` plus optional overrides, validated against it.

A config is a nested dict of sections. Every key that may be set is in the default file; an
override with an unknown key or a value of another type is a :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vigcv.errors import ConfigError

_PACKAGE_DIR = Path(__file__).resolve().parent

Config = dict[str, Any]


def default_config_path() -> Path:
    checkout = _PACKAGE_DIR.parent / "configs" / "default.toml"
    if checkout.is_file():
        return checkout
    return _PACKAGE_DIR / "resources" / "default.toml"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found; check the path") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, expected a .toml config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file") from None


def _merge(base: dict[str, Any], over: Mapping[str, Any], *, where: str, source: str) -> None:
    for key, value in over.items():
        name = f"{where}.{key}" if where else key
        if key not in base:
            valid = ", ".join(sorted(base)) or "(none)"
            raise ConfigError(f"{source}: unknown config key '{name}'; valid keys here: {valid}")
        current = base[key]
        if isinstance(current, dict):
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"{source}: '{name}' must be a section (a [table]), got {value!r}"
                )
            _merge(current, value, where=name, source=source)
            continue
        base[key] = _check_type(name, current, value, source)


def _check_type(name: str, current: Any, value: Any, source: str) -> Any:
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: '{name}' must be true or false, got {value!r}")
        return value
    if isinstance(current, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{source}: '{name}' must be a number, got {value!r}")
        if value < 0:
            raise ConfigError(f"{source}: '{name}' must not be negative, got {value!r}")
        return float(value) if isinstance(current, float) else value
    if isinstance(current, str):
        if not isinstance(value, str):
            raise ConfigError(f"{source}: '{name}' must be a string, got {value!r}")
        return value
    if isinstance(current, list):
        if not isinstance(value, list):
            raise ConfigError(f"{source}: '{name}' must be a list, got {value!r}")
        return value
    return value


def load_config(
    path: str | Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """The default config, updated by the TOML file at ``path`` and then by ``overrides``.

    Parameters
    ----------
    path : str or Path, optional
        A TOML file with some of the default file's sections and keys.
    overrides : mapping, optional
        Nested dict of values to set, validated the same way (e.g. from CLI flags).
    """
    config = _read_toml(default_config_path())
    if path is not None:
        _merge(config, _read_toml(Path(path)), where="", source=str(path))
    if overrides:
        _merge(config, overrides, where="", source="override")
    return config


def section_hash(config: Mapping[str, Any], sections: Iterable[str]) -> str:
    """Short sha256 of the named sections (order-independent canonical JSON)."""
    sub = {name: config.get(name) for name in sorted(sections)}
    blob = json.dumps(sub, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


EXTRACT_SECTIONS = ("ingest", "vision", "audio")
SCORE_SECTIONS = ("scoring", "selection")


def extract_hash(config: Mapping[str, Any]) -> str:
    """Hash of everything that changes extracted features (cache key part)."""
    return section_hash(config, EXTRACT_SECTIONS)


def score_hash(config: Mapping[str, Any]) -> str:
    """Hash of everything that changes scores and moments (``config_hash`` in moments.json)."""
    return section_hash(config, SCORE_SECTIONS)


def copy_config(config: Config) -> Config:
    return copy.deepcopy(config)


def section_values(
    config: Mapping[str, Any] | None, section: str, names: Iterable[str]
) -> dict[str, Any]:
    """The keys ``names`` that ``config[section]`` sets (a typed settings class's fields)."""
    values = dict((config or {}).get(section, {}))
    return {k: values[k] for k in names if k in values}
