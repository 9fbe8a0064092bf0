"""Per-frame acoustic features for speaker attribution: MFCC, pitch (pYIN), loudness, mel and
filter bank.

All four come from librosa (imported on first use through
:func:`vigcv.audio.librosa_env.import_librosa`, which keeps numba's compiled pYIN between runs).
The pitch track is checked where it is made (:func:`pitch`): a voicing probability outside
[0, 1] or an infinite or non-positive frequency raises :class:`vigcv.checks.NonFiniteError`
rather than deciding anything; NaN frequency means unvoiced, on purpose.

Frames are ``HOP`` samples (20 ms at 16 kHz) apart; frame ``k`` is centred at ``k * 0.02`` s.
The voice encoder's mel spectrogram and CAM++'s filter bank (kaldi-native-fbank) have their own
10 ms grid. Computed block by block while the audio streams past, so no more than one block of
audio is held; the features themselves take 332 bytes per 20 ms (about 120 MB for two hours;
652 bytes and 235 MB with the filter bank).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vigcv.audio.campplus import N_BANDS, fbank
from vigcv.audio.librosa_env import import_librosa
from vigcv.audio.voice_encoder import N_MELS, log_mel
from vigcv.checks import NonFiniteError, require_finite, require_probability
from vigcv.config import setting
from vigcv.intervals import true_runs

RATE = 16000
HOP = 320  # samples between feature frames (20 ms)
HOP_S = HOP / RATE
N_MFCC = 40
# pYIN's set-up per call costs about as much as running it over 4 s of audio, so stretches
# closer than this (frames) are analysed in one call.
MERGE_GAP = 200
# pYIN as the audio stage runs it: 64 ms frames, one-semitone pitch bins, 20 thresholds
PYIN_FRAME = 1024
PYIN_RESOLUTION = 1.0
PYIN_THRESHOLDS = 20


@dataclass(frozen=True)
class AcousticFrames:
    """Acoustic features on the 20 ms grid.

    Attributes
    ----------
    mfcc : ndarray, shape (n, 40), float32
        Mel-frequency cepstral coefficients (c0 = log energy first).
    f0 : ndarray, shape (n,), float32
        Fundamental frequency in Hz, NaN where unvoiced (pYIN).
    voiced : ndarray, shape (n,), float32
        pYIN voicing probability 0..1.
    db : ndarray, shape (n,), float32
        Loudness, dB relative to full scale (RMS over 32 ms).
    log_mel : ndarray, shape (2n, 40), float16
        The voice encoder's input (:func:`vigcv.audio.voice_encoder.log_mel`) on the 10 ms grid
        (row ``k`` centred at ``k * 0.01`` s).
    fbank : ndarray, shape (2n, 80) or (0, 80), float16
        CAM++'s input (:func:`vigcv.audio.campplus.fbank`, Kaldi log mel filter bank) on the
        same 10 ms grid, where it was asked for (``with_fbank``), else no rows.
    """

    mfcc: np.ndarray
    f0: np.ndarray
    voiced: np.ndarray
    db: np.ndarray
    log_mel: np.ndarray
    fbank: np.ndarray

    @property
    def times(self) -> np.ndarray:
        """Centre time of each frame in seconds, shape (n,)."""
        return np.arange(self.mfcc.shape[0]) * HOP_S

    @classmethod
    def concatenate(cls, parts: list[AcousticFrames]) -> AcousticFrames:
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.mfcc for p in parts]),
            np.concatenate([p.f0 for p in parts]),
            np.concatenate([p.voiced for p in parts]),
            np.concatenate([p.db for p in parts]),
            np.concatenate([p.log_mel for p in parts]),
            np.concatenate([p.fbank for p in parts]),
        )

    @classmethod
    def empty(cls) -> AcousticFrames:
        zeros = np.zeros(0, np.float32)
        mel = np.zeros((0, N_MELS), np.float16)
        bank = np.zeros((0, N_BANDS), np.float16)
        return cls(np.zeros((0, N_MFCC), np.float32), zeros, zeros, zeros, mel, bank)


def acoustic_frames(
    samples: np.ndarray,
    *,
    speech: np.ndarray | None = None,
    loud_db: float | None = None,
    fmin: float | None = None,
    fmax: float | None = None,
    with_fbank: bool = False,
) -> AcousticFrames:
    """Features of one block of 16 kHz mono audio, ``len(samples) // 320`` frames.

    Parameters
    ----------
    samples : ndarray, shape (n_samples,)
        float32 audio; blocks must start on multiples of 320 samples to keep the grid.
    speech : ndarray of bool, shape (n_frames,), optional
        Frames where pitch is wanted; elsewhere ``f0`` is NaN (pYIN is skipped for a block
        without any).
    loud_db : float, optional
        Pitch is also wanted where the loudness is this many dB above the block's noise floor
        (its 10th percentile), so that vocalisations that are not speech-like get a voicing
        probability too.
    fmin, fmax : float, optional
        Pitch search range in Hz (a young child's voice reaches 500-700 Hz); default
        ``[audio] pitch_fmin_hz`` and ``pitch_fmax_hz`` of ``configs/default.toml``.
    with_fbank : bool
        Also CAM++'s filter bank (``fbank``; only ``[audio] cluster_on = "campplus"`` reads it,
        so it is left empty, zero rows, otherwise).
    """
    n = samples.size // HOP
    y = samples[: n * HOP].astype(np.float32)
    if n == 0:
        return AcousticFrames.empty()
    librosa = import_librosa()
    mfcc = librosa.feature.mfcc(
        y=y, sr=RATE, n_mfcc=N_MFCC, n_fft=512, hop_length=HOP, n_mels=40, fmax=7600
    )[:, :n].T.astype(np.float32)
    rms = librosa.feature.rms(y=y, frame_length=512, hop_length=HOP)[0, :n]
    db = (20 * np.log10(np.maximum(rms, 1e-6))).astype(np.float32)
    f0 = np.full(n, np.nan, np.float32)
    voiced = np.zeros(n, np.float32)
    mask = np.ones(n, bool) if speech is None else np.asarray(speech, bool)[:n].copy()
    if loud_db is not None:
        mask |= db >= np.percentile(db, 10) + loud_db
    for lo, hi in _merged(true_runs(mask), gap=MERGE_GAP):
        a, b = max(0, lo - 2), min(n, hi + 2)
        freq, prob = pitch(y[a * HOP : b * HOP], fmin=fmin, fmax=fmax)
        m = min(b - a, freq.size)
        f0[a : a + m] = np.where(mask[a : a + m], freq[:m], np.nan)
        voiced[a : a + m] = np.where(mask[a : a + m], prob[:m], 0.0)
    bank = fbank(y) if with_fbank else np.zeros((0, N_BANDS), np.float16)
    return AcousticFrames(mfcc, f0, voiced, db, log_mel(y), bank)


def pitch(
    y: np.ndarray, *, fmin: float | None = None, fmax: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Pitch track of 16 kHz audio with librosa's pYIN, checked before anything decides on it.

    Parameters
    ----------
    y : ndarray, shape (n_samples,)
        float32 audio.
    fmin, fmax : float, optional
        Pitch search range in Hz (default ``[audio] pitch_fmin_hz``, ``pitch_fmax_hz``).

    Returns
    -------
    f0 : ndarray, shape (1 + n_samples // 320,), float64
        Hz on the 20 ms grid (frame ``k`` centred at ``k * 0.02`` s), NaN where pYIN's HMM
        decides unvoiced.
    voiced_prob : ndarray, same shape
        Probability 0..1 that the frame is voiced (values off by rounding are clipped).

    Raises
    ------
    NonFiniteError
        A voicing probability that is NaN, infinite or outside [0, 1], or a frequency that is
        infinite or not positive: the Viterbi path through such numbers is arbitrary.
    """
    fmin = float(setting("audio", "pitch_fmin_hz", fmin))
    fmax = float(setting("audio", "pitch_fmax_hz", fmax))
    librosa = import_librosa()
    f0, _, prob = librosa.pyin(
        np.asarray(y, np.float32),
        fmin=fmin,
        fmax=fmax,
        sr=RATE,
        frame_length=PYIN_FRAME,
        hop_length=HOP,
        resolution=PYIN_RESOLUTION,
        n_thresholds=PYIN_THRESHOLDS,
    )
    prob = require_probability(prob, what="pYIN voicing probabilities")
    f0 = require_finite(f0, what="pYIN pitch (Hz)", allow_nan=True)
    if np.any(f0 <= 0):
        raise NonFiniteError(f"pYIN pitch (Hz): {int(np.sum(f0 <= 0))} values are not positive")
    return f0, prob


def _merged(spans: list[tuple[int, int]], *, gap: int) -> list[tuple[int, int]]:
    """``spans`` with those less than ``gap`` apart joined."""
    out: list[tuple[int, int]] = []
    for lo, hi in spans:
        if out and lo - out[-1][1] < gap:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def warm_librosa() -> None:
    """Run vigcv's acoustic features (librosa's pYIN, MFCC, RMS and mel) once on 0.2 s of a tone.

    Loads (or, the first time on a machine, compiles and caches) numba's code for pYIN, so
    that a worker pays for it when it starts rather than in its first session.
    """
    t = np.arange(RATE // 5) / RATE
    acoustic_frames((0.3 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32))
