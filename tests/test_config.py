"""Config: defaults, partial overrides, and one-line errors naming the key."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from vigcv.config import (
    CHOICES,
    FREE_TEXT,
    POSITIVE,
    SHARES,
    check_config,
    default_config_path,
    extract_hash,
    load_config,
    score_hash,
    section_values,
)
from vigcv.errors import ConfigError
from vigcv.executors import decode_ahead_for
from vigcv.scoring.combine import COMBINERS, resolve_combiner
from vigcv.tune import tune_settings
from vigcv.vision.extract import features_from_scan
from vigcv.vision.scan import MEASURE_FIELDS, ScanResult
from vigcv.vision.signals import session_threshold
from vigcv.vision.social import mutual_gaze_probability
from vigcv.vision.track import FaceTracker


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


# -- choices and ranges, checked when the config is read ------------------------------------------


VIGCV_RUN = [sys.executable, "-m", "vigcv.cli", "run"]


def _bad_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


def _run_missing_film(
    tmp_path: Path, config_text: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`vigcv run` on a film that does not exist with ``config_text`` as its --config: the
    finished process and the --out folder it was given."""
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            *VIGCV_RUN,
            str(tmp_path / "missing.mp4"),
            "--out",
            str(out),
            "--config",
            str(_bad_file(tmp_path, config_text)),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, COLUMNS="300", NO_COLOR="1", **env),
        timeout=300,
    )
    return proc, out


@pytest.mark.parametrize(
    ("section", "key", "bad"),
    [
        ("vision", "looks_at_model", "toward"),
        ("vision", "mutual_gaze_combine", "mean"),
        ("vision", "track_matching", "Greedy"),
        ("vision", "eye_source", "eyes"),
        ("vision", "looks_at_depth", "depth"),
        ("scoring", "combine", "weighted-mean"),
        ("batch", "decode_ahead", "yes"),
    ],
)
def test_a_bad_choice_names_file_key_value_and_choices(
    tmp_path: Path, section: str, key: str, bad: str
) -> None:
    path = _bad_file(tmp_path, f'[{section}]\n{key} = "{bad}"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}: '{section}.{key}' must be one of ")
    assert repr(bad) in message
    for choice in CHOICES[f"{section}.{key}"]:
        assert repr(choice) in message
    assert "\n" not in message


def test_a_near_miss_suggests_the_choice(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"did you mean 'towards'\?"):
        load_config(_bad_file(tmp_path, '[vision]\nlooks_at_model = "toward"\n'))


def test_overrides_are_checked_the_same_way() -> None:
    with pytest.raises(ConfigError, match=r"^override: 'vision.mutual_gaze_combine' must be one"):
        load_config(overrides={"vision": {"mutual_gaze_combine": "mean"}})
    with pytest.raises(ConfigError, match=r"'scoring.present' must be between 0 and 1, got 1.5"):
        load_config(overrides={"scoring": {"present": 1.5}})
    for choice in CHOICES["vision.looks_at_model"]:
        config = load_config(overrides={"vision": {"looks_at_model": choice}})
        assert config["vision"]["looks_at_model"] == choice


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[audio]\nvad_on = 1.2\n", "'audio.vad_on' must be between 0 and 1, got 1.2"),
        (
            "[scoring.principles]\nattentive = 2\n",
            "'scoring.principles.attentive' must be between 0 and 1, got 2.0",
        ),
        ("[ingest]\nanalysis_fps = 0\n", "'ingest.analysis_fps' must be greater than 0"),
        ("[scoring]\npromptness_s = 0.0\n", "'scoring.promptness_s' must be greater than 0"),
        ("[vision]\nprogress_every = 0\n", "'vision.progress_every' must be greater than 0"),
    ],
)
def test_numbers_outside_what_the_code_relies_on(tmp_path: Path, text: str, expected: str) -> None:
    path = _bad_file(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: {expected}")


def test_a_key_whose_default_is_negative_may_be_set_negative() -> None:
    config = load_config(overrides={"vision": {"smile_prior_baseline": -6}})
    assert config["vision"]["smile_prior_baseline"] == -6.0


def _leaves(table: dict, where: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in table.items():
        name = f"{where}.{key}" if where else key
        out.update(_leaves(value, name) if isinstance(value, dict) else {name: value})
    return out


def test_every_string_key_of_the_default_file_is_a_choice_or_free_text() -> None:
    with default_config_path().open("rb") as fh:
        leaves = _leaves(tomllib.load(fh))
    texts = {
        name
        for name, value in leaves.items()
        if isinstance(value, str)
        or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    }
    assert texts == set(CHOICES) | set(FREE_TEXT)
    assert not set(CHOICES) & set(FREE_TEXT)
    for name in SHARES | POSITIVE:
        assert isinstance(leaves.get(name), int | float), f"{name} is not a number in default.toml"
    for name, choices in CHOICES.items():
        assert leaves[name] in choices and len(set(choices)) == len(choices)
    load_config()  # the default file passes its own checks
    check_config(load_config())


def _scan(mesh_fails_every: int = 0, turns: bool = False) -> ScanResult:
    """Parent (large face, image left) and child (small face, image right) turned towards each
    other, eyes looking one way by the blendshapes and another by the iris; the face mesh fails
    on every ``mesh_fails_every``-th frame (0: never), where the five-point yaw reads half.
    ``turns``: both turn twice as far on every other stretch of five frames."""
    rows: dict[str, list[float]] = {}
    n = 40
    for i in range(n):
        # the child's face is small for her head width: she is taken to be twice as far away
        for track, cx, size, yaw in ((0, 160.0, 90.0, -30.0), (1, 460.0, 30.0, 25.0)):
            yaw *= 2.0 if turns and (i // 5) % 2 else 1.0
            values = {
                "frame": i,
                "track": track,
                "x0": cx - size / 2,
                "y0": 200 - size / 2,
                "x1": cx + size / 2,
                "y1": 200 + size / 2,
                "score": 0.9,
                "fp_yaw": yaw,
                "lm_tried": 1.0,
                "lm_ok": 1.0,
                **{name: 0.0 for name in MEASURE_FIELDS},
                "yaw": yaw,
                "smile": 0.01,
                "eye_x": 0.3 if track == 0 else -0.3,
                "iris_x": -0.3 if track == 0 else 0.3,
                # WHENet's head pose: turned further than the mesh's on two frames of three,
                # nearly frontal on the third (two groups of angles to split)
                "hp_yaw": yaw * 2.3 if i % 3 else yaw * 0.2,
                "hp_pitch": 0.0,
            }
            if mesh_fails_every and i % mesh_fails_every == 0:
                values.update({name: np.nan for name in MEASURE_FIELDS}, lm_ok=0.0)
                values["fp_yaw"] = yaw / 2
            for key, value in values.items():
                rows.setdefault(key, []).append(float(value))
    return ScanResult(np.arange(n) / 10.0, {k: np.asarray(v) for k, v in rows.items()}, 640, 480)


def _dyad(mesh_fails_every: int = 0, turns: bool = False, **vision: str | float) -> np.ndarray:
    config = load_config(overrides={"vision": vision})
    dyad = features_from_scan(_scan(mesh_fails_every, turns), config=config, rate=10.0).dyad
    cols = ["parent_looks_at_child", "child_looks_at_parent", "mutual_gaze"]
    return dyad[cols].to_numpy(dtype=float)


def _differ(results: list[object]) -> bool:
    """Every pair of results differs (each name takes a branch of its own)."""
    arrays = [
        np.atleast_1d(np.asarray(r, dtype=float if r is not None else object)) for r in results
    ]
    for i, a in enumerate(arrays):
        for b in arrays[i + 1 :]:
            if a.dtype == object or b.dtype == object:
                same = a.shape == b.shape and bool((a == b).all())
            else:
                same = a.shape == b.shape and np.allclose(a, b, atol=1e-3, equal_nan=True)
            if same:
                return False
    return True


def _resolve(name: str, choice: str) -> object:
    """What the code makes of ``choice`` for the key ``name``, read from a loaded config."""
    section, key = name.split(".")
    config = load_config(overrides={section: {key: choice}})
    value = config[section][key]
    if name == "scoring.combine":
        return resolve_combiner(value)[1](np.array([[0.2, 0.9]]), np.array([1.0, 2.0]))
    if name == "vision.track_matching":
        tracker = FaceTracker(gate=2.0, matching=value)
        # Tracks 0 and 1 at x = 0 and 15; faces at x = 10 and 30 (size 10). Greedy gives the
        # first face to the nearer track 1 and the second a new track; hungarian pairs both.
        tracker.update(0.0, np.array([[-5.0, 0, 5, 10], [10.0, 0, 20, 10]]))
        return tracker.update(0.0, np.array([[5.0, 0, 15, 10], [25.0, 0, 35, 10]]))
    if name == "vision.mutual_gaze_combine":
        return mutual_gaze_probability(np.array([0.9]), np.array([0.4]), combine=value)
    if name == "batch.decode_ahead":
        return decode_ahead_for(config)
    if name == "vision.looks_at_depth":
        return _dyad(looks_at_model="angle", looks_at_depth=value)
    if name == "vision.smile_model":
        dyad = features_from_scan(_scan(), config=config, rate=10.0).dyad
        return dyad[["parent_smile", "child_smile"]].to_numpy(dtype=float)
    if name in ("vision.looks_at_model", "vision.eye_source"):
        return _dyad(**{key: value})
    if name == "vision.head_pose_source":
        return _dyad(mesh_fails_every=2, looks_at_model="angle", **{key: value})
    if name in ("vision.looks_at_threshold_mode", "vision.child_looks_at_threshold_mode"):
        fixed = {"looks_at_threshold_deg": 89.0, "child_looks_at_threshold_deg": 89.0}
        return _dyad(looks_at_model="angle", head_pose_source="whenet", **fixed, **{key: value})
    if name == "vision.looks_towards_split":  # two groups of turns: the cut moves between
        fixed = {"looks_towards_deg": 0.0, "child_looks_towards_deg": 0.0}
        return _dyad(turns=True, looks_towards_split_method="isodata", **fixed, **{key: value})
    if name == "vision.looks_towards_split_method":
        # the lower of the two cuts is isodata's on one set and the mixture's on the other
        rng = np.random.default_rng(0)
        wide_high = np.r_[rng.normal(20, 3, 150), rng.normal(55, 15, 80)]
        wide_low = np.r_[rng.normal(20, 15, 80), rng.normal(60, 3, 150)]
        return [
            session_threshold(v, low=0.0, high=90.0, fallback=30.0, method=value)
            for v in (wide_high, wide_low)
        ]
    if name == "audio.cluster_on":  # what summarises the clustering windows (its width)
        return _window_summary_width(config)
    raise AssertionError(f"no test resolves {name}: add one here")


def _window_summary_width(config: dict) -> list[int]:
    from vigcv.audio import diarize
    from vigcv.audio.features import acoustic_frames
    from vigcv.synth.voice import synthesize
    from vigcv.types import Segment

    said = [("adult", "look at the ball"), ("child", "ball ball"), ("adult", "where did it go")]
    audio = np.concatenate([synthesize(text, voice=voice, rate=16000) for voice, text in said])
    frames = acoustic_frames(audio, with_fbank=True)
    seen: list[int] = []
    original = diarize._cluster_windows

    def spy(emb: np.ndarray, windows: list, *, config: dict) -> np.ndarray:
        seen.append(int(emb.shape[1]))
        return original(emb, windows, config=config)

    diarize._cluster_windows = spy  # type: ignore[assignment]
    try:
        diarize.cluster_speakers(frames, [Segment(0.0, audio.size / 16000)], config=config["audio"])
    finally:
        diarize._cluster_windows = original  # type: ignore[assignment]
    return seen


@pytest.mark.parametrize("name", sorted(CHOICES))
def test_every_choice_is_one_the_code_takes(name: str) -> None:
    results = [_resolve(name, choice) for choice in CHOICES[name]]
    assert _differ(results), f"two names of {name} take the same branch: {results}"


def test_the_combiners_are_the_choices() -> None:
    assert set(COMBINERS) == set(CHOICES["scoring.combine"])


def test_settings_sections_fall_back_to_the_default_file() -> None:
    defaults = load_config()
    assert section_values(None, "review", ["match_iou", "nope"]) == {
        "match_iou": defaults["review"]["match_iou"]
    }
    mine = {"tune": {"l2": 0.5}}
    assert tune_settings(mine) == {**defaults["tune"], "l2": 0.5}
    assert tune_settings() == defaults["tune"]


def test_cli_rejects_a_bad_config_before_reading_any_video(tmp_path: Path) -> None:
    """A typo in a choice stops `vigcv run` at once (exit 2, the key named), before the media:
    the film given does not exist, which would otherwise be a failed session (exit 1)."""
    proc, out = _run_missing_film(tmp_path, '[vision]\nmutual_gaze_combine = "mean"\n')
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "'vision.mutual_gaze_combine' must be one of 'min', 'product', got 'mean'" in proc.stderr
    assert "missing.mp4" not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_settings_classes_take_their_defaults_from_the_default_file() -> None:
    from vigcv import executors
    from vigcv.export import ExportSettings
    from vigcv.review.server import ReviewSettings

    defaults = load_config()
    assert vars(ReviewSettings.from_config(None)) == defaults["review"]
    export = ExportSettings.from_config({"export": {"crf": 20}, "review": {"match_iou": 0.5}})
    assert vars(export) == {**defaults["export"], "crf": 20, "match_iou": 0.5}
    # a config without a [batch] section (built in code) behaves as the default file says
    assert executors.decode_ahead_for({}) is executors.decode_ahead_for(defaults)
    assert executors.pin_cores_for({}) == executors.pin_cores_for(defaults)


def test_cli_asks_for_an_optional_model_before_reading_any_video(tmp_path: Path) -> None:
    """`[audio] cluster_on = "campplus"` without the optional CAM++ model fetched stops `vigcv run`
    at once (exit 2, the fetch command named), not each film of the batch in turn."""
    proc, out = _run_missing_film(
        tmp_path, '[audio]\ncluster_on = "campplus"\n', VIGCV_MODELS_DIR=str(tmp_path / "none")
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    said = " ".join(proc.stderr.split())
    assert "[audio] cluster_on = 'campplus' needs an optional model" in said
    assert "vigcv models fetch --optional" in said
    assert "Traceback" not in proc.stderr
    assert not out.exists()
