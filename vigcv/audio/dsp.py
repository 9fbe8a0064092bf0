"""The few signal-processing routines the audio stage needs, in NumPy and ``scipy.fft``.

These follow librosa 0.11's definitions exactly (same padding, windows, Slaney mel scale,
dB floor, orthonormal DCT, and pYIN with its beta threshold prior, Boltzmann trough prior and
two-layer pitch/unvoiced HMM), so features match what the project computed with librosa before;
``scripts/bench_audio.py --check-dsp`` compares the two where librosa is installed. Importing
librosa cost every process 2-3 s (scipy.signal, scipy.stats and numba come with it), paid again
by each batch and Dask worker; this module loads in milliseconds.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import scipy.fft


def frame(y: np.ndarray, length: int, hop: int) -> np.ndarray:
    """Overlapping frames of 1-D ``y`` as a view, shape (length, n_frames)."""
    n = 1 + (y.shape[-1] - length) // hop
    if n < 1:
        return np.zeros((length, 0), y.dtype)
    step = y.strides[-1]
    return np.lib.stride_tricks.as_strided(y, shape=(length, n), strides=(step, hop * step))


@lru_cache(maxsize=8)
def _hann(n: int) -> np.ndarray:
    """Periodic Hann window (``scipy.signal.get_window("hann", n)``)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


def power_spectrogram(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """``|STFT|**2`` of float32 ``y``, frames centred on multiples of ``hop`` (zero padding).

    Returns
    -------
    ndarray, shape (1 + n_fft // 2, 1 + len(y) // hop), float32
    """
    padded = np.pad(np.asarray(y, np.float32), n_fft // 2)
    frames = frame(padded, n_fft, hop)
    spec = scipy.fft.rfft(_hann(n_fft)[:, None] * frames, axis=0)
    return (spec.real**2 + spec.imag**2).astype(np.float32)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, np.float64)
    mel = f / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log_part, mel)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    hz = m * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0))
    return np.where(m >= 15.0, log_part, hz)


@lru_cache(maxsize=8)
def mel_filters(rate: int, n_fft: int, n_mels: int, fmax: float | None = None) -> np.ndarray:
    """Slaney-normalised triangular mel filters from 0 Hz to ``fmax``, shape (n_mels, bins)."""
    fmax = rate / 2 if fmax is None else fmax
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    mel_f = _mel_to_hz(
        np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(fmax)), n_mels + 2)
    )
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    weights = np.zeros((n_mels, fft_freqs.size), np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    weights.setflags(write=False)
    return weights


def melspectrogram(
    y: np.ndarray, rate: int, n_fft: int, hop: int, n_mels: int, fmax: float | None = None
) -> np.ndarray:
    """Mel power spectrogram, shape (n_mels, 1 + len(y) // hop), float32."""
    return mel_filters(rate, n_fft, n_mels, fmax) @ power_spectrogram(y, n_fft, hop)


@lru_cache(maxsize=4)
def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II as a matrix (``scipy.fft.dct(x, type=2, norm="ortho")``)."""
    k = np.arange(n)[:, None]
    d = np.cos(np.pi * k * (2 * np.arange(n)[None, :] + 1) / (2 * n)) * np.sqrt(2.0 / n)
    d[0] /= np.sqrt(2.0)
    return d


def mfcc(
    y: np.ndarray, rate: int, n_mfcc: int, n_fft: int, hop: int, n_mels: int, fmax: float
) -> np.ndarray:
    """MFCCs of the log mel power (dB re 1, floored at 1e-10 and at 80 dB below the peak).

    Returns
    -------
    ndarray, shape (n_mfcc, 1 + len(y) // hop), float32
    """
    mel = melspectrogram(y, rate, n_fft, hop, n_mels, fmax)
    db = 10.0 * np.log10(np.maximum(mel, 1e-10))
    if db.size:
        db = np.maximum(db, db.max() - 80.0)
    return (_dct_matrix(n_mels)[:n_mfcc] @ db).astype(np.float32)


def rms(y: np.ndarray, length: int, hop: int) -> np.ndarray:
    """Root mean square of centred, zero-padded frames, shape (1 + len(y) // hop,)."""
    frames = frame(np.pad(np.asarray(y, np.float32), length // 2), length, hop)
    return np.sqrt(np.mean(np.abs(frames) ** 2, axis=0))


# --- pYIN (Mauch & Dixon 2014) ----------------------------------------------------------------


def _yin_difference(frames: np.ndarray, min_period: int, max_period: int) -> np.ndarray:
    """Cumulative-mean-normalised difference of each frame, lags min..max_period."""
    n_pad = scipy.fft.next_fast_len(2 * frames.shape[0] - 1, real=True)
    spec = scipy.fft.rfft(frames, n=n_pad, axis=0)
    acf = scipy.fft.irfft(spec.real**2 + spec.imag**2, n=n_pad, axis=0)[: max_period + 1]
    energy = np.cumsum(np.square(frames), axis=0)
    diff = np.empty_like(energy)
    diff[0] = 0
    diff[1 : max_period + 1] = 2 * (acf[0:1] - acf[1 : max_period + 1]) - energy[:max_period]
    lags = np.arange(1, max_period + 1)[:, None]
    mean = np.cumsum(diff[1 : max_period + 1], axis=0) / lags
    den = mean[min_period - 1 : max_period]
    return diff[min_period : max_period + 1] / (den + np.finfo(den.dtype).tiny)


def _parabolic_shifts(x: np.ndarray) -> np.ndarray:
    """Offset of the parabola through each point and its neighbours (0 where it leaves +-1)."""
    shifts = np.zeros_like(x)
    a = x[2:] + x[:-2] - 2 * x[1:-1]
    b = (x[2:] - x[:-2]) / 2
    ok = np.abs(b) < np.abs(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        shifts[1:-1] = np.where(ok, -b / np.where(ok, a, 1), 0)
    return shifts


def _beta_cdf_integer(x: np.ndarray, a: int, b: int) -> np.ndarray:
    """Regularised incomplete beta I_x(a, b) for whole-number a, b (a binomial tail)."""
    n = a + b - 1
    out = np.zeros_like(x, dtype=np.float64)
    for j in range(a, n + 1):
        out += math.comb(n, j) * x**j * (1 - x) ** (n - j)
    return out


def _boltzmann_pmf(k: np.ndarray, lam: float, n: np.ndarray) -> np.ndarray:
    """Truncated geometric ``scipy.stats.boltzmann.pmf(k, lam, n)`` (0 outside 0..n-1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = (1 - np.exp(-lam)) * np.exp(-lam * k) / (1 - np.exp(-lam * n))
    return np.where((k >= 0) & (k < n), p, 0.0)


def _observations(
    yin: np.ndarray,
    shifts: np.ndarray,
    *,
    rate: float,
    thresholds: np.ndarray,
    beta_probs: np.ndarray,
    boltzmann: float,
    no_trough_prob: float,
    min_period: int,
    fmin: float,
    n_bins: int,
    bins_per_semitone: int,
) -> tuple[np.ndarray, np.ndarray]:
    """pYIN's observation probabilities (2 * n_bins states x frames) and voicing probability."""
    probs_yin = np.zeros_like(yin, dtype=np.float64)
    trough = np.zeros(yin.shape, bool)
    trough[1:-1] = (yin[1:-1] < yin[:-2]) & (yin[1:-1] <= yin[2:])
    trough[-1] = yin[-1] < yin[-2]
    trough[0] = yin[0] < yin[1]
    for i in np.flatnonzero(trough.any(axis=0)):
        (index,) = np.nonzero(trough[:, i])
        heights = yin[index, i]
        below = np.less.outer(heights, thresholds[1:])
        positions = np.cumsum(below, axis=0) - 1
        counts = np.count_nonzero(below, axis=0)
        prior = _boltzmann_pmf(positions, boltzmann, counts[None, :])
        prior[~below] = 0
        p = prior.dot(beta_probs)
        lowest = np.argmin(heights)
        n_above = np.count_nonzero(~below[lowest, :])
        p[lowest] += no_trough_prob * np.sum(beta_probs[:n_above])
        probs_yin[index, i] = p
    period, frame_index = np.nonzero(probs_yin)
    f0 = rate / (min_period + period + shifts[period, frame_index])
    bins = 12 * bins_per_semitone * np.log2(f0 / fmin)
    bins = np.clip(np.round(bins), 0, n_bins).astype(int)
    obs = np.zeros((2 * n_bins, yin.shape[1]))
    obs[bins, frame_index] = probs_yin[period, frame_index]
    voiced = np.clip(np.sum(obs[:n_bins], axis=0), 0, 1)
    obs[n_bins:] = (1 - voiced) / n_bins
    return obs, voiced


@lru_cache(maxsize=4)
def _log_transition(n_bins: int, width: int, switch_prob: float) -> np.ndarray:
    """Log of the pitch HMM's transitions: a triangle of ``width`` bins, Kronecker voicing."""
    window = np.zeros(n_bins)
    half = np.arange(1, (width + 1) // 2 + 1)  # scipy.signal.windows.triang(width)
    if width % 2 == 0:
        w = (2 * half - 1.0) / width
        tri = np.r_[w, w[::-1]]
    else:
        w = 2 * half / (width + 1.0)
        tri = np.r_[w, w[-2::-1]]
    left = (n_bins - width) // 2
    window[left : left + width] = tri
    local = np.zeros((n_bins, n_bins))
    for i in range(n_bins):
        row = np.roll(window, n_bins // 2 + i + 1)
        row[min(n_bins, i + width // 2 + 1) :] = 0
        row[: max(0, i - width // 2)] = 0
        local[i] = row
    local /= local.sum(axis=1, keepdims=True)
    loop = np.array([[1 - switch_prob, switch_prob], [switch_prob, 1 - switch_prob]])
    trans = np.kron(loop, local)
    out = np.log(trans + np.finfo(np.float64).tiny)
    out.setflags(write=False)
    return out


def _viterbi(log_obs: np.ndarray, log_trans: np.ndarray, log_init: np.ndarray) -> np.ndarray:
    """Most likely state sequence (first index wins ties), log_obs shape (frames, states)."""
    n_steps, n_states = log_obs.shape
    ptr = np.zeros((n_steps, n_states), np.intp)
    value = log_obs[0] + log_init
    for t in range(1, n_steps):
        scores = value[:, None] + log_trans
        ptr[t] = np.argmax(scores, axis=0)
        value = log_obs[t] + scores[ptr[t], np.arange(n_states)]
    states = np.zeros(n_steps, np.intp)
    states[-1] = np.argmax(value)
    for t in range(n_steps - 2, -1, -1):
        states[t] = ptr[t + 1, states[t + 1]]
    return states


def pyin(
    y: np.ndarray,
    *,
    fmin: float,
    fmax: float,
    rate: int,
    frame_length: int,
    hop: int,
    resolution: float = 0.1,
    n_thresholds: int = 100,
    beta_parameters: tuple[int, int] = (2, 18),
    boltzmann: float = 2.0,
    max_transition_rate: float = 35.92,
    switch_prob: float = 0.01,
    no_trough_prob: float = 0.01,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilistic YIN pitch tracking of float32 ``y`` (librosa's ``pyin`` defaults).

    Returns
    -------
    f0 : ndarray, shape (1 + len(y) // hop,)
        Hz, NaN where the HMM says unvoiced.
    voiced_flag : ndarray of bool
    voiced_prob : ndarray
        Probability 0..1 that the frame is voiced.
    """
    y = np.pad(np.asarray(y, np.float32), frame_length // 2)
    frames = frame(y, frame_length, hop)
    if frames.shape[1] == 0:
        empty = np.zeros(0)
        return empty, empty.astype(bool), empty
    min_period = int(np.floor(rate / fmax))
    max_period = min(int(np.ceil(rate / fmin)), frame_length - 1)
    yin = _yin_difference(frames, min_period, max_period)
    shifts = _parabolic_shifts(yin)
    thresholds = np.linspace(0, 1, n_thresholds + 1)
    beta_probs = np.diff(_beta_cdf_integer(thresholds, *beta_parameters))
    bins_per_semitone = int(np.ceil(1.0 / resolution))
    n_bins = int(np.floor(12 * bins_per_semitone * np.log2(fmax / fmin))) + 1
    obs, voiced_prob = _observations(
        yin,
        shifts,
        rate=rate,
        thresholds=thresholds,
        beta_probs=beta_probs,
        boltzmann=boltzmann,
        no_trough_prob=no_trough_prob,
        min_period=min_period,
        fmin=fmin,
        n_bins=n_bins,
        bins_per_semitone=bins_per_semitone,
    )
    width = round(max_transition_rate * 12 * hop / rate) * bins_per_semitone + 1
    log_trans = _log_transition(n_bins, width, switch_prob)
    tiny = np.finfo(np.float64).tiny
    log_init = np.log(np.full(2 * n_bins, 1.0 / (2 * n_bins)) + tiny)
    states = _viterbi(np.log(obs.T + tiny), log_trans, log_init)
    freqs = fmin * 2 ** (np.arange(n_bins) / (12 * bins_per_semitone))
    voiced_flag = states < n_bins
    f0 = np.where(voiced_flag, freqs[states % n_bins], np.nan)
    return f0, voiced_flag, voiced_prob
