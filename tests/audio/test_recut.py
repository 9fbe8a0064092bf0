"""Re-cut turns with known gaps (vigcv.evaluation.conditions.recut), and the switch latencies the
audio stage measures on them (real models; espeak-ng voices, nothing from ../shared)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from tests.audio.test_level_robust import session
from vigcv.audio import extract_audio
from vigcv.audio.turns import floor_switches
from vigcv.evaluation.conditions import recut, single_speaker_stretches
from vigcv.evaluation.speech import latency_errors

RATE = 16000


def test_single_speaker_stretches_leave_out_overlap_and_short_bits():
    ref = pd.DataFrame(
        {"start": [0.5, 2.0, 2.6, 5.0], "end": [2.2, 3.0, 4.0, 6.0], "speaker": list("abab")}
    )
    got = single_speaker_stretches(ref, min_s=0.3)
    # a alone 0.5-2.0; b alone 2.2-2.6 (0.4 s); a alone 3.0-4.0; b alone 5.0-6.0
    assert got.to_numpy().tolist() == [
        [0.5, 2.0, "a"],
        [2.2, 2.6, "b"],
        [3.0, 4.0, "a"],
        [5.0, 6.0, "b"],
    ]
    assert len(single_speaker_stretches(ref, min_s=0.5)) == 3


def test_recut_lays_stretches_with_the_known_gaps_and_adds_overlaps():
    # speaker a's samples are +0.1, b's -0.3: every output sample says whose voice is there
    ref = pd.DataFrame({"start": [0.0, 1.0, 2.0], "end": [1.0, 2.0, 3.0], "speaker": list("aba")})
    audio = np.where((np.arange(3 * RATE) // RATE) % 2 == 0, 0.1, -0.3).astype(np.float32)
    out, known = recut(audio, ref, rate=RATE, gaps_s=(0.5, -0.25), lead_s=0.2)
    assert known["speaker"].tolist() == ["a", "b", "a"]
    np.testing.assert_allclose(known["start"], [0.2, 1.7, 2.45], atol=1e-9)
    np.testing.assert_allclose(known["end"], [1.2, 2.7, 3.45], atol=1e-9)
    assert out.size == round(3.65 * RATE)

    def at(t0, t1):
        return out[round(t0 * RATE) : round(t1 * RATE)]

    assert np.all(at(0.0, 0.2) == 0) and np.all(at(1.2, 1.7) == 0)  # lead and the 0.5 s gap
    np.testing.assert_allclose(at(0.2, 1.2), 0.1, atol=1e-6)
    np.testing.assert_allclose(at(1.7, 2.45), -0.3, atol=1e-6)
    np.testing.assert_allclose(at(2.45, 2.7), -0.2, atol=1e-6)  # the 0.25 s overlap: both voices
    np.testing.assert_allclose(at(2.7, 3.45), 0.1, atol=1e-6)
    with pytest.raises(ValueError):
        recut(audio, ref, rate=RATE, gaps_s=())


def test_switch_latencies_of_a_recut_dialogue_are_measured(tmp_path, config):
    # A two-voice dialogue (adult, child) re-laid with answers 0.3 s and 1.2 s after the last
    # word: the audio stage's speaker turns must find the switches and their latencies.
    # Measured (this code): every switch found, 0.06-0.10 s short (the speech segments reach a
    # few hundredths of a second past the voice at both ends).
    lines = [
        ("adult", "Where is the little duck?"),
        ("child", "Duck there, duck in the water!"),
        ("adult", "Yes, there it is, in the water."),
        ("child", "Wet duck, very wet, wet wet duck!"),
        ("adult", "It is a very wet duck."),
        ("child", "Night night duck, night night little duck."),
    ]
    dialogue, reference = session([0.0] * len(lines), lines)  # who speaks when, to the sample
    audio, known = recut(dialogue, reference, rate=RATE, gaps_s=(0.3, 1.2), lead_s=1.0)
    wav = tmp_path / "dialogue.wav"
    sf.write(wav, audio, RATE)
    found = extract_audio(wav, config=config).segments.assign(
        speaker=lambda s: s["cluster"].astype(str)
    )
    switches = floor_switches(known)
    assert len(switches) == 5
    np.testing.assert_allclose(sorted(set(switches["latency_s"].round(3))), [0.3, 1.2])
    errors = latency_errors(known, found, tolerance=1.0)
    assert len(errors) == len(switches), errors
    assert errors["error_s"].abs().max() <= 0.25, errors
