"""extract_audio as the pipeline calls it: any container, progress hook, no-audio files, writers."""

from __future__ import annotations

import av
import numpy as np
import pytest
import soundfile as sf

from tests.builders import write_audio, write_video
from vigcv import results
from vigcv.audio import extract_audio
from vigcv.errors import ConfigError
from vigcv.evaluation.speech import vad_f1


def write_m4a(path, samples: np.ndarray, rate: int = 16000) -> None:
    """AAC at 44.1 kHz, as a phone would record it (so decoding resamples)."""
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("aac", rate=44100)
        stream.layout = "mono"
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=44100)
        frame = av.AudioFrame.from_ndarray(samples[None, :].astype(np.float32), format="flt",
                                           layout="mono")  # fmt: skip
        frame.rate = rate
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_m4a_gives_the_same_speech_as_wav(synth_speech, tmp_path, config):
    samples, _ = sf.read(synth_speech.wav, dtype="float32")
    m4a = tmp_path / "mixed.m4a"
    write_m4a(m4a, samples[: 40 * 16000])
    calls: list[tuple[str, object, float | None, float | None]] = []

    def hook(step: str, artifact: object = None, *, completed=None, total=None) -> None:
        calls.append((step, artifact, completed, total))

    speech = extract_audio(m4a, config=config, hook=hook)
    assert calls and all(step == "audio" and art is None for step, art, _, _ in calls)
    done = [c for _, _, c, _ in calls]
    assert done == sorted(done) and done[-1] == pytest.approx(calls[-1][3], abs=0.1)
    wav_segments = synth_speech.speech.segments
    first = wav_segments[wav_segments["end"] < 39.0]
    assert vad_f1(first, speech.segments[speech.segments["end"] < 39.5])["f1"] > 0.9
    assert speech.provenance["vad_model"].startswith("silero_vad")


def test_video_without_audio_warns(tmp_path, config):
    video = write_video(tmp_path / "silent.mp4", seconds=1.0, audio=False)
    warnings: list[str] = []
    speech = extract_audio(video, config=config, warnings=warnings)
    assert speech.segments.empty and speech.vad.size == 0
    assert warnings and "no audio track" in warnings[0]


def test_steady_tone_is_not_a_voice(tmp_path, config):
    tone = write_audio(tmp_path / "tone.flac", seconds=3.0)
    speech = extract_audio(tone, config=config)
    assert speech.segments.empty
    assert speech.vad.size == pytest.approx(3.0 / 0.032, abs=2)


def test_audio_rate_must_suit_silero(tmp_path, config):
    bad = dict(config, ingest=dict(config["ingest"], audio_rate=8000))
    with pytest.raises(ConfigError, match="audio_rate"):
        extract_audio(tmp_path / "whatever.wav", config=bad)


def test_speech_csv_round_trip(synth_speech, tmp_path):
    results.write_speech(tmp_path / "out", synth_speech.attributed)
    back = results.read_speech(tmp_path / "out")
    assert len(back) == len(synth_speech.attributed.segments)
    assert set(back["speaker"]) <= {"parent", "child", "other", "unknown"}
    assert back["confidence"].between(0, 1).all()
