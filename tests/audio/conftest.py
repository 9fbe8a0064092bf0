"""Synthetic speech for the audio tests: a scripted parent-child session (espeak-ng voices).

The soundtrack comes from :mod:`vigcv.synth` (no video is rendered): its audio, who speaks when,
and each person's mouth opening, from which a FrameFeatures is built by hand (the contract's
``t``, ``person``, ``role``, ``visible``, ``mouth_open`` columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from tests.audio.builders import hand_frames
from vigcv.audio import attribute_speakers, extract_audio
from vigcv.config import load_config
from vigcv.types import FrameFeatures, SpeechTrack


@dataclass(frozen=True)
class SynthSpeech:
    wav: Path
    reference: pd.DataFrame  # start, end, speaker (parent/child)
    answers: list[tuple[float, float]]  # (end of the child's utterance, scripted delay)
    frames: FrameFeatures
    speech: SpeechTrack  # extract_audio(wav)
    attributed: SpeechTrack  # attribute_speakers(speech, frames)


@pytest.fixture(scope="session")
def config() -> dict:
    return load_config()


@pytest.fixture(scope="session")
def synth_speech(tmp_path_factory: pytest.TempPathFactory, config: dict) -> SynthSpeech:
    from vigcv.synth.generate import shipped_script
    from vigcv.synth.script import load_script
    from vigcv.synth.soundtrack import build_soundtrack

    script = load_script(shipped_script("mixed"))
    sound = build_soundtrack(script, rate=16000, rng=np.random.default_rng(7))
    wav = tmp_path_factory.mktemp("audio") / "mixed.wav"
    sf.write(wav, sound.audio, 16000)
    reference = pd.DataFrame(
        [(s.start, s.end, role) for role, segs in sound.speech.items() for s in segs],
        columns=["start", "end", "speaker"],
    ).sort_values("start", ignore_index=True)
    answers = []
    says = [e for e in sound.events if e.action == "say"]
    for k, ev in enumerate(says):
        if ev.who == "parent" and ev.is_answer and ev.after <= 2.0:
            child = [e for e in says[:k] if e.who == "child"]
            if child:
                answers.append((float(child[-1].end), float(ev.after)))
    times = np.arange(0.0, script.duration, 0.1)
    frames = hand_frames({r: sound.mouth_open(r, times) for r in ("parent", "child")}, times)
    speech = extract_audio(wav, config=config)
    attributed = attribute_speakers(speech, frames, config=config)
    return SynthSpeech(wav, reference, answers, frames, speech, attributed)
