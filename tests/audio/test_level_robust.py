"""Voice activity holds at a far camcorder's level, a close phone's level and in room noise.

The speech is made here with espeak-ng (vigcv.synth.voice), so the right answer is known to the
sample; the recording conditions come from vigcv.evaluation.conditions. Nothing from ../shared.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from vigcv.audio import extract_audio
from vigcv.audio.extract import edge_margin_db
from vigcv.audio.vad import frame_db, level_gain
from vigcv.evaluation.conditions import Condition, degrade, pink_noise, speech_samples
from vigcv.evaluation.speech import vad_f1
from vigcv.synth.voice import synthesize

RATE = 16000
PHRASES = [
    ("adult", "Look at the little duck, it is swimming in the water."),
    ("child", "Duck! Duck is wet."),
    ("adult", "Yes, the duck is wet, shall we give it a towel?"),
    ("adult_male", "I think it wants to go to sleep now."),
    ("child", "Night night duck."),
    ("adult", "Night night, little duck."),
]


def speech_extent(wave: np.ndarray) -> tuple[int, int]:
    """First and last sample of the 10 ms frames within 40 dB of the phrase's loudest frame."""
    n = wave.size // 160
    power = np.mean(wave[: n * 160].reshape(n, 160).astype(np.float64) ** 2, axis=1)
    db = 10 * np.log10(power + 1e-12)
    loud = np.flatnonzero(db >= db.max() - 40)
    return int(loud[0] * 160), int((loud[-1] + 1) * 160)


def session(gaps: list[float], phrases: list[tuple[str, str]]) -> tuple[np.ndarray, pd.DataFrame]:
    """Phrases separated by ``gaps`` seconds of digital silence, and who speaks when."""
    pieces, rows, at = [np.zeros(RATE, np.float32)], [], RATE
    for (voice, text), gap in zip(phrases, gaps, strict=True):
        wave = synthesize(text, voice=voice, rate=RATE)
        lo, hi = speech_extent(wave)
        rows.append(((at + lo) / RATE, (at + hi) / RATE, voice))
        pieces += [wave, np.zeros(round(gap * RATE), np.float32)]
        at += wave.size + round(gap * RATE)
    audio = np.concatenate(pieces)
    return audio, pd.DataFrame(rows, columns=["start", "end", "speaker"])


@pytest.fixture(scope="module")
def dialogue() -> tuple[np.ndarray, pd.DataFrame]:
    return session([1.5, 2.0, 1.2, 1.8, 1.5, 1.0], PHRASES)


def found(audio: np.ndarray, folder: Path, config: dict, name: str) -> pd.DataFrame:
    wav = folder / f"{name}.wav"
    sf.write(wav, audio, RATE)
    return extract_audio(wav, config=config).segments


CONDITIONS = [
    Condition("far -45 dBFS", level_dbfs=-45.0),
    Condition("close -15 dBFS", level_dbfs=-15.0),
    Condition("noise 10 dB SNR", level_dbfs=-30.0, snr_db=10.0),
    Condition("far, noise 10 dB SNR", level_dbfs=-45.0, snr_db=10.0),
]


@pytest.mark.parametrize("condition", CONDITIONS, ids=lambda c: c.name)
def test_speech_found_at_every_level_and_in_noise(dialogue, tmp_path, config, condition):
    audio, reference = dialogue
    speech = speech_samples(reference, n=audio.size, rate=RATE)
    degraded = degrade(audio, rate=RATE, speech=speech, condition=condition, seed=3)
    got = vad_f1(reference, found(degraded, tmp_path, config, "x"), duration=audio.size / RATE)
    assert got["f1"] >= 0.9, got


@pytest.mark.parametrize("snr_db", [10.0, 5.0])
def test_speech_edges_are_kept_in_room_noise(dialogue, tmp_path, config, snr_db):
    # the quiet-edge trim's margin above the noise floor is a share of the recording's own
    # speech-to-floor distance: a fixed 10 dB cut speech off every edge at these SNRs (recall
    # 0.93 at 10 dB, 0.86 at 5 dB)
    audio, reference = dialogue
    speech = speech_samples(reference, n=audio.size, rate=RATE)
    condition = Condition("noise", level_dbfs=-30.0, snr_db=snr_db)
    noisy = degrade(audio, rate=RATE, speech=speech, condition=condition, seed=3)
    got = vad_f1(reference, found(noisy, tmp_path, config, "n"), duration=audio.size / RATE)
    assert got["recall"] >= 0.95, got
    assert got["precision"] >= 0.93, got


def test_quiet_room_speech_edges_are_still_trimmed(dialogue, tmp_path, config):
    # room noise 40 dB below the speech: the margin stays large enough that the trim still cuts
    # Silero's late ends (at least 0.1 s over the six phrases) and keeps the speech
    audio, reference = dialogue
    speech = speech_samples(reference, n=audio.size, rate=RATE)
    condition = Condition("quiet room", level_dbfs=-30.0, snr_db=40.0)
    quiet = degrade(audio, rate=RATE, speech=speech, condition=condition, seed=3)
    untrimmed = {**config, "audio": {**config["audio"], "edge_trim_s": 0.0}}
    got = found(quiet, tmp_path, config, "q")
    loose = found(quiet, tmp_path, untrimmed, "u")
    assert (got["end"] - got["start"]).sum() < (loose["end"] - loose["start"]).sum() - 0.1
    assert vad_f1(reference, got, duration=audio.size / RATE)["recall"] >= 0.97


def test_edge_margin_is_a_share_of_the_speech_to_floor_distance():
    # 90% of frames at a -60 dB floor, 10% speech at -20: 40 dB apart, 0.15 of it is 6 dB
    clean = np.concatenate([np.full(90, -60.0), np.full(10, -20.0)])
    assert edge_margin_db(clean, min_db=10.0, snr_fraction=0.15) == pytest.approx(6.0)
    assert edge_margin_db(clean, min_db=5.0, snr_fraction=0.15) == pytest.approx(5.0)
    # noise 16 dB below the speech: the margin shrinks with it
    noisy = np.concatenate([np.full(90, -36.0), np.full(10, -20.0)])
    assert edge_margin_db(noisy, min_db=10.0, snr_fraction=0.15) == pytest.approx(2.4)
    assert edge_margin_db(noisy, min_db=10.0, snr_fraction=1.0) == pytest.approx(10.0)
    assert edge_margin_db(np.zeros(0), min_db=10.0, snr_fraction=0.15) == 10.0


def test_the_same_file_at_two_levels_gives_the_same_segments(dialogue, tmp_path, config):
    audio, reference = dialogue
    speech = speech_samples(reference, n=audio.size, rate=RATE)
    far = degrade(audio, rate=RATE, speech=speech, condition=Condition("far", level_dbfs=-45.0))
    near = degrade(audio, rate=RATE, speech=speech, condition=Condition("near", level_dbfs=-15.0))
    a = found(far, tmp_path, config, "far")
    b = found(near, tmp_path, config, "near")
    assert len(a) == len(b) >= len(reference) - 1
    # the same stretches of speech to within two 32 ms VAD frames (a 30 dB level change)
    assert np.abs(a["start"].to_numpy() - b["start"].to_numpy()).max() <= 0.065
    assert np.abs(a["end"].to_numpy() - b["end"].to_numpy()).max() <= 0.065


def test_a_quiet_far_recording_with_a_few_seconds_of_speech_is_not_silent(tmp_path, config):
    # 4 short turns of 4 voices, about 4 s of speech in 30 s, at -55 dBFS with room noise 10 dB
    # below it: a far microphone in a meeting room
    phrases = [
        ("adult", "Okay."),
        ("adult_male", "I agree with that."),
        ("child", "Me too."),
        ("adult", "Good, then we start."),
    ]
    audio, reference = session([6.0, 7.0, 5.0, 6.0], phrases)
    assert (reference["end"] - reference["start"]).sum() >= 3.0
    speech = speech_samples(reference, n=audio.size, rate=RATE)
    quiet = degrade(
        audio,
        rate=RATE,
        speech=speech,
        condition=Condition("far", level_dbfs=-55.0, snr_db=10.0),
        seed=5,
    )
    segments = found(quiet, tmp_path, config, "quiet")
    assert (segments["end"] - segments["start"]).sum() >= 2.5
    assert vad_f1(reference, segments, duration=audio.size / RATE)["f1"] >= 0.8


def test_room_noise_alone_is_not_raised_to_speech(tmp_path, config):
    # 20 s of pink noise at -60 dBFS: the gain is capped, so the noise stays noise
    noise = (pink_noise(20 * RATE, rng=np.random.default_rng(1)) * 10 ** (-60 / 20)).astype(
        np.float32
    )
    segments = found(noise, tmp_path, config, "noise")
    assert (segments["end"] - segments["start"]).sum() <= 0.5


def test_level_gain():
    levels = np.concatenate([np.full(90, -70.0), np.full(10, -40.0)])
    # the 0.95 quantile is a speech frame at -40 dBFS: +20 dB brings it to -20
    gain = level_gain(levels, target_db=-20.0, quantile=0.95, max_gain_db=30.0)
    assert 20 * np.log10(gain) == pytest.approx(20.0)
    # digital silence: the gain stops at the cap
    silent = level_gain(np.full(100, -120.0), target_db=-20.0, quantile=0.95, max_gain_db=30.0)
    assert 20 * np.log10(silent) == pytest.approx(30.0)
    assert level_gain(np.zeros(0), target_db=-20.0, quantile=0.95, max_gain_db=30.0) == 1.0
    loud = np.full(1024, 0.5, np.float32)
    assert frame_db(loud) == pytest.approx(np.full(2, 20 * np.log10(0.5)), abs=1e-6)


def test_conditions_set_the_speech_level_and_the_noise(dialogue):
    audio, reference = dialogue
    speech = speech_samples(reference, n=audio.size, rate=RATE)
    quiet = degrade(audio, rate=RATE, speech=speech, condition=Condition("q", level_dbfs=-45.0))
    rms = np.sqrt(np.mean(quiet[speech].astype(np.float64) ** 2))
    assert 20 * np.log10(rms) == pytest.approx(-45.0, abs=0.01)
    noisy = degrade(
        audio, rate=RATE, speech=speech, condition=Condition("n", level_dbfs=-30.0, snr_db=10.0)
    )
    noise = noisy[~speech].astype(np.float64)  # digital silence between phrases: noise only
    assert 20 * np.log10(np.sqrt(np.mean(noise**2))) == pytest.approx(-40.0, abs=0.5)
    reverb = degrade(audio, rate=RATE, speech=speech, condition=Condition("r", rt60_s=0.5))
    # the room keeps sounding after each phrase: energy in the 0.2 s after the speech ends
    end = round(reference["end"].iloc[0] * RATE)
    tail = slice(end + 800, end + 4000)
    assert np.abs(reverb[tail]).max() > 10 * max(np.abs(audio[tail]).max(), 1e-6)
