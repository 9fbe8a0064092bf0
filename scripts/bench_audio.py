"""Benchmark the audio stage on the real speech recordings in ../shared/eval/speech.

Prints, per recording: voice-activity F1 (10 ms frames), diarization error rate (no collar,
overlap counted) with its parts, speaker-change F1 (0.25 s collar), the median absolute error of
turn-switch latency over the reference switches matched within 1 s, and the audio stage's real-
time factor (wall time / audio duration, and CPU time / audio duration, which other work on the
machine disturbs less; a first warm-up run loads the models and is not timed).

Usage: ``.venv/bin/python scripts/bench_audio.py [--eval DIR] [--synth] [--check-dsp]``
(``--synth`` adds the synthetic mixed session: attribution accuracy and contingent answers;
``--check-dsp`` compares ``vigcv.audio.dsp`` with librosa 0.11, whose definitions it follows,
where librosa is installed: ``.venv/bin/pip install librosa==0.11.0``.)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from vigcv.audio import extract_audio
from vigcv.config import load_config
from vigcv.evaluation.speech import (
    change_f1,
    diarization_error_rate,
    latency_errors,
    read_rttm,
    vad_f1,
)

REPO = Path(__file__).resolve().parents[1]
FILES = [
    ("sample", "speech/sample.wav", "speech/sample.rttm"),
    ("mixture (4 spk)", "speech/seriously/mixture.wav", "speech/seriously/mixture.rttm"),
]


def bench_real(eval_dir: Path, config: dict) -> None:
    extract_audio(eval_dir / FILES[0][1], config=config)  # warm-up (model loading)
    head = f"{'file':<16} {'VAD F1':>7} {'DER':>6} {'miss':>5} {'FA':>5} {'conf':>5} {'spk':>4}"
    head += f" {'chg F1':>7} {'lat med|err|':>12} {'n sw':>5} {'RTF':>7} {'CPU RTF':>8}"
    print(head)
    for name, wav, rttm in FILES:
        ref = read_rttm(eval_dir / rttm)
        start, cpu0 = time.perf_counter(), time.process_time()
        speech = extract_audio(eval_dir / wav, config=config)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
        duration = float(speech.times[-1] + 0.016) if speech.times.size else 0.0
        hyp = speech.segments
        vad = vad_f1(ref, hyp, duration=duration)["f1"]
        der = diarization_error_rate(ref, hyp)
        chg = change_f1(ref, hyp, collar=0.25)
        lat = latency_errors(ref, hyp, tolerance=1.0)
        med = float(np.median(np.abs(lat["error_s"]))) if len(lat) else float("nan")
        tot = der["total"]
        print(
            f"{name:<16} {vad:7.3f} {der['der']:6.3f} {der['missed'] / tot:5.3f}"
            f" {der['false_alarm'] / tot:5.3f} {der['confusion'] / tot:5.3f}"
            f" {hyp['speaker'].nunique():>4} {chg['f1']:7.3f} {med:12.3f}"
            f" {len(lat):>2}/{int(chg['n_ref']):<2} {wall / duration:7.4f} {cpu / duration:8.4f}"
        )


def bench_synth(config: dict) -> None:
    import sys

    import pandas as pd
    import soundfile as sf

    sys.path.insert(0, str(REPO))
    from tests.audio.builders import hand_frames
    from vigcv.audio import attribute_speakers
    from vigcv.evaluation.speech import attribution_accuracy
    from vigcv.synth.generate import shipped_script
    from vigcv.synth.script import load_script
    from vigcv.synth.soundtrack import build_soundtrack

    script = load_script(shipped_script("mixed"))
    sound = build_soundtrack(script, rate=16000, rng=np.random.default_rng(7))
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "mixed.wav"
        sf.write(wav, sound.audio, 16000)
        speech = extract_audio(wav, config=config)
    ref = pd.DataFrame(
        [(s.start, s.end, r) for r, segs in sound.speech.items() for s in segs],
        columns=["start", "end", "speaker"],
    )
    times = np.arange(0.0, script.duration, 0.1)
    frames = hand_frames({r: sound.mouth_open(r, times) for r in ("parent", "child")}, times)
    att = attribute_speakers(speech, frames, config=config)
    guess = speech.segments.assign(
        speaker=speech.segments["role_guess"].map({"adult": "parent", "child": "child"})
    )
    says = [e for e in sound.events if e.action == "say"]
    turns = att.turns
    hits, errors, n = 0, [], 0
    for k, ev in enumerate(says):
        child = [e for e in says[:k] if e.who == "child"]
        if ev.who == "parent" and ev.is_answer and ev.after <= 2.0 and child:
            n += 1
            near = turns[(turns["from"] == "child") & (np.abs(turns["time"] - child[-1].end) < 0.5)]
            if len(near) and bool(near.iloc[0]["contingent"]):
                hits += 1
                errors.append(abs(float(near.iloc[0]["latency_s"]) - ev.after))
    print(f"\nsynthetic 'mixed' session ({script.duration:.0f} s, mouths from the script):")
    print(f"  attribution accuracy (face + voice): {attribution_accuracy(ref, att.segments):.3f}")
    print(
        f"  attribution accuracy (voice only, pitch guess): {attribution_accuracy(ref, guess):.3f}"
    )
    print(f"  VAD F1: {vad_f1(ref, speech.segments, duration=script.duration)['f1']:.3f}")
    grid = np.arange(0.0, script.duration, 0.01)

    def spoken(table: pd.DataFrame, role: str) -> np.ndarray:
        mask = np.zeros(grid.size, bool)
        for start, end in table.loc[table["speaker"] == role, ["start", "end"]].to_numpy():
            mask |= (grid >= start) & (grid < end)
        return mask

    truth = spoken(ref, "parent") & spoken(ref, "child")
    seen = spoken(att.segments, "parent") & spoken(att.segments, "child")
    print(
        f"  overlapping speech: {truth.sum() / 100:.2f} s scripted, {seen.sum() / 100:.2f} s found,"
        f" recall {(truth & seen).sum() / max(truth.sum(), 1):.2f},"
        f" precision {(truth & seen).sum() / max(seen.sum(), 1):.2f}"
    )
    print(f"  child initiatives answered within 2 s found contingent: {hits}/{n}, "
          f"max |latency error| {max(errors) if errors else float('nan'):.3f} s")  # fmt: skip


def check_dsp(eval_dir: Path) -> None:
    """vigcv's mel, MFCC, RMS and pYIN beside librosa's on the real recordings."""
    try:
        import librosa
    except ImportError:
        print("--check-dsp: librosa is not installed; run .venv/bin/pip install librosa==0.11.0")
        return
    from vigcv.audio import dsp
    from vigcv.io import load_audio

    kw = {"fmin": 70.0, "fmax": 700.0, "frame_length": 1024, "resolution": 1.0}
    kw["n_thresholds"] = 20
    print(
        f"\nvigcv.audio.dsp against librosa {librosa.__version__} (pYIN as the audio stage runs it)"
    )
    head = f"{'file':<40} {'mel rel':>8} {'mfcc abs':>9} {'rms abs':>8} {'f0 same':>8}"
    print(head + f" {'voiced same':>11} {'p max err':>9} {'pYIN s ours':>11} {'librosa':>8}")
    paths = [eval_dir / f for _, f, _ in FILES] + sorted((eval_dir / "parent-child").glob("*.mp4"))
    for path in paths:
        y = load_audio(path, rate=16000)
        y = y[: y.size // 320 * 320].astype(np.float32)
        ref = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=400, hop_length=160, n_mels=40)
        mel = float(np.abs(ref - dsp.melspectrogram(y, 16000, 400, 160, 40)).max() / ref.max())
        ref = librosa.feature.mfcc(
            y=y, sr=16000, n_mfcc=40, n_fft=512, hop_length=320, n_mels=40, fmax=7600
        )
        mfcc = float(np.abs(ref - dsp.mfcc(y, 16000, 40, 512, 320, 40, 7600)).max())
        ref = librosa.feature.rms(y=y, frame_length=512, hop_length=320)[0]
        rms = float(np.abs(ref - dsp.rms(y, 512, 320)).max())
        t0 = time.perf_counter()
        f_a, v_a, p_a = librosa.pyin(y, sr=16000, hop_length=320, **kw)  # type: ignore[arg-type]
        t1 = time.perf_counter()
        f_b, v_b, p_b = dsp.pyin(y, rate=16000, hop=320, **kw)  # type: ignore[arg-type]
        t2 = time.perf_counter()
        same = float(np.mean((np.isnan(f_a) & np.isnan(f_b)) | (f_a == f_b)))
        print(
            f"{path.name[:40]:<40} {mel:8.1e} {mfcc:9.1e} {rms:8.1e} {same:8.4f}"
            f" {float(np.mean(v_a == v_b)):11.4f} {float(np.abs(p_a - p_b).max()):9.3f}"
            f" {t2 - t1:11.2f} {t1 - t0:8.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--synth", action="store_true")
    parser.add_argument("--check-dsp", action="store_true")
    args = parser.parse_args()
    config = load_config()
    if (args.eval / "speech").is_dir():
        bench_real(args.eval, config)
    else:
        print(f"{args.eval / 'speech'} not found: real-speech benchmark skipped")
    if args.synth:
        bench_synth(config)
    if args.check_dsp:
        check_dsp(args.eval)


if __name__ == "__main__":
    main()
