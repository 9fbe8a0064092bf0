"""Benchmark the audio stage on the real speech recordings in ../shared/eval/speech.

Prints, per recording: voice-activity F1 (10 ms frames), diarization error rate (no collar,
overlap counted) with its parts, speaker-change F1 (0.25 s collar), the median absolute error of
turn-switch latency over the reference switches matched within 1 s, and the audio stage's real-
time factor (wall time / audio duration, and CPU time / audio duration, which other work on the
machine disturbs less; a first warm-up run loads the models and is not timed).

Every figure comes from :mod:`vigcv.evaluation.speech`, the functions ``vigcv evaluate`` uses
(DER and JER by pyannote.metrics), so the two agree.

Usage: ``.venv/bin/python scripts/bench_audio.py [--eval DIR] [--conditions] [--loo [--extra]]
[--recut] [--synth] [--clips]``
(``--conditions`` adds the same recordings made far (-45 dBFS of speech), close (-15 dBFS), noisy
(pink room noise at 10 dB SNR), reverberant (RT60 0.5 s) and combined, with the same reference
(:mod:`vigcv.evaluation.conditions`); ``--loo`` chooses ``[audio] min_silence_s`` (the pause
that splits speech), then ``edge_snr_fraction`` (how much of the speech-to-floor distance a
segment edge must clear), on one recording's conditions and scores it on the other's, both ways,
then ``fill_pause_s`` (the pause inside a speaker's turn that speech.csv fills) on the other
recordings' conditions, the call and the meeting, and with ``--extra`` pyAudioAnalysis's two;
``--recut`` re-lays each recording's single-speaker stretches with gaps of known length, overlaps
included (:func:`vigcv.evaluation.conditions.recut`), as recorded and far+noise+reverb, and
adds how far the measured switch latencies are from the known ones;
``--synth`` adds the synthetic mixed session: attribution accuracy and contingent answers;
``--clips`` adds the real parent-child clips, which have no speaker labels: per clip the speech
time the voice clusters' pitch calls adult and child, their median pitch and the audio CPU time
per media second.)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vigcv.audio import attribute_speakers, extract_audio
from vigcv.config import load_config
from vigcv.evaluation.conditions import CONDITIONS, Condition, degrade, speech_samples
from vigcv.evaluation.speech import (
    change_f1,
    diarization_error_rate,
    jaccard_error_rate,
    latency_errors,
    read_rttm,
    score_speech,
    vad_f1,
)
from vigcv.types import SpeechTrack

REPO = Path(__file__).resolve().parents[1]
FILES = [
    ("sample", "speech/sample.wav", "speech/sample.rttm"),
    ("mixture (4 spk)", "speech/seriously/mixture.wav", "speech/seriously/mixture.rttm"),
]


def heard(path: Path, config: dict) -> SpeechTrack:
    """An audio-only recording as ``vigcv run`` writes its speech.csv: the audio stage's
    segments with their speakers named (voice clusters; a speaker's short pauses filled)."""
    return attribute_speakers(extract_audio(path, config=config), None, config=config)


def bench_real(eval_dir: Path, config: dict) -> None:
    extract_audio(eval_dir / FILES[0][1], config=config)  # warm-up (model loading)
    head = f"{'file':<16} {'VAD F1':>7} {'DER':>6} {'miss':>5} {'FA':>5} {'conf':>5} {'JER':>6}"
    head += f" {'spk':>4}"
    head += f" {'chg F1':>7} {'lat med|err|':>12} {'n sw':>5} {'RTF':>7} {'CPU RTF':>8}"
    print(head)
    for name, wav, rttm in FILES:
        ref = read_rttm(eval_dir / rttm)
        start, cpu0 = time.perf_counter(), time.process_time()
        speech = heard(eval_dir / wav, config)
        hyp = speech.segments
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
        duration = float(speech.times[-1] + 0.016) if speech.times.size else 0.0
        vad = vad_f1(ref, hyp, duration=duration)["f1"]
        der = diarization_error_rate(ref, hyp)
        chg = change_f1(ref, hyp, collar=0.25)
        lat = latency_errors(ref, hyp, tolerance=1.0)
        med = float(np.median(np.abs(lat["error_s"]))) if len(lat) else float("nan")
        tot = der["total"]
        print(
            f"{name:<16} {vad:7.3f} {der['der']:6.3f} {der['missed'] / tot:5.3f}"
            f" {der['false_alarm'] / tot:5.3f} {der['confusion'] / tot:5.3f}"
            f" {jaccard_error_rate(ref, hyp):6.3f} {hyp['speaker'].nunique():>4}"
            f" {chg['f1']:7.3f} {med:12.3f}"
            f" {len(lat):>2}/{int(chg['n_ref']):<2} {wall / duration:7.4f} {cpu / duration:8.4f}"
        )


def run_condition(
    audio: np.ndarray, ref: pd.DataFrame, condition: Condition, config: dict, folder: Path
) -> tuple[pd.DataFrame, float]:
    """The audio stage's segments on ``audio`` recorded under ``condition``, and its CPU s."""
    import soundfile as sf

    speech_mask = speech_samples(ref, n=audio.size, rate=16000)
    wav = folder / "condition.wav"
    sf.write(wav, degrade(audio, rate=16000, speech=speech_mask, condition=condition), 16000)
    cpu0 = time.process_time()
    hyp = heard(wav, config).segments
    return hyp, time.process_time() - cpu0


def score_condition(
    audio: np.ndarray, ref: pd.DataFrame, condition: Condition, config: dict, folder: Path
) -> dict[str, float]:
    """The audio stage on ``audio`` recorded under ``condition``: its figures and CPU time."""
    hyp, cpu = run_condition(audio, ref, condition, config, folder)
    duration = audio.size / 16000
    return {
        **score_speech(ref, hyp, collar=0.25),
        "speech_s": float((hyp["end"] - hyp["start"]).sum()),
        "cpu_rtf": cpu / duration,
    }


def _recordings(eval_dir: Path, extra: bool = False) -> list[tuple[str, np.ndarray, pd.DataFrame]]:
    """(name, 16 kHz audio, reference turns) of the development recordings; ``extra`` adds the
    two of pyAudioAnalysis's diarization example (``bench_speakers.extra_files``)."""
    from vigcv.io import load_audio

    files = [(name.split()[0], eval_dir / wav, eval_dir / rttm) for name, wav, rttm in FILES]
    if extra:
        from bench_speakers import extra_files  # scripts/ is on sys.path when run

        files += [(name, Path(wav), Path(rttm)) for name, wav, rttm in extra_files()]
    return [(name, load_audio(wav, rate=16000), read_rttm(rttm)) for name, wav, rttm in files]


def bench_conditions(eval_dir: Path, config: dict) -> None:
    """Each recording under each condition of :data:`CONDITIONS`, the config as given."""
    extract_audio(eval_dir / FILES[0][1], config=config)  # warm-up (model loading)
    print("\nrecording conditions (reference unchanged; DER no collar, overlap counted):")
    head = f"{'file':<8} {'condition':<18} {'VAD F1':>7} {'DER':>6} {'JER':>6} {'chg F1':>7}"
    print(head + f" {'spk':>4} {'speech s':>8} {'CPU RTF':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, audio, ref in _recordings(eval_dir):
            for condition in CONDITIONS:
                got = score_condition(audio, ref, condition, config, Path(tmp))
                print(
                    f"{name:<8} {condition.name:<18} {got['vad_f1']:7.3f} {got['der']:6.3f}"
                    f" {got['jer']:6.3f} {got['change_f1']:7.3f} {int(got['hyp_speakers']):>4}"
                    f" {got['speech_s']:8.1f} {got['cpu_rtf']:8.4f}"
                )


#: Gaps between the re-cut stretches (``--recut``), s: quick and slow answers, a long pause and
#: talking over (negative: overlap).
RECUT_GAPS = ((0.3, 0.8, 1.5, -0.4), (0.2, 0.5), (1.0, 2.0))


def bench_recut(eval_dir: Path, config: dict) -> None:
    """Each recording's single-speaker stretches re-laid with gaps of known length
    (:func:`vigcv.evaluation.conditions.recut`), as recorded and far+noise+reverb: voice
    activity, speaker turns and how well the switch latencies (known to the sample) come out."""
    from vigcv.evaluation.conditions import recut

    conditions = [c for c in CONDITIONS if c.name in ("as recorded", "far+noise+reverb")]
    print("\nre-cut turns (known gaps; latency error = measured minus known switch latency):")
    head = f"{'file':<8} {'gaps s':<20} {'condition':<17} {'VAD F1':>7} {'DER':>6} {'chg F1':>7}"
    print(head + f" {'spk':>4} {'switches':>9} {'lat med|err|':>12} {'within .25':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, audio, ref in _recordings(eval_dir):
            for gaps in RECUT_GAPS:
                cut, known = recut(audio, ref, rate=16000, gaps_s=gaps)
                for condition in conditions:
                    hyp, _ = run_condition(cut, known, condition, config, Path(tmp))
                    got = score_speech(known, hyp, collar=0.25)
                    lat = latency_errors(known, hyp, tolerance=1.0)
                    who = known["speaker"].to_numpy()
                    n_ref = int((who[1:] != who[:-1]).sum())
                    err = lat["error_s"].abs()
                    med = f"{err.median():12.3f}" if len(err) else f"{'-':>12}"
                    within = f"{(err <= 0.25).mean():10.2f}" if len(err) else f"{'-':>10}"
                    gap_text = ",".join(f"{g:g}" for g in gaps)
                    print(
                        f"{name:<8} {gap_text:<20} {condition.name:<17} {got['vad_f1']:7.3f}"
                        f" {got['der']:6.3f} {got['change_f1']:7.3f} {int(got['hyp_speakers']):>4}"
                        f" {len(lat):>4}/{n_ref:<4} {med} {within}"
                    )


def bench_loo(
    eval_dir: Path, config: dict, key: str, grid: tuple[float, ...], extra: bool = False
) -> None:
    """``[audio] key`` (``min_silence_s``, ``edge_snr_fraction``, ``fill_pause_s``) chosen on
    the other recordings (the worst VAD F1 over their conditions, ties to the smaller value),
    scored on the one left out; the held-out figures are the headline."""
    import copy

    extract_audio(eval_dir / FILES[0][1], config=config)  # warm-up (model loading)
    recordings = _recordings(eval_dir, extra)
    table: dict[tuple[str, float], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for value in grid:
            cfg = copy.deepcopy(config)
            cfg["audio"][key] = value
            for name, audio, ref in recordings:
                table[name, value] = [
                    score_condition(audio, ref, c, cfg, Path(tmp)) for c in CONDITIONS
                ]
    names = [name for name, _, _ in recordings]
    print(f"\n{key} grid: worst / mean VAD F1 over the conditions")
    for value in grid:
        cells = [table[n, value] for n in names]
        print(
            f"  {value:5.2f}  "
            + "  ".join(
                f"{n}: {min(r['vad_f1'] for r in c):.3f} / {np.mean([r['vad_f1'] for r in c]):.3f}"
                for n, c in zip(names, cells, strict=True)
            )
        )
    print(f"\nleave-one-recording-out, {key} (chosen on the others, scored on the one left out):")
    w = max(8, *(len(n) for n in names))
    head = f"{'scored':<{w}} {'chosen':>7} {'condition':<18} {'VAD F1':>7} {'DER':>6} {'JER':>6}"
    print(head + f" {'chg F1':>7} {'CPU RTF':>8}")
    for held in names:
        train = [n for n in names if n != held]
        worst = {v: min(r["vad_f1"] for n in train for r in table[n, v]) for v in grid}
        tied = [v for v in grid if worst[v] >= max(worst.values()) - 1e-9]
        best = min(tied)  # ties to the smaller value
        if len(tied) > 1:
            print(f"{held}: {len(tied)} values tie on the others ({', '.join(map(str, tied))})")
        for condition, got in zip(CONDITIONS, table[held, best], strict=True):
            print(
                f"{held:<{w}} {best:7.2f} {condition.name:<18} {got['vad_f1']:7.3f}"
                f" {got['der']:6.3f}"
                f" {got['jer']:6.3f} {got['change_f1']:7.3f} {got['cpu_rtf']:8.4f}"
            )


def bench_synth(config: dict) -> None:
    import sys

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
    print(f"  VAD F1: {vad_f1(ref, att.segments, duration=script.duration)['f1']:.3f}")
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


def bench_clips(eval_dir: Path, config: dict) -> None:
    """Pitch and the adult/child guess on the real parent-child clips (no speaker labels)."""
    clips = sorted((eval_dir / "parent-child").glob("*.mp4"))
    if not clips:
        print(f"\n{eval_dir / 'parent-child'}: no clips; --clips skipped")
        return
    print("\nparent-child clips: speech, the voice clusters' pitch guess, audio CPU time")
    head = f"{'clip':<40} {'media s':>7} {'speech s':>8} {'adult s':>7} {'child s':>7}"
    print(head + f" {'unkn s':>6} {'adult Hz':>8} {'child Hz':>8} {'CPU RTF':>8}")
    totals = np.zeros(6)
    for path in clips:
        cpu0 = time.process_time()
        speech = extract_audio(path, config=config)
        cpu = time.process_time() - cpu0
        duration = float(speech.times[-1] + 0.016) if speech.times.size else 0.0
        seg = speech.segments
        length = (seg["end"] - seg["start"]).to_numpy(float)
        guess = seg["role_guess"].to_numpy(str)
        hz = seg["pitch_hz"].to_numpy(float)
        spent = [float(length[guess == g].sum()) for g in ("adult", "child", "unknown")]
        pitch = []
        for g in ("adult", "child"):
            mine = (guess == g) & np.isfinite(hz)
            pitch.append(float(np.median(hz[mine])) if mine.any() else float("nan"))
        totals += [duration, length.sum(), *spent, cpu]
        print(
            f"{path.name[:40]:<40} {duration:7.1f} {length.sum():8.1f} {spent[0]:7.1f}"
            f" {spent[1]:7.1f} {spent[2]:6.1f} {pitch[0]:8.0f} {pitch[1]:8.0f}"
            f" {cpu / max(duration, 1e-9):8.4f}"
        )
    print(
        f"{'all':<40} {totals[0]:7.1f} {totals[1]:8.1f} {totals[2]:7.1f} {totals[3]:7.1f}"
        f" {totals[4]:6.1f} {'':>8} {'':>8} {totals[5] / max(totals[0], 1e-9):8.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--conditions", action="store_true")
    parser.add_argument("--loo", action="store_true")
    parser.add_argument(
        "--extra",
        action="store_true",
        help="--loo also on pyAudioAnalysis's two diarization recordings (fetched once into "
        "$TMPDIR/vigcv-bench/speech-extra, checked by sha256; see bench_speakers.py)",
    )
    parser.add_argument("--recut", action="store_true")
    parser.add_argument("--synth", action="store_true")
    parser.add_argument("--clips", action="store_true")
    args = parser.parse_args()
    config = load_config()
    if (args.eval / "speech").is_dir():
        bench_real(args.eval, config)
        if args.conditions:
            bench_conditions(args.eval, config)
        if args.loo:
            bench_loo(args.eval, config, "min_silence_s", grid=(0.15, 0.3, 0.5, 0.8))
            bench_loo(args.eval, config, "edge_snr_fraction", grid=(0.1, 0.15, 0.2, 0.25, 0.3, 1.0))
            fills = (0.0, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0)
            bench_loo(args.eval, config, "fill_pause_s", grid=fills, extra=args.extra)
        if args.recut:
            bench_recut(args.eval, config)
    else:
        print(f"{args.eval / 'speech'} not found: real-speech benchmark skipped")
    if args.synth:
        bench_synth(config)
    if args.clips:
        bench_clips(args.eval, config)


if __name__ == "__main__":
    main()
