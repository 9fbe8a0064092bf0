"""Recording conditions made on purpose: level, room noise and reverberation with known answers.

A recording whose speech is known (an RTTM, a synthetic script) is turned into the recording a far
camcorder or a close phone would have made of the same speech, so voice activity can be measured
at each condition against the same reference:

- **level**: the audio is scaled so the RMS of its *speech* samples (those inside the reference
  segments) is ``level_dbfs`` dB re full scale (-45: a far camcorder microphone, -15: a phone
  held close); samples beyond full scale are clipped, as a recorder would;
- **room noise**: seeded pink (1/f) noise, its RMS ``snr_db`` below the speech RMS;
- **reverberation**: the audio convolved with a synthetic room response (a direct path plus
  seeded Gaussian noise decaying by 60 dB in ``rt60_s`` seconds), by
  :func:`scipy.signal.fftconvolve`; the reference stays the dry speech's.

- **re-cut turns** (:func:`recut`): the stretches where exactly one reference speaker talks,
  laid end to end in their order with gaps of known length between them (a negative gap is an
  overlap: the next voice starts that long before the last one ends, and the two are added), so
  switch latencies and overlaps are known exactly, in the recording's own voices.

Everything is made here from numbers and a seed: nothing is downloaded.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import fftconvolve


@dataclass(frozen=True)
class Condition:
    """How to degrade a recording; ``None`` leaves that aspect as recorded."""

    name: str
    level_dbfs: float | None = None
    snr_db: float | None = None
    rt60_s: float | None = None


#: The conditions of ``scripts/bench_audio.py --conditions`` (issue 21).
CONDITIONS: tuple[Condition, ...] = (
    Condition("as recorded"),
    Condition("far -45 dBFS", level_dbfs=-45.0),
    Condition("close -15 dBFS", level_dbfs=-15.0),
    Condition("noise 10 dB", level_dbfs=-30.0, snr_db=10.0),
    Condition("reverb 0.5 s", level_dbfs=-30.0, rt60_s=0.5),
    Condition("far+noise+reverb", level_dbfs=-45.0, snr_db=10.0, rt60_s=0.5),
    Condition("close+noise", level_dbfs=-15.0, snr_db=10.0),
)


def speech_samples(reference: pd.DataFrame, *, n: int, rate: int) -> np.ndarray:
    """Boolean mask, shape (n,), of the samples inside any reference segment."""
    mask = np.zeros(n, dtype=bool)
    for start, end in zip(reference["start"], reference["end"], strict=True):
        mask[max(0, round(start * rate)) : max(0, round(end * rate))] = True
    return mask


def rms_db(audio: np.ndarray) -> float:
    """RMS level in dB re full scale (-inf for silence)."""
    power = float(np.mean(np.square(audio, dtype=np.float64))) if audio.size else 0.0
    return 10 * np.log10(power) if power > 0 else -np.inf


def pink_noise(n: int, *, rng: np.random.Generator) -> np.ndarray:
    """Seeded pink (1/f power) noise of unit RMS, shape (n,), float64."""
    if n == 0:
        return np.zeros(0)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spectrum.size, dtype=np.float64)
    f[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(f), n)
    noise -= noise.mean()
    return noise / np.sqrt(np.mean(noise**2))


def room_response(*, rate: int, rt60_s: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room impulse response: a direct path, then noise decaying 60 dB in rt60_s."""
    n = max(2, round(1.2 * rt60_s * rate))
    t = np.arange(n) / rate
    tail = rng.standard_normal(n) * np.exp(-6.908 * t / rt60_s)  # ln(1000) = 6.908: -60 dB
    tail[: round(0.003 * rate)] = 0.0  # the first reflections arrive a few ms after the voice
    response = 0.3 * tail / np.sqrt(np.sum(tail**2))  # reverberant energy 10 dB below the direct
    response[0] = 1.0
    return response


def degrade(
    audio: np.ndarray,
    *,
    rate: int,
    speech: np.ndarray,
    condition: Condition,
    seed: int = 0,
) -> np.ndarray:
    """``audio`` as recorded under ``condition``: reverberation, then level, then noise.

    Parameters
    ----------
    audio : ndarray, shape (n,)
        Mono samples in -1..1.
    rate : int
        Sample rate in Hz.
    speech : ndarray of bool, shape (n,)
        The samples that are speech (:func:`speech_samples`): the level and the noise are set
        relative to their RMS.
    condition : Condition
        What to do.
    seed : int
        Seeds the noise and the room response.

    Returns
    -------
    ndarray, shape (n,), float32
        Clipped to -1..1.
    """
    rng = np.random.default_rng(seed)
    out = np.asarray(audio, np.float64)
    if condition.rt60_s is not None:
        out = fftconvolve(out, room_response(rate=rate, rt60_s=condition.rt60_s, rng=rng))
        out = out[: audio.size]
    level = rms_db(out[speech]) if speech.any() else rms_db(out)
    if condition.level_dbfs is not None and np.isfinite(level):
        out = out * 10 ** ((condition.level_dbfs - level) / 20)
        level = condition.level_dbfs
    if condition.snr_db is not None:
        out = out + pink_noise(out.size, rng=rng) * 10 ** ((level - condition.snr_db) / 20)
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def single_speaker_stretches(reference: pd.DataFrame, *, min_s: float = 0.3) -> pd.DataFrame:
    """The stretches (``start``, ``end``, ``speaker``) where exactly one reference speaker talks,
    at least ``min_s`` long, in time order."""
    edges = np.unique(np.concatenate([reference["start"], reference["end"]]).astype(float))
    rows: list[list[Any]] = []
    for a, b in itertools.pairwise(edges):
        mid = 0.5 * (a + b)
        talking = reference[(reference["start"] <= mid) & (reference["end"] > mid)]
        who = set(talking["speaker"].astype(str))
        if len(who) == 1:
            (speaker,) = who
            if rows and rows[-1][1] == a and rows[-1][2] == speaker:
                rows[-1][1] = b  # one speaker's talk split only by a reference boundary
            else:
                rows.append([a, b, speaker])
    table = pd.DataFrame(rows, columns=["start", "end", "speaker"])
    return table[table["end"] - table["start"] >= min_s].reset_index(drop=True)


def recut(
    audio: np.ndarray,
    reference: pd.DataFrame,
    *,
    rate: int,
    gaps_s: tuple[float, ...],
    lead_s: float = 0.5,
    min_s: float = 0.3,
) -> tuple[np.ndarray, pd.DataFrame]:
    """A recording's single-speaker stretches laid end to end with known gaps.

    Parameters
    ----------
    audio : ndarray, shape (n,)
        Mono samples.
    reference : DataFrame
        Who speaks when (``start``, ``end``, ``speaker``), e.g. from an RTTM.
    rate : int
        Sample rate in Hz.
    gaps_s : tuple of float
        Seconds from the end of one stretch to the start of the next, used in turn (cycled);
        negative: the next starts that long before the last one ends (overlap, voices added),
        never more than half the shorter of the two stretches.
    lead_s : float
        Silence before the first stretch and after the last.
    min_s : float
        Shortest stretch kept (:func:`single_speaker_stretches`).

    Returns
    -------
    audio : ndarray, shape (m,), float32
        Clipped to -1..1.
    reference : DataFrame
        ``start``, ``end``, ``speaker`` of every stretch in the new recording: the known answer
        (a switch of speaker there has latency = the gap used).
    """
    if not gaps_s:
        raise ValueError("recut needs at least one gap")
    stretches = single_speaker_stretches(reference, min_s=min_s)
    pieces = [
        np.asarray(audio[round(a * rate) : round(b * rate)], np.float64)
        for a, b in zip(stretches["start"], stretches["end"], strict=True)
    ]
    lead = round(lead_s * rate)
    starts: list[int] = []
    at = lead
    for k, piece in enumerate(pieces):
        if k:
            gap = gaps_s[(k - 1) % len(gaps_s)]
            shortest = min(piece.size, pieces[k - 1].size)
            at = starts[-1] + pieces[k - 1].size + max(round(gap * rate), -(shortest // 2))
        starts.append(at)
    total = (starts[-1] + pieces[-1].size if pieces else 0) + lead
    out = np.zeros(max(total, 2 * lead), np.float64)
    for at, piece in zip(starts, pieces, strict=True):
        out[at : at + piece.size] += piece
    table = pd.DataFrame(
        {
            "start": [a / rate for a in starts],
            "end": [(a + p.size) / rate for a, p in zip(starts, pieces, strict=True)],
            "speaker": stretches["speaker"].to_numpy(),
        }
    )
    return np.clip(out, -1.0, 1.0).astype(np.float32), table
