"""The extraction cache: where a session's slow features are kept, and the key that says they
are still valid.

``OUT/<session>/cache/<key>/{vision,audio}/`` holds the FrameFeatures and SpeechTrack of one
recording (:mod:`vigcv.io.store` writes and reads them). ``<key>`` is
``<input sha256[:16]>-<extraction key>``, where the extraction key hashes everything that can
change what extraction returns:

- vigcv's version and :data:`EXTRACTOR_VERSION` (bumped when extraction code changes its output);
- the sha256 of every model file in ``models/manifest.toml``;
- the ``ingest``, ``vision`` and ``audio`` sections of the config.

So a changed extractor, model or setting can never reuse a stale cache, while new scoring
settings, a role swap or ``vigcv score`` reuse it and never decode the video again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import vigcv
from vigcv.config import Config, extract_hash
from vigcv.hooks import Hook, no_hook
from vigcv.io import store
from vigcv.models import load_manifest, sha256_file
from vigcv.results.folder import CACHE_FOLDER
from vigcv.types import SpeechTrack

EXTRACTOR_VERSION = "13"  # bump when extraction code changes its output
SPEECH_WARNINGS = "warnings.json"  # beside the cached SpeechTrack: what its extraction warned


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's content (the recording's identity in the cache)."""
    return sha256_file(Path(path))


def extraction_key(config: Mapping[str, Any]) -> str:
    """A short hash of everything that changes extracted features (see the module's docstring)."""
    parts = {
        "vigcv": vigcv.__version__,
        "extractor": EXTRACTOR_VERSION,
        "models": {name: spec.sha256 for name, spec in sorted(load_manifest().items())},
        "config": extract_hash(config),
    }
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cache_dir(session_dir: Path, *, sha256: str, config: Config) -> Path:
    """The cache folder of this recording (by content) with this extraction."""
    return Path(session_dir) / CACHE_FOLDER / f"{sha256[:16]}-{extraction_key(config)}"


def is_cached(folder: Path) -> bool:
    """Whether a cache part (``.../vision`` or ``.../audio``) was completely written."""
    return (Path(folder) / store.COMPLETE).is_file()


def cached_speech(
    path: Path,
    *,
    has_audio: bool,
    config: Config,
    folder: Path,
    hook: Hook = no_hook,
    warnings: list[str],
) -> tuple[SpeechTrack, bool]:
    """The audio half of extraction: from ``folder`` when cached there, else computed.

    The warnings the extraction gave are cached with it and added to ``warnings`` either way,
    so a session whose audio a worker extracted ahead of it reports the same.
    Returns ``(speech, hit)``.
    """
    found: list[str] = []

    def compute() -> SpeechTrack:
        found.clear()
        if not has_audio:
            return SpeechTrack.empty()
        from vigcv.audio import extract_audio

        return extract_audio(path, config=config, hook=hook, warnings=found)

    def save(dest: Path, speech: SpeechTrack) -> None:
        store.save_speech(dest, speech)
        (dest / SPEECH_WARNINGS).write_text(json.dumps(found), encoding="utf-8")

    def load(src: Path) -> SpeechTrack:
        speech = store.load_speech(src)
        said = src / SPEECH_WARNINGS
        found[:] = (
            [str(w) for w in json.loads(said.read_text(encoding="utf-8"))] if said.is_file() else []
        )
        return speech

    speech, hit = store.cached(folder, compute, save=save, load=load)
    warnings.extend(found)
    return speech, hit
