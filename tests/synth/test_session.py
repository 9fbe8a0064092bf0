"""A generated session: files, labels that match the script, speech where the RTTM says."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest

from vigcv.io.media import load_audio, probe
from vigcv.models import model_path
from vigcv.synth import SynthResult, cached_session, load_script, shipped_script
from vigcv.types import Segment

LABEL_KEYS = {
    "t",
    "parent_visible",
    "child_visible",
    "parent_looks_at_child",
    "child_looks_at_parent",
    "mutual_gaze",
    "parent_smile",
    "child_smile",
}


def test_video_and_audio_streams(textbook: SynthResult) -> None:
    info = probe(textbook.video)
    assert (info.width, info.height) == (640, 480)
    assert info.has_audio and info.has_video
    assert info.nominal_fps == pytest.approx(25.0)
    assert info.duration == pytest.approx(12.0, abs=0.1)


def _smiles(events, who: str, t: float) -> bool:  # type: ignore[no-untyped-def]
    return any(e.who == who and e.action == "smile" and e.start <= t < e.end for e in events)


def _looks_at(events, who: str, t: float) -> str:  # type: ignore[no-untyped-def]
    """The target of the latest-starting look covering ``t`` (the documented rule), else toy."""
    looks = [e for e in events if e.who == who and e.action == "look" and e.start <= t < e.end]
    return max(looks, key=lambda e: e.start).target if looks else "toy"


def test_labels_match_the_script(textbook: SynthResult) -> None:
    labels = json.loads(textbook.labels.read_text())
    assert labels["step_s"] == 0.5
    frames = labels["frames"]
    assert [f["t"] for f in frames] == [i * 0.5 for i in range(24)]
    ev = textbook.events
    for f in frames:
        assert set(f) == LABEL_KEYS
        t = f["t"]
        p_at_c = _looks_at(ev, "parent", t) == "child"
        c_at_p = _looks_at(ev, "child", t) == "parent"
        assert f["parent_looks_at_child"] == int(p_at_c)
        assert f["child_looks_at_parent"] == int(c_at_p)
        assert f["mutual_gaze"] == int(p_at_c and c_at_p)
        assert f["parent_smile"] == int(_smiles(ev, "parent", t))
        assert f["child_smile"] == int(_smiles(ev, "child", t))
    # The jittered truth is within jitter of the written script.
    script = load_script(shipped_script("textbook"))
    mutual = [f["t"] for f in frames if f["mutual_gaze"]]
    assert min(mutual) == pytest.approx(2.0, abs=0.5) and max(mutual) == pytest.approx(6.0, abs=0.5)
    [moment] = labels["attuned_moments"]
    [written] = script.attuned_moments
    assert moment["strength"] == 3 and moment["why"] == written.why
    assert moment["start"] == pytest.approx(written.start, abs=script.jitter_s)
    assert moment["end"] == pytest.approx(written.end, abs=script.jitter_s)


def test_rttm_and_answer_latency(textbook: SynthResult) -> None:
    rows = [line.split() for line in textbook.rttm.read_text().splitlines()]
    assert {r[7] for r in rows} == {"parent", "child"}
    from_rttm = sorted((r[7], round(float(r[3]), 3)) for r in rows)
    from_result = sorted(
        (role, round(s.start, 3)) for role, segs in textbook.speech.items() for s in segs
    )
    assert from_rttm == from_result
    says = [e for e in textbook.events if e.action == "say"]
    assert len(says) == 4
    for answer in (e for e in says if e.is_answer):
        before = [e for e in says if e.who != answer.who and e.end <= answer.start]
        latency = answer.start - max(e.end for e in before)
        assert latency == pytest.approx(answer.after, abs=0.02)
        assert latency < 1.0  # the textbook answers within a second


def _silero(audio: np.ndarray) -> np.ndarray:
    """Speech probability every 32 ms (512 samples at 16 kHz) from Silero VAD via onnxruntime."""
    session = ort.InferenceSession(
        str(model_path("silero_vad")), providers=["CPUExecutionProvider"]
    )
    state = np.zeros((2, 1, 128), np.float32)
    context = np.zeros(64, np.float32)
    probs = []
    for i in range(0, len(audio) - 511, 512):
        chunk = audio[i : i + 512].astype(np.float32)
        x = np.concatenate([context, chunk])[None, :]
        prob, state = session.run(
            None, {"input": x, "state": state, "sr": np.array(16000, np.int64)}
        )
        context = chunk[-64:]
        probs.append(float(np.asarray(prob).ravel()[0]))
    return np.array(probs)


def test_vad_finds_voices_where_the_rttm_says(textbook: SynthResult) -> None:
    audio = load_audio(textbook.video, rate=16000)
    prob = _silero(audio)
    t = (np.arange(len(prob)) + 0.5) * 512 / 16000
    segs = [s for segs in textbook.speech.values() for s in segs]
    in_speech = np.array([any(ti in s for s in segs) for ti in t])
    near = np.array([any(ti in Segment(s.start - 0.3, s.end + 0.3) for s in segs) for ti in t])
    covered = float((prob[in_speech] > 0.5).mean())
    false_alarm = float((prob[~near] > 0.5).mean())
    print(f"VAD covers {covered:.1%} of RTTM speech; fires on {false_alarm:.1%} of silence")
    assert in_speech.sum() * 0.032 > 2.0  # seconds of speech
    assert covered >= 0.9
    assert false_alarm <= 0.05


def test_mouth_opens_only_when_speaking(textbook: SynthResult) -> None:
    truth = pd.read_csv(textbook.truth)
    for role, rows in truth.groupby("role"):
        talking = rows[rows["speaking"] == 1]["mouth_open"]
        quiet = rows[rows["speaking"] == 0]["mouth_open"]
        assert talking.mean() > 0.2, role
        assert quiet.quantile(0.95) < 0.1, role


def test_cached_session_is_reused(textbook: SynthResult) -> None:
    before = textbook.video.stat().st_mtime_ns
    again = cached_session("textbook", seed=1, cache_dir=textbook.video.parent)
    assert again.video == textbook.video and again.video.stat().st_mtime_ns == before
    assert again.speech == textbook.speech
    assert [e.source for e in again.events] == [e.source for e in textbook.events]
    assert again.script.attuned_moments == textbook.script.attuned_moments


def _ask_for_textbook(cache: str, made: str) -> None:
    """In a child process: cached_session('textbook') with a generator that logs each call and
    takes half a second (the real one takes seconds), and a reader that returns the path."""
    import time
    from pathlib import Path

    import vigcv.synth as synth

    def generate(out: Path, *, script: Path, seed: int) -> Path:
        with open(made, "a") as fh:
            fh.write(f"{out.name}\n")
        time.sleep(0.5)
        for path in synth.sidecar_paths(out).values():
            path.write_text("made")
        return out

    synth.generate_session = generate  # type: ignore[assignment]
    synth.load_result = lambda out: out  # type: ignore[assignment]
    synth.cached_session("textbook", cache_dir=Path(cache))


def test_two_processes_asking_for_the_same_session_generate_it_once(tmp_path) -> None:
    # Two test processes (scripts/test.sh runs two) asking at once: one generates, the other
    # waits for it and reads what it made.
    import multiprocessing

    made = tmp_path / "made.txt"
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_ask_for_textbook, args=(str(tmp_path / "cache"), str(made)))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert len(made.read_text().splitlines()) == 1
