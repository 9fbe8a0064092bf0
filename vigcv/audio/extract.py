"""The slow part of the audio stage: decode, voice activity, acoustic features, speaker clusters.

Streams the audio in blocks (:func:`vigcv.io.iter_audio`): voice activity and the acoustic
features of a block are computed while it is in memory, and only the small per-frame results are
kept, so a two-hour recording needs no more memory for audio than one block.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vigcv.audio.diarize import cluster_speakers, speech_mask
from vigcv.audio.features import HOP, AcousticFrames, acoustic_frames
from vigcv.audio.features import HOP_S as HOP_FEATURES
from vigcv.audio.vad import CHUNK, HOP_S, chunk_times, hysteresis_segments, stream_vad
from vigcv.checks import require_finite
from vigcv.config import section_hash
from vigcv.errors import ConfigError
from vigcv.hooks import Hook, no_hook
from vigcv.intervals import true_runs
from vigcv.io import iter_audio, probe
from vigcv.models import load_manifest
from vigcv.types import SEGMENT_COLUMNS, TURN_COLUMNS, Segment, SpeechTrack

AUDIO_VERSION = "5"
RATE = 16000


def extract_audio(
    path: Path,
    *,
    config: dict[str, Any],
    hook: Hook = no_hook,
    warnings: list[str] | None = None,
) -> SpeechTrack:
    """Voice activity, speech segments and anonymous speakers of a recording's audio.

    Parameters
    ----------
    path : Path
        A video or audio file (anything :func:`vigcv.io.iter_audio` decodes).
    config : dict
        The whole config (``[audio]`` and ``[ingest].audio_rate`` are read).
    hook : vigcv.hooks.Hook, optional
        Called as ``hook("audio", None, completed=seconds, total=seconds)`` after each block.
    warnings : list of str, optional
        Receives a line for a recording without audio or with truncated audio.

    Returns
    -------
    SpeechTrack
        ``times``/``vad`` every 32 ms (``vad`` is the larger of Silero's speech probability
        and :func:`vocalisation`); ``segments`` with columns ``start``, ``end``, ``speaker``
        (cluster label ``A``, ``B``, … by decreasing speech time), ``confidence``, ``cluster``,
        ``pitch_hz`` (median F0 of the segment's voiced frames, NaN if none) and ``role_guess``
        (``adult`` / ``child`` / ``unknown`` from the cluster's median pitch); no turns yet
        (:func:`vigcv.audio.attribute_speakers` adds them).
    """
    cfg = config["audio"]
    rate = int(config.get("ingest", {}).get("audio_rate", RATE))
    if rate != RATE:
        raise ConfigError(f"'ingest.audio_rate' must be {RATE} for Silero VAD, got {rate}")
    path = Path(path)
    info = probe(path)
    if not info.has_audio:
        if warnings is not None:
            warnings.append(f"{path.name}: no audio track; speech analysis skipped")
        return SpeechTrack.empty()
    total = float(info.duration)
    probs: list[np.ndarray] = []
    parts: list[AcousticFrames] = []
    done = 0.0
    blocks = (b.samples for b in iter_audio(path, rate=RATE, block_s=10.0, warnings=warnings))
    stream = stream_vad(
        blocks,
        batch=int(cfg["vad_batch"]),
        warmup_chunks=max(1, round(cfg["vad_warmup_s"] / HOP_S)),
        block_chunks=max(5, round(cfg["block_s"] / HOP_S) // 5 * 5),  # see stream_vad
        level_db=cfg["vad_level_db"],
        level_quantile=cfg["vad_level_quantile"],
        max_gain_db=cfg["vad_max_gain_db"],
    )
    for samples, prob in stream:
        probs.append(prob)
        wanted = np.repeat(prob >= cfg["vad_off"], CHUNK)[::HOP][: samples.size // HOP]
        parts.append(
            acoustic_frames(
                samples,
                speech=wanted,
                loud_db=cfg["vocal_min_db"],
                fmin=cfg["pitch_fmin_hz"],
                fmax=cfg["pitch_fmax_hz"],
                with_fbank=cfg["cluster_on"] == "campplus",
            )
        )
        done += samples.size / RATE
        hook("audio", None, completed=min(done, total), total=total)
    silero = np.concatenate(probs) if probs else np.zeros(0, np.float32)
    frames = AcousticFrames.concatenate(parts)
    vocal = vocalisation(
        frames,
        n=silero.size,
        min_db=cfg["vocal_min_db"],
        min_glide_st=cfg["vocal_min_glide_st"],
        min_voiced=cfg["vocal_min_voiced"],
    )
    vad = np.maximum(silero, vocal)
    segments = hysteresis_segments(
        vad,
        on=cfg["vad_on"],
        off=cfg["vad_off"],
        min_speech_s=cfg["min_speech_s"],
        min_silence_s=cfg["min_silence_s"],
    )
    segments = trim_quiet_edges(
        segments,
        frames,
        min_db=cfg["edge_db"],
        most_s=cfg["edge_trim_s"],
        pad_s=cfg["vad_pad_s"],
        snr_fraction=cfg["edge_snr_fraction"],
    )
    table = speaker_segments(frames, segments, config=cfg)
    manifest = load_manifest()
    spec, encoder = manifest["silero_vad"], manifest["voice_encoder"]
    camp = manifest["speaker_campplus"]
    windows = {
        "campplus": f"CAM++ speaker embeddings ({camp.source}, sha256 {camp.sha256[:12]})",
        "ge2e": "GE2E voice-encoder d-vectors",
        "mfcc": "MFCC statistics",
    }
    provenance = {
        "stage": "audio",
        "version": AUDIO_VERSION,
        "vad_model": f"silero_vad ({spec.source}, sha256 {spec.sha256[:12]})",
        "features": "MFCC (40 mel) + pYIN pitch, 20 ms",
        "speaker_embeddings": (
            f"GE2E voice encoder ({encoder.source}, sha256 {encoder.sha256[:12]})"
            if cfg["speaker_embeddings"]
            else "off"
        ),
        "speaker_windows": windows.get(str(cfg["cluster_on"]), str(cfg["cluster_on"])),
        "config_hash": section_hash(config, ["audio"]),
        "duration_s": round(vad.size * HOP_S, 3),
        "clusters": {
            str(c): {
                "speech_s": round(float((g["end"] - g["start"]).sum()), 2),
                "role_guess": str(g["role_guess"].iloc[0]),
            }
            for c, g in table.groupby("cluster")
        },
    }
    empty_turns = pd.DataFrame({c: pd.Series(dtype=object) for c in TURN_COLUMNS})
    return SpeechTrack(chunk_times(vad.size), vad, table, empty_turns, provenance)


def trim_quiet_edges(
    segments: list[Segment],
    frames: AcousticFrames,
    *,
    min_db: float,
    most_s: float,
    pad_s: float,
    snr_fraction: float = np.inf,
) -> list[Segment]:
    """Cut the quiet ends off speech segments, then pad them by ``pad_s``.

    Silero's probability rises a little early and falls about 0.1 s late; frames at a segment's
    start or end that are less than ``min_db`` above the noise floor are cut, at most ``most_s``
    seconds per side, so turn latencies are measured from the voice itself.

    The margin is at most ``snr_fraction`` of the recording's own speech-to-floor distance (the
    95th minus the 10th percentile of frame loudness, :func:`edge_margin_db`): in room noise at
    10 dB SNR that distance is about 17 dB, so a fixed 10 dB margin would cut speech Silero is
    sure of (``scripts/bench_audio.py --conditions``).
    """
    if frames.db.size == 0:
        return segments
    margin = edge_margin_db(frames.db, min_db=min_db, snr_fraction=snr_fraction)
    loud = frames.db >= float(np.percentile(frames.db, 10)) + margin
    t = frames.times
    out: list[Segment] = []
    for seg in segments:
        inside = np.flatnonzero((t >= seg.start) & (t < seg.end) & loud)
        start, end = seg.start, seg.end
        if inside.size:
            start = max(start, min(start + most_s, t[inside[0]] - HOP_FEATURES / 2))
            end = min(end, max(end - most_s, t[inside[-1]] + HOP_FEATURES / 2))
        lo = out[-1].end if out else 0.0
        out.append(Segment(max(lo, start - pad_s), max(max(lo, start - pad_s), end + pad_s)))
    return [s for s in out if s.duration > 0]


def edge_margin_db(db: np.ndarray, *, min_db: float, snr_fraction: float) -> float:
    """How far above the noise floor a segment edge must be to be kept, dB.

    ``min(min_db, snr_fraction * (p95 - p10))`` of the frame loudness ``db`` (dB): the fixed
    margin, or a share of the recording's speech-to-floor distance when that is smaller (noise).
    """
    if db.size == 0:
        return float(min_db)
    span = float(np.percentile(db, 95) - np.percentile(db, 10))
    return float(min(min_db, snr_fraction * max(span, 0.0)))


def vocalisation(
    frames: AcousticFrames,
    *,
    n: int,
    min_db: float,
    min_glide_st: float,
    min_voiced: float,
) -> np.ndarray:
    """Loud voiced sounds: a vocalisation indicator on the 32 ms VAD grid, shape (n,).

    Silero VAD is trained on speech and often misses a baby's babble, squeals and cries; they are
    loud and voiced, with a moving pitch. A run of frames at least ``min_db`` above the
    recording's noise floor (the 10th percentile of frame loudness) is a vocalisation (1.0) when
    at least ``min_voiced`` of its frames are voiced (pYIN finds a pitch) and that pitch varies
    by at least ``min_glide_st`` semitones (standard deviation); a clatter is not voiced and a
    toy's beep or a whistle holds its pitch.
    """
    if frames.db.size == 0 or n == 0:
        return np.zeros(n, np.float32)
    loud = frames.db >= float(np.percentile(frames.db, 10)) + min_db
    value = np.zeros(frames.db.size, np.float32)
    pitch = require_finite(frames.f0, what="pitch (Hz) deciding vocalisations", allow_nan=True)
    for lo, hi in true_runs(loud):
        f0 = pitch[lo:hi]
        voiced = np.isfinite(f0)
        if voiced.mean() < min_voiced or voiced.sum() < 3:
            continue
        if 12 * np.std(np.log2(f0[voiced])) >= min_glide_st:
            value[lo:hi] = 1.0
    idx = np.clip(np.round(chunk_times(n) / HOP_FEATURES).astype(int), 0, value.size - 1)
    return value[idx]


def speaker_segments(
    frames: AcousticFrames, segments: list[Segment], *, config: dict[str, Any]
) -> pd.DataFrame:
    """Cluster the speech, then add pitch and an adult/child guess per cluster.

    Parameters
    ----------
    frames : AcousticFrames
        Features on the 20 ms grid.
    segments : list of Segment
        Speech (voice activity).
    config : dict
        The ``[audio]`` section.

    Returns
    -------
    DataFrame
        :data:`vigcv.types.SEGMENT_COLUMNS` + ``cluster``, ``pitch_hz``, ``role_guess``.
    """
    columns = [*SEGMENT_COLUMNS, "cluster", "pitch_hz", "role_guess"]
    table = cluster_speakers(frames, segments, config=config)
    if table.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    # NaN where pYIN decided unvoiced; an infinity would make a cluster's median (adult or
    # child) meaningless
    voiced = require_finite(frames.f0, what="pitch (Hz) deciding adult or child", allow_nan=True)
    pieces = [Segment(s, e) for s, e in zip(table["start"], table["end"], strict=True)]
    owner = speech_mask(pieces, n=voiced.size)
    pitch = np.full(len(table), np.nan)
    for k in range(len(table)):
        f0 = voiced[owner == k]
        if np.isfinite(f0).sum() >= 3:
            pitch[k] = float(np.nanmedian(f0))
    table["pitch_hz"] = pitch
    guess = {}
    for cluster in table["cluster"].unique():
        f0 = voiced[np.isin(owner, np.flatnonzero(table["cluster"].to_numpy() == cluster))]
        if np.isfinite(f0).sum() < 10:
            guess[cluster] = "unknown"
        else:
            guess[cluster] = "child" if np.nanmedian(f0) >= config["child_pitch_hz"] else "adult"
    table["role_guess"] = table["cluster"].map(guess)
    table["speaker"] = table["cluster"]
    return table[columns].reset_index(drop=True)
