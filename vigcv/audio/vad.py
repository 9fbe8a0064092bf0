"""Voice activity with Silero VAD (ONNX, onnxruntime), streamed and batched.

Silero VAD is recurrent: each call takes 64 samples of context plus 512 new samples at 16 kHz
(32 ms) and a state, and returns the speech probability of those 512 samples. To run it batched,
audio is gathered into blocks that are cut into ``batch`` contiguous pieces run as parallel
streams; each piece first runs over ``warmup_chunks`` chunks of the audio before it (its state
then matches a sequential run to within a few hundredths of probability). Only one block of
audio is held at a time, so memory does not grow with the length of the file.

The recording's level is taken out first (:func:`level_gain`): each block is scaled so its loud
frames (a high quantile of the 32 ms frames' RMS, over this block and the one before) sit at
``[audio] vad_level_db`` dBFS, with at most ``vad_max_gain_db`` of gain, so a far camcorder
microphone (speech at -45 dBFS) and a phone held close (-15 dBFS) give the same probabilities.
Silero alone found speech at -45 dBFS, but lost a quarter of it there once room noise and
reverberation were added (``scripts/bench_audio.py --conditions``).

Every probability is checked before a threshold reads it (:mod:`vigcv.checks`): a NaN compares
false with every threshold, so it would silently keep or drop speech.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache

import numpy as np
import onnxruntime as ort

from vigcv.checks import require_probability
from vigcv.config import setting
from vigcv.models import model_path, onnx_session
from vigcv.types import Segment

RATE = 16000
CHUNK = 512  # new samples per call (32 ms)
CONTEXT = 64  # samples of context before each chunk
HOP_S = CHUNK / RATE


@lru_cache(maxsize=1)
def vad_session() -> ort.InferenceSession:
    """The Silero VAD ONNX session (one thread; the machine's cores go to parallel sessions)."""
    return onnx_session(model_path("silero_vad"))


def chunk_times(n: int) -> np.ndarray:
    """Centre time in seconds of VAD chunks ``0 .. n-1``, shape (n,)."""
    return (np.arange(n) + 0.5) * HOP_S


def frame_db(samples: np.ndarray) -> np.ndarray:
    """RMS level in dBFS of each whole 32 ms chunk of ``samples``, shape (len // 512,)."""
    n = samples.size // CHUNK
    frames = samples[: n * CHUNK].reshape(n, CHUNK).astype(np.float64)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def level_gain(
    levels: np.ndarray, *, target_db: float, quantile: float, max_gain_db: float
) -> float:
    """The gain (a factor) that brings the ``quantile`` of frame levels to ``target_db``.

    Parameters
    ----------
    levels : ndarray
        Frame levels in dBFS (:func:`frame_db`).
    target_db : float
        Where the loud frames should sit, dBFS.
    quantile : float
        Which frames are "loud" (0..1): high enough to be speech in a recording with a few
        seconds of it, low enough that a cough or a bang does not set the level.
    max_gain_db : float
        Most gain applied (and most attenuation, negated): room noise alone is not raised to
        speech level, digital silence stays silent.
    """
    if levels.size == 0:
        return 1.0
    gain_db = target_db - float(np.quantile(levels, quantile))
    return float(10 ** (np.clip(gain_db, -max_gain_db, max_gain_db) / 20))


def _run_pieces(
    audio: np.ndarray, *, first: int, n_chunks: int, batch: int, warmup: int
) -> np.ndarray:
    """Probabilities of chunks ``first .. first + n_chunks - 1`` of ``audio``.

    ``audio`` holds at least ``CONTEXT + warmup * CHUNK`` samples before chunk ``first`` (zeros
    at the start of the file) and whole chunks after it.
    """
    session = vad_session()
    pieces = max(1, min(batch, n_chunks // max(1, 2 * warmup) or 1))
    length = -(-n_chunks // pieces)  # chunks per piece
    need = CONTEXT + (first + pieces * length + 1) * CHUNK
    if audio.size < need:
        audio = np.concatenate([audio, np.zeros(need - audio.size, np.float32)])
    # piece p starts at chunk first + p * length - warmup (its first sample index below)
    starts = (first + np.arange(pieces) * length - warmup) * CHUNK
    index = starts[:, None] + np.arange(CONTEXT + CHUNK)[None, :]
    state = np.zeros((2, pieces, 128), np.float32)
    rate = np.array(RATE, dtype=np.int64)
    out = np.zeros((pieces, length + warmup), np.float32)
    for j in range(length + warmup):
        x = audio[index + j * CHUNK]
        prob, state = session.run(None, {"input": x, "state": state, "sr": rate})
        out[:, j] = prob.reshape(-1)
    probs = out[:, warmup:].reshape(-1)[:n_chunks]
    return require_probability(probs, what="Silero VAD speech probabilities").astype(np.float32)


def stream_vad(
    blocks: Iterable[np.ndarray],
    *,
    batch: int | None = None,
    warmup_chunks: int | None = None,
    block_chunks: int | None = None,
    level_db: float | None = None,
    level_quantile: float | None = None,
    max_gain_db: float | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Speech probabilities of a stream of 16 kHz mono audio blocks.

    Parameters
    ----------
    blocks : iterable of ndarray
        Consecutive float32 sample blocks of any length.
    batch : int, optional
        Parallel streams per model call (default ``[audio] vad_batch``).
    warmup_chunks : int, optional
        Chunks (32 ms each) of preceding audio each piece runs over before its own chunks
        (default ``[audio] vad_warmup_s`` of them).
    block_chunks : int, optional
        Chunks processed together (1875 chunks = 60 s; default ``[audio] block_s`` of them,
        a multiple of 5 chunks).
    level_db, level_quantile, max_gain_db : float, optional
        Level normalisation (:func:`level_gain`; default ``[audio] vad_level_db``,
        ``vad_level_quantile``, ``vad_max_gain_db``). The level is estimated on the block and
        the block before it, so a short last block is not scaled by its own few frames.
        ``max_gain_db = 0`` turns normalisation off.

    Settings left out come from ``configs/default.toml``.

    Yields
    ------
    (samples, probabilities)
        The audio samples of each processed stretch as given (not normalised; whole chunks,
        zero-padded at the very end), shape (k * 512,), and their speech probabilities,
        shape (k,), in order.
    """
    batch = int(setting("audio", "vad_batch", batch))
    if warmup_chunks is None:
        warmup_chunks = max(1, round(float(setting("audio", "vad_warmup_s")) / HOP_S))
    if block_chunks is None:
        # a multiple of 5 chunks (2560 samples) keeps every block on the 320-sample feature grid
        block_chunks = max(5, round(float(setting("audio", "block_s")) / HOP_S) // 5 * 5)
    target = float(setting("audio", "vad_level_db", level_db))
    quantile = float(setting("audio", "vad_level_quantile", level_quantile))
    most = float(setting("audio", "vad_max_gain_db", max_gain_db))
    keep = CONTEXT + warmup_chunks * CHUNK
    history = np.zeros(keep, np.float32)  # audio just before the pending samples
    previous = np.zeros(0)  # frame levels of the block before
    pending: list[np.ndarray] = []
    size = 0

    def process(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nonlocal history, previous
        n = samples.size // CHUNK
        buf = np.concatenate([history, samples])
        levels = frame_db(samples)
        gain = level_gain(
            np.concatenate([previous, levels]),
            target_db=target,
            quantile=quantile,
            max_gain_db=most,
        )
        scaled = np.clip(buf * np.float32(gain), -1.0, 1.0) if gain != 1.0 else buf
        probs = _run_pieces(
            scaled, first=warmup_chunks, n_chunks=n, batch=batch, warmup=warmup_chunks
        )
        history, previous = buf[-keep:], levels
        return samples, probs

    for block in blocks:
        pending.append(np.asarray(block, np.float32).reshape(-1))
        size += pending[-1].size
        if size >= block_chunks * CHUNK:
            joined = np.concatenate(pending)
            take = (joined.size // (block_chunks * CHUNK)) * block_chunks * CHUNK
            rest = joined[take:]
            pending, size = ([rest] if rest.size else []), rest.size
            for lo in range(0, take, block_chunks * CHUNK):
                yield process(joined[lo : lo + block_chunks * CHUNK])
    if size:
        joined = np.concatenate(pending)
        pad = (-joined.size) % CHUNK
        yield process(np.concatenate([joined, np.zeros(pad, np.float32)]))


def hysteresis_segments(
    prob: np.ndarray,
    *,
    hop_s: float = HOP_S,
    on: float | None = None,
    off: float | None = None,
    min_speech_s: float | None = None,
    min_silence_s: float | None = None,
    pad_s: float = 0.0,
) -> list[Segment]:
    """Speech segments from per-frame probabilities with hysteresis.

    Speech starts at a frame with ``prob >= on`` and lasts until a frame with ``prob < off``.
    Silences shorter than ``min_silence_s`` are bridged, then segments shorter than
    ``min_speech_s`` dropped, then each side padded by ``pad_s`` (clipped to the file and to
    the neighbours' middle).

    Parameters
    ----------
    prob : ndarray, shape (n,)
        Speech probability of frame ``k``, which covers ``[k, k + 1) * hop_s`` seconds.
        NaN, infinity or a value outside [0, 1] raises :class:`vigcv.checks.NonFiniteError`.
    hop_s : float
        Frame step in seconds.
    on, off, min_speech_s, min_silence_s : float, optional
        Default ``[audio] vad_on``, ``vad_off``, ``min_speech_s``, ``min_silence_s`` of
        ``configs/default.toml``.

    Returns
    -------
    list of Segment
        Ordered, disjoint, in seconds.
    """
    on = float(setting("audio", "vad_on", on))
    off = float(setting("audio", "vad_off", off))
    min_speech_s = float(setting("audio", "min_speech_s", min_speech_s))
    min_silence_s = float(setting("audio", "min_silence_s", min_silence_s))
    prob = require_probability(prob, what="voice activity probabilities")
    runs: list[list[int]] = []
    speaking = False
    for k, p in enumerate(prob):
        if not speaking and p >= on:
            speaking = True
            runs.append([k, k + 1])
        elif speaking:
            if p < off:
                speaking = False
            else:
                runs[-1][1] = k + 1
    merged: list[list[int]] = []
    for run in runs:
        if merged and (run[0] - merged[-1][1]) * hop_s < min_silence_s:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    kept = [r for r in merged if (r[1] - r[0]) * hop_s >= min_speech_s]
    total = prob.size * hop_s
    segments = []
    for i, (a, b) in enumerate(kept):
        start, end = a * hop_s, b * hop_s
        lo = 0.0 if i == 0 else 0.5 * (kept[i - 1][1] * hop_s + start)
        hi = total if i == len(kept) - 1 else 0.5 * (end + kept[i + 1][0] * hop_s)
        segments.append(Segment(max(lo, start - pad_s), min(hi, end + pad_s)))
    return segments
