"""vigcv's acoustic features (librosa's pYIN, MFCC, RMS, mel) on signals with known answers.

The margins come from the signals, not from where the numbers happen to fall: pYIN's pitch bins
are one semitone wide here, so a tracked pitch is within half a semitone (2.9%) of the truth;
white noise has no periodicity, so the only voicing evidence pYIN gives it is its 1% "no trough"
prior; a gain scales every mel band alike, so it moves c0 alone, by a known amount.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from vigcv.audio.features import HOP, N_MFCC, RATE, acoustic_frames, pitch
from vigcv.audio.librosa_env import import_librosa
from vigcv.audio.vad import hysteresis_segments
from vigcv.audio.voice_encoder import N_MELS, mel_power
from vigcv.checks import NonFiniteError

SEMITONE = 2 ** (1 / 12) - 1  # 5.9%


def tone(freq: float, seconds: float, *, harmonics: int = 1, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    y = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, harmonics + 1))
    return (amp * y).astype(np.float32)


def slaney_band_centre(k: int, n_mels: int = 40, fmax: float = RATE / 2) -> float:
    """Centre in Hz of mel band ``k`` (Slaney's scale: linear, 200/3 Hz per mel, below 1 kHz)."""
    top = 15.0 + 27.0 * math.log(fmax / 1000.0) / math.log(6.4)
    mel = (k + 1) * top / (n_mels + 1)
    assert mel < 15.0, "only the linear part is used here"
    return mel * 200.0 / 3.0


@pytest.mark.parametrize("harmonics", [1, 6])
def test_pitch_follows_a_one_octave_glide_within_a_semitone(harmonics: int) -> None:
    t = np.arange(2 * RATE) / RATE
    freq = 150.0 * 2 ** (t / 2)  # 150 -> 300 Hz in 2 s
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    y = 0.3 * sum(np.sin(k * phase) / k for k in range(1, harmonics + 1))
    f0, prob = pitch(np.asarray(y, np.float32))
    assert f0.shape == prob.shape == (1 + y.size // HOP,)
    inner = slice(5, -5)  # the first and last frames are half zero padding
    truth = 150.0 * 2 ** (np.arange(f0.size) * HOP / RATE / 2)
    assert np.isfinite(f0[inner]).all()
    assert np.all(prob[inner] > 0.5)
    error = np.abs(f0[inner] / truth[inner] - 1)
    assert np.median(error) < SEMITONE / 2
    assert error.max() < SEMITONE


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_seeded_white_noise_is_unvoiced(seed: int) -> None:
    noise = np.random.default_rng(seed).normal(0.0, 0.3, RATE).astype(np.float32)
    f0, prob = pitch(noise)
    assert np.isnan(f0).mean() > 0.95
    assert np.all((prob >= 0) & (prob <= 1))
    assert np.median(prob) < 0.1


@pytest.mark.parametrize("freq", [110.0, 220.0, 450.0, 620.0])
def test_voice_like_tones_are_voiced_at_their_pitch(freq: float) -> None:
    f0, prob = pitch(tone(freq, 1.0, harmonics=6))
    inner = slice(5, -5)
    assert np.all(prob[inner] > 0.5)
    assert np.abs(f0[inner] / freq - 1).max() < SEMITONE / 2


def test_a_tone_gives_features_on_the_20_ms_grid_with_its_loudness_and_pitch() -> None:
    frames = acoustic_frames(tone(220.0, 1.0, harmonics=6))
    n = RATE // HOP
    assert frames.mfcc.shape == (n, N_MFCC) and frames.mfcc.dtype == np.float32
    assert frames.f0.shape == frames.voiced.shape == frames.db.shape == (n,)
    assert frames.log_mel.shape == (2 * n, N_MELS)
    middle = slice(5, -5)
    assert np.all(np.abs(frames.f0[middle] / 220.0 - 1) < SEMITONE / 2)
    assert np.all(frames.voiced[middle] > 0.5)
    # RMS of the first harmonic alone is 0.3 / sqrt(2) (-13.5 dBFS); the others only add
    assert np.all(frames.db[middle] > 20 * np.log10(0.3 / np.sqrt(2)) - 0.5)
    assert np.all(frames.db[middle] < 0.0)


def test_a_tone_at_a_mel_band_centre_peaks_in_that_band() -> None:
    band = 8
    freq = slaney_band_centre(band)  # 589 Hz: a neighbour's filter is zero there
    mel = mel_power(tone(freq, 1.0))
    assert mel.shape == (RATE // 160, N_MELS)
    middle = mel[10:-10]
    assert np.all(middle.argmax(axis=1) == band)
    # the neighbours see only the window's leakage, at least 3 dB lower
    assert np.all(middle[:, band - 1] < 0.5 * middle[:, band])
    assert np.all(middle[:, band + 1] < 0.5 * middle[:, band])


def test_a_gain_moves_c0_alone_by_its_decibels_times_the_root_of_the_band_count() -> None:
    loud = acoustic_frames(tone(300.0, 1.0, harmonics=4, amp=0.3)).mfcc[5:-5]
    soft = acoustic_frames(tone(300.0, 1.0, harmonics=4, amp=0.03)).mfcc[5:-5]
    # -20 dB in every one of 40 mel bands; the orthonormal DCT's c0 is their sum / sqrt(40)
    np.testing.assert_allclose(loud[:, 0] - soft[:, 0], 20 * np.sqrt(40), rtol=0.01)
    np.testing.assert_allclose(loud[:, 1:], soft[:, 1:], atol=0.5)


@pytest.mark.parametrize("n", [100, 320, 3200, RATE])
def test_silence_is_unvoiced_and_finite(n: int) -> None:
    frames = acoustic_frames(np.zeros(n, np.float32))
    assert frames.mfcc.shape == (n // HOP, N_MFCC)
    assert np.isfinite(frames.mfcc).all() and np.isfinite(frames.log_mel.astype(float)).all()
    assert np.isnan(frames.f0).all() and not frames.voiced.any()


def test_a_nan_voicing_probability_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    librosa = import_librosa()

    def broken(y: np.ndarray, **_: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = 1 + y.size // HOP
        prob = np.full(n, 0.9)
        prob[3] = np.nan
        return np.full(n, 200.0), np.ones(n, bool), prob

    monkeypatch.setattr(librosa, "pyin", broken)
    with pytest.raises(NonFiniteError, match="pYIN voicing probabilities"):
        pitch(tone(200.0, 0.5))
    with pytest.raises(NonFiniteError, match="pYIN voicing probabilities"):
        acoustic_frames(tone(200.0, 0.5))


@pytest.mark.parametrize(
    ("f0", "prob"),
    [
        (200.0, -0.01),  # the AVX-512 failure: a negative probability, NaN in its log
        (200.0, 1.5),
        (np.inf, 0.9),
        (-200.0, 0.9),
    ],
)
def test_a_broken_pitch_track_raises(
    monkeypatch: pytest.MonkeyPatch, f0: float, prob: float
) -> None:
    librosa = import_librosa()

    def broken(y: np.ndarray, **_: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = 1 + y.size // HOP
        return np.full(n, f0), np.ones(n, bool), np.full(n, prob)

    monkeypatch.setattr(librosa, "pyin", broken)
    with pytest.raises(NonFiniteError):
        pitch(tone(200.0, 0.5))


def test_unvoiced_nan_pitch_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    librosa = import_librosa()

    def unvoiced(y: np.ndarray, **_: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = 1 + y.size // HOP
        return np.full(n, np.nan), np.zeros(n, bool), np.full(n, 0.01)

    monkeypatch.setattr(librosa, "pyin", unvoiced)
    f0, prob = pitch(tone(200.0, 0.5))
    assert np.isnan(f0).all() and np.all(prob == 0.01)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -0.5, 1.5])
def test_a_bad_voice_activity_probability_raises_before_the_thresholds(bad: float) -> None:
    prob = np.array([0.1, 0.9, 0.9, bad, 0.9, 0.1])
    with pytest.raises(NonFiniteError, match="voice activity probabilities"):
        hysteresis_segments(prob, hop_s=0.1, min_speech_s=0.0)
