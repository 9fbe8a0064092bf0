"""The result store: atomic writes, and the extraction cache of FrameFeatures and SpeechTrack.

Every file is written to a temporary name in its destination folder and renamed into place, so an
interrupted run never leaves a half-written file. A cache entry is a folder written the same way
(filled under a temporary name, then renamed), keyed by the input's content hash and the
extraction config hash: a second run, or a notebook, never decodes the video again.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vigcv.errors import OutputError
from vigcv.types import FrameFeatures, SpeechTrack


def output_error(path: Path, exc: OSError) -> OutputError:
    """A one-line error for a file or folder that cannot be written."""
    if exc.errno == errno.ENOSPC or "No space left" in str(exc):
        return OutputError(
            f"{path}: no space left on the disk; free some space or choose another --out"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"{path}: cannot write here (permission denied); choose another --out")
    return OutputError(f"{path}: cannot write ({exc.strerror or exc}); choose another --out")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        os.fchmod(fd, _FILE_MODE)  # mkstemp makes 0600; results are ordinary files
        os.close(fd)
    except OSError as exc:
        raise output_error(path.parent, exc) from None
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise output_error(path, exc) from None
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def write_csv(path: Path, table: pd.DataFrame, *, float_format: str | None = "%.4f") -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format=float_format)


def write_parquet(path: Path, table: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` whole."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part"))
        tmp.chmod(0o777 & ~_umask())
    except OSError as exc:
        raise output_error(path.parent, exc) from None
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except OSError as exc:
        raise output_error(path, exc) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def remove_partials(folder: Path) -> None:
    """Delete temporary files left by a run that was killed (names ``.*.part``)."""
    if not folder.is_dir():
        return
    for leftover in folder.rglob(".*.part"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


# -- the extraction cache -------------------------------------------------------------------------


def save_frames(folder: Path, frames: FrameFeatures) -> None:
    frames.table.to_parquet(folder / "frames_table.parquet", index=False)
    frames.dyad.to_parquet(folder / "frames_dyad.parquet", index=False)
    frames.people.to_parquet(folder / "frames_people.parquet", index=False)
    frames.looks.to_parquet(folder / "frames_looks.parquet", index=False)
    meta = {
        "fps": frames.fps,
        "video_id": frames.video_id,
        "width": frames.width,
        "height": frames.height,
        "provenance": frames.provenance,
    }
    (folder / "frames_meta.json").write_text(json.dumps(meta, default=_json_default))


def load_frames(folder: Path) -> FrameFeatures:
    meta = json.loads((folder / "frames_meta.json").read_text())
    return FrameFeatures(
        table=pd.read_parquet(folder / "frames_table.parquet"),
        dyad=pd.read_parquet(folder / "frames_dyad.parquet"),
        fps=float(meta["fps"]),
        video_id=str(meta["video_id"]),
        width=int(meta.get("width", 0)),
        height=int(meta.get("height", 0)),
        provenance=dict(meta.get("provenance", {})),
        **{
            name: pd.read_parquet(folder / f"frames_{name}.parquet")
            for name in ("people", "looks")
            if (folder / f"frames_{name}.parquet").is_file()
        },
    )


def save_speech(folder: Path, speech: SpeechTrack) -> None:
    np.savez(folder / "speech_vad.npz", times=speech.times, vad=speech.vad)
    speech.segments.to_parquet(folder / "speech_segments.parquet", index=False)
    speech.turns.to_parquet(folder / "speech_turns.parquet", index=False)
    (folder / "speech_meta.json").write_text(
        json.dumps({"provenance": speech.provenance}, default=_json_default)
    )


def load_speech(folder: Path) -> SpeechTrack:
    with np.load(folder / "speech_vad.npz") as arrays:
        times, vad = arrays["times"], arrays["vad"]
    meta = json.loads((folder / "speech_meta.json").read_text())
    return SpeechTrack(
        times=times,
        vad=vad,
        segments=pd.read_parquet(folder / "speech_segments.parquet"),
        turns=pd.read_parquet(folder / "speech_turns.parquet"),
        provenance=dict(meta.get("provenance", {})),
    )


COMPLETE = "COMPLETE"  # the marker file of a cache entry written whole


def cached(
    folder: Path,
    compute: Callable[[], Any],
    *,
    save: Callable[[Path, Any], None],
    load: Callable[[Path], Any],
) -> tuple[Any, bool]:
    """Load ``folder`` if complete, else compute, save atomically and return. ``(value, hit)``."""
    if (folder / COMPLETE).is_file():
        try:
            return load(folder), True
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache entry is recomputed
    value = compute()
    with atomic_dir(folder) as tmp:
        save(tmp, value)
        (tmp / COMPLETE).write_text("ok\n")
    return value, False
