"""run_session(): one recording through every stage, with the slow extraction cached.

```
ingest ─► extract (vision, audio; cached) ─► speakers, turns ─► score ─► select ─► write
```

Extraction is cached by the input's sha256 and an extraction key (:mod:`vigcv.cache`), so
re-running with new scoring settings, a role swap or ``vigcv score`` never decodes the video again.
``hook(step, artifact)`` is called as each step finishes, and with ``completed=`` and ``total=``
during extraction (:mod:`vigcv.hooks`), so the CLI can draw progress and notebooks can capture
results. Every file is read and written through :mod:`vigcv.results`.
"""

from __future__ import annotations

import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import vigcv
from vigcv import chunks, models, results
from vigcv.cache import (
    EXTRACTOR_VERSION,
    cache_dir,
    cached_speech,
    extraction_key,
    file_sha256,
    is_cached,
)
from vigcv.config import Config, check_config, load_config, score_hash
from vigcv.errors import MediaError, VigcvError
from vigcv.hooks import Hook, no_hook
from vigcv.io import MediaInfo, probe, store
from vigcv.io.quiet import native_stderr_silenced
from vigcv.results import SessionResult
from vigcv.types import FrameFeatures, SpeechTrack


def extract(
    path: Path,
    *,
    info: MediaInfo,
    config: Config,
    cache: Path,
    hook: Hook = no_hook,
    warnings: list[str],
    timings: dict[str, float],
    sha256: str = "",
) -> tuple[FrameFeatures, SpeechTrack]:
    """The slow stage: vision and audio features, loaded from ``cache`` when already there.

    A long recording's vision scan is split in time chunks (:mod:`vigcv.chunks`); chunks that
    workers scanned ahead (``vigcv run --jobs N``) are found in ``cache``, the others are scanned
    here. ``sha256`` is the file's hash when the caller has it (computed otherwise).
    """

    def vision() -> FrameFeatures:
        if not info.has_video:
            return FrameFeatures.empty()
        plan = chunks.plan_chunks(duration=info.duration, config=config)
        if len(plan) > 1:  # a long recording: scanned in chunks (some perhaps by workers)
            return chunks.extract_vision_chunked(
                path,
                config=config,
                info=info,
                chunks=plan,
                folder=cache / chunks.CHUNKS_FOLDER,
                video_id=sha256 or file_sha256(path),
                hook=hook,
                warnings=warnings,
            )
        from vigcv.vision import extract_vision

        return extract_vision(path, config=config, info=info, hook=hook, warnings=warnings)

    started = time.perf_counter()
    with native_stderr_silenced():
        frames, hit_v = store.cached(
            cache / "vision", vision, save=store.save_frames, load=store.load_frames
        )
    chunks.remove_chunks(cache / chunks.CHUNKS_FOLDER)  # the features are cached now
    timings["vision"] = round(time.perf_counter() - started, 3)
    hook("vision_done", frames)
    started = time.perf_counter()
    with native_stderr_silenced():
        speech, hit_a = cached_speech(
            path,
            has_audio=info.has_audio,
            config=config,
            folder=cache / "audio",
            hook=hook,
            warnings=warnings,
        )
    timings["audio"] = round(time.perf_counter() - started, 3)
    hook("audio_done", speech)
    if hit_v and hit_a:
        timings["cache_hit"] = 1.0
    return frames, speech


def apply_roles(
    frames: FrameFeatures,
    speech: SpeechTrack,
    *,
    swapped: bool,
    parent_side: str | None,
    pair: tuple[int, int] | None = None,
    config: Config | None = None,
) -> tuple[FrameFeatures, SpeechTrack]:
    """Score the guider's chosen ``pair`` (parent, child person ids; ignored when they are not
    both people of these features), else put the parent on ``parent_side`` (if given); then
    apply a guider's swap."""
    ids = set(frames.people["person"].astype(int)) if len(frames.people) else set()
    if pair is not None and set(pair) <= ids and pair[0] != pair[1]:
        from vigcv.vision.pairs import pair_features

        config = config if config is not None else load_config()
        frames = pair_features(frames, parent=pair[0], child=pair[1], config=config)
    elif parent_side in ("left", "right") and len(frames.table):
        parent = frames.table[frames.table["role"] == "parent"]
        child = frames.table[frames.table["role"] == "child"]
        if len(parent) and len(child):
            parent_x = float(np.nanmedian(parent["x"] + parent["w"] / 2))
            child_x = float(np.nanmedian(child["x"] + child["w"] / 2))
            parent_is_left = parent_x < child_x
            if parent_is_left != (parent_side == "left"):
                frames, speech = frames.swap_roles(), speech.swap_roles()
    if swapped:
        frames, speech = frames.swap_roles(), speech.swap_roles()
    return frames, speech


def attribute(frames: FrameFeatures, speech: SpeechTrack, *, config: Config) -> SpeechTrack:
    """Speakers matched to the faces on screen, and the turns and responses between them."""
    from vigcv.audio import attribute_speakers, find_turns

    speech = attribute_speakers(speech, frames, config=config)
    turns = find_turns(speech, frames, config=config)
    return SpeechTrack(speech.times, speech.vad, speech.segments, turns, speech.provenance)


def derive(
    frames: FrameFeatures,
    speech: SpeechTrack,
    *,
    config: Config,
    hook: Hook = no_hook,
    attributed: bool = False,
) -> dict[str, Any]:
    """The cheap stages: speakers, turns, timeline, scores and moments (pure; no disk)."""
    from vigcv.audio import speaking_timeline
    from vigcv.scoring import score_session

    if not attributed:
        speech = attribute(frames, speech, config=config)
    hook("speech", speech)
    if len(frames.dyad):
        timeline = frames.dyad.copy()
    else:
        step = 1.0 / float(config["ingest"]["analysis_fps"])
        end = float(speech.times[-1]) if len(speech.times) else 0.0
        timeline = pd.DataFrame({"t": np.arange(0.0, end + 1e-9, step)})
    speaking = speaking_timeline(speech, timeline["t"].to_numpy(dtype=float))
    for column in speaking.columns:
        timeline[column] = speaking[column].to_numpy()
    hook("timeline", timeline)
    scores, moments, notes = score_session(frames, speech, config=config)
    hook("moments", moments)
    return {
        "speech": speech,
        "turns": speech.turns,
        "timeline": timeline,
        "scores": scores,
        "moments": moments,
        "notes": notes,
    }


def write_outputs(
    session_dir: Path,
    *,
    session: str,
    frames: FrameFeatures,
    derived: dict[str, Any],
    config: Config,
    media: Path | None = None,
) -> None:
    """Write the per-session result files (each atomically); with ``media``, the people's
    thumbnails too (a rescore keeps the ones there)."""
    results.write_timeline(session_dir, derived["timeline"])
    results.write_features(session_dir, frames.table)
    write_people(session_dir, frames, media=media)
    results.write_looks(session_dir, frames.looks)
    results.write_speech(session_dir, derived["speech"])
    results.write_moments(
        session_dir,
        derived["moments"],
        windows=derived["scores"].table,
        session=session,
        config_hash=score_hash(config),
    )


def write_pairs(
    session_dir: Path,
    *,
    session: str,
    frames: FrameFeatures,
    speech: SpeechTrack,
    config: Config,
    hook: Hook = no_hook,
) -> list[str]:
    """With more than two people, each other parent-child pair's timeline and moments in
    ``pairs/<parent>-<child>/`` (:func:`vigcv.vision.pairs.parent_child_pairs`); pairs no
    longer found are removed. Returns the pair folders' names."""
    from vigcv.vision.pairs import pair_features, parent_child_pairs

    written = []
    for parent, child in parent_child_pairs(frames)[1:]:
        pair = pair_features(frames, parent=parent, child=child, config=config)
        derived = derive(pair, speech, config=config, hook=hook)
        folder = results.pair_dir(session_dir, parent, child)
        folder.mkdir(parents=True, exist_ok=True)
        results.write_timeline(folder, derived["timeline"])
        results.write_moments(
            folder,
            derived["moments"],
            windows=derived["scores"].table,
            session=f"{session} ({parent} with {child})",
            config_hash=score_hash(config),
        )
        written.append(folder.name)
    results.remove_pairs(session_dir, keep=written)
    return written


def write_people(session_dir: Path, frames: FrameFeatures, *, media: Path | None) -> None:
    """people.csv, people.json and (from ``media``) a thumbnail of each person's best view."""
    from vigcv.io.frames import face_thumbnail

    people = frames.people
    thumbnails: dict[int, bytes] = {}
    if media is not None and len(people) and frames.width:
        for row in people.itertuples(index=False):
            box = np.array([row.thumb_x, row.thumb_y, row.thumb_w, row.thumb_h], dtype=float)
            if not (np.isfinite(row.thumb_t) and np.all(np.isfinite(box))):
                continue
            try:
                thumbnails[int(row.person)] = face_thumbnail(
                    media, float(row.thumb_t), box, frame_width=frames.width
                )
            except MediaError:
                continue  # no picture: the person is listed without one
    embeddings = {
        int(row.person): row.embedding
        for row in people.itertuples(index=False)
        if row.embedding is not None and len(row.embedding)
    }
    results.write_people(session_dir, people, embeddings=embeddings, thumbnails=thumbnails)


def _model_versions() -> dict[str, str]:
    return {
        spec.name: f"{spec.source} sha256:{spec.sha256[:12]}"
        for spec in models.load_manifest().values()
    }


def is_complete(session_dir: Path, *, media: Path, config: Config) -> bool:
    """Whether ``session_dir`` already holds a finished run of this input with this config.

    The input must be the file run.json names, at that place (a moved film is first relinked,
    :mod:`vigcv.results.relink`), with the recorded size and modification time.
    """
    run = results.read_run(session_dir, missing_ok=True)
    try:
        stat = media.stat()
        here = str(media.resolve())
    except (OSError, RuntimeError):
        return False
    same_file = (
        run.get("input") == here
        and run.get("input_size") == stat.st_size
        and run.get("input_mtime_ns") == stat.st_mtime_ns
    )
    return (
        run.get("status") == "ok"
        and same_file
        and run.get("extraction_key") == extraction_key(config)
        and run.get("config_hash") == score_hash(config)
    )


def run_session(
    media: str | Path,
    session_dir: str | Path,
    *,
    config: Config | None = None,
    session: str | None = None,
    hook: Hook | None = None,
    parent_side: str | None = None,
    overlay: bool = False,
) -> SessionResult:
    """Process one recording into ``session_dir``.

    Parameters
    ----------
    media : path
        A video (mp4, mov, m4v, avi, mkv, webm, 3gp) or audio file (wav, flac, m4a, mp3).
    session_dir : path
        The session's output folder (created).
    config : dict, optional
        From :func:`vigcv.load_config`; the defaults when omitted.
    session : str, optional
        The session's name (default: the folder's name).
    hook : callable, optional
        ``hook(step, artifact)`` called after each step and with progress during extraction.
    parent_side : {"left", "right"}, optional
        Where the parent is, to override the automatic role assignment.
    overlay : bool
        Also write ``overlay.mp4`` (boxes, gaze rays, smile meters).

    Returns
    -------
    SessionResult
        ``status="ok"``; user-causable problems raise :class:`vigcv.errors.VigcvError`.
    """
    media = Path(media)
    session_dir = Path(session_dir)
    config = config if config is not None else load_config()
    check_config(config)  # a config built in code is checked before any video is read
    hook = hook or no_hook
    name = session or session_dir.name
    started = time.perf_counter()
    warnings: list[str] = []
    timings: dict[str, float] = {}

    t = time.perf_counter()
    info = probe(media)
    sha = file_sha256(media)
    timings["probe"] = round(time.perf_counter() - t, 3)
    hook("probe", info)
    results.make_session_dir(session_dir)
    if not info.has_audio:
        warnings.append("no audio track: speech, turns and vocal responses are not analysed")
    if not info.has_video:
        warnings.append("audio only: no faces, gaze or smiles; speakers are found by voice alone")

    frames, speech = extract(
        media,
        info=info,
        config=config,
        cache=cache_dir(session_dir, sha256=sha, config=config),
        hook=hook,
        warnings=warnings,
        timings=timings,
        sha256=sha,
    )
    frames, speech = apply_roles(
        frames,
        speech,
        swapped=results.roles_swapped(session_dir),
        parent_side=parent_side,
        pair=results.read_pair(session_dir),
        config=config,
    )
    t = time.perf_counter()
    derived = derive(frames, speech, config=config, hook=hook)
    timings["score"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    write_outputs(
        session_dir, session=name, frames=frames, derived=derived, config=config, media=media
    )
    pairs = write_pairs(session_dir, session=name, frames=frames, speech=speech, config=config)
    if overlay and info.has_video:
        from vigcv.vision import write_overlay

        write_overlay(media, frames, session_dir / results.OVERLAY_FILE, config=config)
    timings["write"] = round(time.perf_counter() - t, 3)
    timings["total"] = round(time.perf_counter() - started, 3)
    stat = media.stat()
    run = {
        "session": name,
        "status": "ok",
        "input": str(media.resolve()),
        "input_sha256": sha,
        "input_size": stat.st_size,
        "input_mtime_ns": stat.st_mtime_ns,
        "media": {
            "duration_s": round(info.duration, 3),
            "has_video": info.has_video,
            "has_audio": info.has_audio,
            "width": info.width,
            "height": info.height,
            "rotation": info.rotation,
            "nominal_fps": round(info.nominal_fps, 3),
            "video_codec": info.video_codec,
            "audio_codec": info.audio_codec,
        },
        "vigcv_version": vigcv.__version__,
        "python": platform.python_version(),
        "models": _model_versions(),
        "config_hash": score_hash(config),
        "extraction_key": extraction_key(config),
        "extractor_version": EXTRACTOR_VERSION,
        "parent_side": parent_side,
        "roles_swapped": results.roles_swapped(session_dir),
        "timings_s": timings,
        "warnings": warnings,
        "notes": list(derived["notes"]),
        "moments": len(derived["moments"]),
        "people": len(frames.people),
        "pairs": pairs,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    results.write_run(session_dir, run)
    hook("done", run)
    return SessionResult(
        session=name,
        input=media,
        status="ok",
        duration=info.duration,
        seconds=time.perf_counter() - started,
        moments=len(derived["moments"]),
        warnings=warnings + list(derived["notes"]),
        out_dir=session_dir,
    )


def _load_cached(session_dir: Path) -> tuple[FrameFeatures, SpeechTrack, dict[str, Any]]:
    run = results.read_run(session_dir)
    key = run.get("extraction_key")
    sha = run.get("input_sha256")
    cache = session_dir / results.CACHE_FOLDER / f"{str(sha)[:16]}-{key}"
    if not (key and sha and is_cached(cache / "vision") and is_cached(cache / "audio")):
        raise VigcvError(f"{session_dir}: cached features are missing; run `vigcv run --force`")
    frames = store.load_frames(cache / "vision")
    speech = store.load_speech(cache / "audio")
    frames, speech = apply_roles(
        frames,
        speech,
        swapped=results.roles_swapped(session_dir),
        parent_side=run.get("parent_side"),
        pair=results.read_pair(session_dir),
    )
    return frames, speech, run


def load(
    session_dir: str | Path, *, config: Config | None = None
) -> tuple[FrameFeatures, SpeechTrack]:
    """The cached features of a processed session: ``frames, speech = vigcv.load(dir)``.

    Speech comes with its speakers attributed and its turns found (cheap, from the cache); roles
    are as the guider last set them (a swap on the review page is applied). Nothing is decoded.
    """
    frames, speech, _ = _load_cached(Path(session_dir))
    config = config if config is not None else load_config()
    return frames, attribute(frames, speech, config=config)


def rescore(
    session_dir: str | Path, *, config: Config | None = None, hook: Hook | None = None
) -> SessionResult:
    """Re-derive scores and moments of a processed session from its cache (no decoding)."""
    session_dir = Path(session_dir)
    config = config if config is not None else load_config()
    check_config(config)
    started = time.perf_counter()
    frames, speech, run = _load_cached(session_dir)
    derived = derive(frames, speech, config=config, hook=hook or no_hook)
    write_outputs(
        session_dir, session=run["session"], frames=frames, derived=derived, config=config
    )
    run["pairs"] = write_pairs(
        session_dir, session=run["session"], frames=frames, speech=speech, config=config
    )
    run["config_hash"] = score_hash(config)
    run["roles_swapped"] = results.roles_swapped(session_dir)
    run["moments"] = len(derived["moments"])
    run["notes"] = list(derived["notes"])
    run.setdefault("timings_s", {})["rescore"] = round(time.perf_counter() - started, 3)
    results.write_run(session_dir, run)
    return SessionResult(
        session=run["session"],
        input=Path(run["input"]),
        status="ok",
        duration=float(run.get("media", {}).get("duration_s", 0.0)),
        seconds=time.perf_counter() - started,
        moments=len(derived["moments"]),
        out_dir=session_dir,
    )


def swap_roles(session_dir: str | Path) -> bool:
    """Swap parent and child for a session (the review page's button) and re-derive outputs.

    Returns the new swapped state. Nothing is re-extracted.
    """
    session_dir = Path(session_dir)
    state = not results.roles_swapped(session_dir)
    results.write_roles(session_dir, swapped=state)
    rescore(session_dir)
    return state


__all__ = [
    "MediaError",
    "SessionResult",
    "load",
    "rescore",
    "run_session",
    "swap_roles",
]
