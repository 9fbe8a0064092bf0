"""vigcv.audio.dsp: spectra, mel filters, MFCC, RMS and pYIN on signals with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from vigcv.audio import dsp

RATE = 16000
PYIN = {"fmin": 70.0, "fmax": 700.0, "rate": RATE, "frame_length": 1024, "hop": 320}


def tone(freq: float, seconds: float, *, harmonics: int = 1, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    y = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, harmonics + 1))
    return (amp * y).astype(np.float32)


def test_power_spectrogram_of_a_sine_peaks_at_its_bin_with_the_hann_gain() -> None:
    n_fft, hop = 512, 160
    freq = 40 * RATE / n_fft  # exactly bin 40
    spec = dsp.power_spectrogram(tone(freq, 1.0, amp=0.5), n_fft, hop)
    assert spec.shape == (n_fft // 2 + 1, 1 + RATE // hop)
    middle = spec[:, 20:-20]
    assert np.all(middle.argmax(axis=0) == 40)
    # a periodic Hann window sums to n/2: the peak is (amp * n / 4) ** 2
    np.testing.assert_allclose(middle[40], (0.5 * n_fft / 4) ** 2, rtol=1e-3)


def test_slaney_mel_scale_is_linear_below_1khz_and_inverts() -> None:
    assert float(dsp._hz_to_mel(np.array(1000.0))) == pytest.approx(15.0)
    assert float(dsp._hz_to_mel(np.array(500.0))) == pytest.approx(7.5)
    f = np.array([0.0, 300.0, 1000.0, 2500.0, 7600.0])
    np.testing.assert_allclose(dsp._mel_to_hz(dsp._hz_to_mel(f)), f, atol=1e-6)


def test_mel_filters_tile_the_band_and_a_tone_lands_in_the_nearest_filter() -> None:
    filters = dsp.mel_filters(RATE, 400, 40)
    assert filters.shape == (40, 201)
    assert np.all(filters >= 0)
    # each triangle's peak sits at its centre frequency, in increasing order
    assert np.all(np.diff(filters.argmax(axis=1)) >= 0)
    centres = dsp._mel_to_hz(np.linspace(0, dsp._hz_to_mel(np.array(8000.0)), 42))[1:-1]
    mel = dsp.melspectrogram(tone(1000.0, 1.0), RATE, 400, 160, 40)
    assert int(np.median(mel.argmax(axis=0))) == int(np.argmin(np.abs(centres - 1000.0)))


def test_mfcc_is_an_orthonormal_dct_of_the_log_mel() -> None:
    d = dsp._dct_matrix(40)
    np.testing.assert_allclose(d @ d.T, np.eye(40), atol=1e-12)
    y = tone(220.0, 1.0, harmonics=5) + 0.01 * np.random.default_rng(0).normal(size=RATE).astype(
        np.float32
    )
    c = dsp.mfcc(y, RATE, 40, n_fft=512, hop=320, n_mels=40, fmax=7600)
    assert c.shape == (40, 51) and c.dtype == np.float32
    mel = dsp.melspectrogram(y, RATE, 512, 320, 40, 7600)
    db = 10 * np.log10(np.maximum(mel, 1e-10))
    # c0 is the mean log energy times sqrt(n_mels); the inverse DCT gives the log mel back
    np.testing.assert_allclose(c[0], db.mean(axis=0) * np.sqrt(40), rtol=1e-4)
    np.testing.assert_allclose(d.T @ c, db, atol=1e-2)


def test_mfcc_floors_at_80_db_below_the_peak() -> None:
    y = np.concatenate([tone(440.0, 0.5), np.zeros(RATE // 2, np.float32)])
    mel = dsp.melspectrogram(y, RATE, 512, 320, 40, 7600)
    c = dsp.mfcc(y, RATE, 40, n_fft=512, hop=320, n_mels=40, fmax=7600)
    top = 10 * np.log10(mel.max())
    # silent frames are flat at the floor: c0 = (top - 80) * sqrt(40), higher terms 0
    np.testing.assert_allclose(c[0, -5:], (top - 80) * np.sqrt(40), rtol=1e-4)
    np.testing.assert_allclose(c[1:, -5:], 0, atol=1e-3)


def test_rms_of_a_sine_is_its_amplitude_over_root_two() -> None:
    r = dsp.rms(tone(300.0, 1.0, amp=0.4), 512, 320)
    assert r.shape == (51,)
    np.testing.assert_allclose(r[2:-2], 0.4 / np.sqrt(2), rtol=0.02)
    assert r[0] < r[5]  # the first frame is half zero padding


@pytest.mark.parametrize("freq", [110.0, 220.0, 450.0, 620.0])
def test_pyin_finds_the_pitch_of_a_voice_like_tone(freq: float) -> None:
    f0, flag, prob = dsp.pyin(tone(freq, 1.0, harmonics=6), resolution=1.0, **PYIN)
    assert f0.shape == flag.shape == prob.shape == (51,)
    inner = slice(5, -5)
    assert flag[inner].all()
    assert np.all(prob[inner] > 0.5)
    # one-semitone bins: within half a semitone of the truth
    semitones = 12 * np.abs(np.log2(f0[inner] / freq))
    assert semitones.max() <= 0.5


def test_pyin_follows_a_glide_and_finds_no_voice_in_noise() -> None:
    t = np.arange(2 * RATE) / RATE
    freq = 150.0 * 2 ** (t / 2)  # 150 -> 300 Hz, one octave in 2 s
    y = (0.3 * np.sin(2 * np.pi * np.cumsum(freq) / RATE)).astype(np.float32)
    f0, flag, _ = dsp.pyin(y, resolution=0.1, **PYIN)
    inner = slice(10, -10)
    truth = 150.0 * 2 ** (np.arange(f0.size)[inner] * 320 / RATE / 2)
    assert flag[inner].mean() > 0.95
    assert np.nanmedian(12 * np.abs(np.log2(f0[inner] / truth))) < 0.2
    noise = np.random.default_rng(1).normal(0, 0.3, RATE).astype(np.float32)
    f0, flag, prob = dsp.pyin(noise, resolution=1.0, **PYIN)
    assert flag.mean() < 0.2
    assert np.median(prob) < 0.2


def test_pyin_transition_matches_a_triangle_kernel_of_the_given_width() -> None:
    trans = np.exp(dsp._log_transition(40, 10, 0.01))
    np.testing.assert_allclose(trans.sum(axis=1), 1.0)
    local = trans[:40, :40] / 0.99
    # even width 10: scipy's symmetric triangle (1, 3, 5, 7, 9, 9, 7, 5, 3, 1) / 10, placed as
    # librosa places it (state 20 reaches 16..25)
    row = local[20, 16:26]
    np.testing.assert_allclose(row / row.max(), np.array([1, 3, 5, 7, 9, 9, 7, 5, 3, 1]) / 9)
    assert local[20, :16].max() < 1e-300 and local[20, 26:].max() < 1e-300
    # near the edge the kernel is cut and renormalised
    np.testing.assert_allclose(local[0].sum(), 1.0)
    assert local[0, 6:].max() < 1e-300
    np.testing.assert_allclose(trans[:40, 40:].sum(axis=1), 0.01)


@pytest.mark.parametrize("n", [0, 100, 320, 3200])
def test_pyin_of_short_silence_is_unvoiced_with_one_frame_per_hop(n: int) -> None:
    f0, flag, prob = dsp.pyin(np.zeros(n, np.float32), resolution=1.0, **PYIN)
    assert f0.size == flag.size == prob.size == 1 + n // 320
    assert not flag.any() and np.isnan(f0).all() and np.all(prob == 0)
