"""Configuration: ``configs/default.toml`` plus optional overrides, validated against it.

A config is a nested dict of sections. Every key that may be set is in the default file, and
every default lives there: code reads the loaded config rather than repeating a value. An
override with an unknown key, a value of another type, a choice that is not one of
:data:`CHOICES` or a number outside the range the code relies on (:data:`SHARES`,
:data:`POSITIVE`) is a one-line :class:`ConfigError` naming the file and the key, when the
config is read, before any recording is opened.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vigcv.errors import ConfigError

_PACKAGE_DIR = Path(__file__).resolve().parent

Config = dict[str, Any]

# The values each choice-valued key may take, keyed "section.key" ("section.sub.key" in a
# sub-table); for a list-valued key, the values its items may take. The modules that branch on
# a choice take its names from here (e.g. ``CHOICES["vision.track_matching"]``); scoring's
# ``COMBINERS`` registry holds one function per name of ``"scoring.combine"``.
CHOICES: dict[str, tuple[str, ...]] = {
    "vision.track_matching": ("greedy", "hungarian"),
    "vision.eye_source": ("eye", "iris"),
    "vision.looks_at_model": ("angle", "towards"),
    "vision.head_pose_source": ("mesh", "whenet", "mesh_whenet"),
    "vision.looks_at_threshold_mode": ("fixed", "session"),
    "vision.child_looks_at_threshold_mode": ("fixed", "session"),
    "vision.looks_at_depth": ("face_size", "shared"),
    "vision.looks_towards_split": ("none", "person", "child"),
    "vision.looks_towards_split_method": ("isodata", "mixture", "lower"),
    "vision.mutual_gaze_combine": ("min", "product"),
    "vision.smile_model": ("baseline", "relative"),
    "audio.cluster_on": ("campplus", "ge2e", "mfcc"),
    "scoring.combine": ("weighted_mean", "geometric", "max"),
    "batch.decode_ahead": ("auto", "on", "off"),
}

# String keys that hold free text (names shown to people), not a choice.
FREE_TEXT: tuple[str, ...] = ("scoring.names.parent", "scoring.names.child")

# Numbers the code relies on being a probability, a share or a score in 0..1 ...
SHARES: frozenset[str] = frozenset(
    {
        "vision.detect_threshold",
        "vision.nms_iou",
        "vision.roi_threshold",
        "vision.roi_extra_share",
        "vision.person_score_quantile",
        "vision.person_min_score",
        "vision.extra_person_min_presence",
        "vision.link_max_overlap",
        "vision.landmark_confidence",
        "vision.coast_visibility",
        "vision.face_min",
        "vision.child_face_min",
        "vision.face_min_size_ratio",
        "vision.smile_threshold",
        "vision.child_smile_threshold",
        "vision.smile_relative",
        "vision.smile_baseline_quantile",
        "vision.happy_relative",
        "vision.child_happy_relative",
        "vision.happy_baseline_quantile",
        "audio.vad_on",
        "audio.vad_off",
        "audio.vad_level_quantile",
        "audio.vocal_min_voiced",
        "audio.embed_purity",
        "audio.av_cluster_share",
        "audio.av_face_sure",
        "audio.rise_level",
        "scoring.present",
        "scoring.reason_common_share",
        "scoring.reason_measured_share",
        "scoring.note_unread_share",
        "scoring.answer_gaze_weight",
        "scoring.principles.attentive",
        "scoring.principles.encouraging",
        "scoring.principles.receiving",
        "scoring.principles.turn_taking",
        "scoring.principles.enjoyment",
        "selection.extend_ratio",
        "selection.min_score",
        "review.match_iou",
        "export.blur_detect_threshold",
        "export.blur_match_iou",
    }
)

# ... and numbers it divides by, takes the logarithm of or counts in steps of (> 0).
POSITIVE: frozenset[str] = frozenset(
    {
        "ingest.analysis_fps",
        "ingest.audio_rate",
        "vision.smile_threshold",
        "vision.child_smile_threshold",
        "vision.smile_log_scale",
        "vision.happy_ratio",
        "vision.looks_towards_scale_deg",
        "vision.looks_towards_split_window_s",
        "vision.looks_at_scale_deg",
        "vision.progress_every",
        "vision.max_people",
        "vision.role_face_split",
        "vision.role_face_scale",
        "vision.role_size_scale",
        "vision.identity_max_distance",
        "vision.looks_target_softness_deg",
        "vision.looks_turn_depth",
        "audio.block_s",
        "scoring.window_s",
        "scoring.hop_s",
        "scoring.step_s",
        "scoring.bout_ref_s",
        "scoring.promptness_s",
        "scoring.switches_ref",
        "scoring.laughter_ref_s",
        "tune.time_blocks",
        "export.blur_detect_every",
        "export.blur_detect_width",
        "export.blur_cells",
        "export.blur_threads",
        "people.sure_distance",
        "people.ask_distance",
    }
)


# Pairs of keys ("section.key") whose first value may not exceed the second.
ORDERED: tuple[tuple[str, str], ...] = (("people.sure_distance", "people.ask_distance"),)


def _check_order(config: Mapping[str, Any], source: str) -> None:
    for low, high in ORDERED:
        (s1, k1), (s2, k2) = low.split(".", 1), high.split(".", 1)
        a, b = config.get(s1, {}).get(k1), config.get(s2, {}).get(k2)
        if isinstance(a, int | float) and isinstance(b, int | float) and a > b:
            raise ConfigError(f"{source}: '{low}' ({a}) must not be greater than '{high}' ({b})")


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
        base[key] = check_value(name, _check_type(name, current, value, source), source=source)


def _check_type(name: str, current: Any, value: Any, source: str) -> Any:
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: '{name}' must be true or false, got {value!r}")
        return value
    if isinstance(current, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{source}: '{name}' must be a number, got {value!r}")
        if value < 0 <= current:  # keys whose default is negative (a logit) may be negative
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
    config = default_config()
    if path is not None:
        _merge(config, _read_toml(Path(path)), where="", source=str(path))
    if overrides:
        _merge(config, overrides, where="", source="override")
    _check_order(config, str(path) if path is not None else "override")
    return config


def check_value(name: str, value: Any, *, source: str = "config") -> Any:
    """``value`` of the key ``name`` ("section.key"), or a one-line :class:`ConfigError` naming
    ``source``, the key, the value and what it may be (:data:`CHOICES`, :data:`SHARES`,
    :data:`POSITIVE`)."""
    choices = CHOICES.get(name)
    if choices is not None:
        for item in value if isinstance(value, list) else [value]:
            if item not in choices:
                close = difflib.get_close_matches(str(item), choices, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(
                    f"{source}: '{name}' must be one of {', '.join(map(repr, choices))}, "
                    f"got {item!r}{hint}"
                )
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if name in SHARES and not 0.0 <= value <= 1.0:
        raise ConfigError(f"{source}: '{name}' must be between 0 and 1, got {value!r}")
    if name in POSITIVE and not value > 0:
        raise ConfigError(f"{source}: '{name}' must be greater than 0, got {value!r}")
    return value


def check_config(config: Mapping[str, Any], *, source: str = "config") -> None:
    """Check every value of ``config`` with :func:`check_value` (a config built or edited in
    code rather than read by :func:`load_config`)."""

    def walk(section: Mapping[str, Any], where: str) -> None:
        for key, value in section.items():
            name = f"{where}.{key}" if where else key
            if isinstance(value, Mapping):
                walk(value, name)
            else:
                check_value(name, value, source=source)

    walk(config, "")
    _check_order(config, source)


_DEFAULT: dict[tuple[str, int], Config] = {}


def default_config() -> Config:
    """A fresh copy of ``configs/default.toml`` (parsed and checked once per process)."""
    path = default_config_path()
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _DEFAULT:
        config = _read_toml(path)
        check_config(config, source=str(path))
        _DEFAULT.clear()
        _DEFAULT[key] = config
    return copy.deepcopy(_DEFAULT[key])


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
    """The keys ``names`` of ``config[section]`` (a typed settings class's fields), each taken
    from the default config where ``config`` (or None) lacks it; a name that ``section`` of
    the default file lacks too is left out."""
    values = {**default_config().get(section, {}), **dict((config or {}).get(section, {}))}
    return {k: values[k] for k in names if k in values}


def setting(section: str, key: str, value: Any = None) -> Any:
    """``value`` when it is given, else ``[section] key`` of ``configs/default.toml``.

    For a library function's keyword defaults, so that no default is copied into code:
    ``off = setting("audio", "vad_off", off)``.
    """
    return default_config()[section][key] if value is None else value
