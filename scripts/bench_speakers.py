"""Speaker turns on the real speech recordings, with settings chosen leave-one-recording-out.

The voice activity and acoustic features of each recording in ``../shared/eval/speech`` are
computed once (by :func:`vigcv.audio.extract_audio` itself, so the other stages are exactly
the pipeline's); then the speaker clustering (:func:`vigcv.audio.diarize.cluster_speakers`)
is re-run over a grid of its settings. For each recording the setting is chosen on the other
recording (lowest DER + (1 - speaker-change F1) there) and scored on this one: the figures
never come from settings tuned on the file they score. The shipped settings are scored beside.

DER: no collar, overlap counted. Speaker-change F1: 0.25 s collar. Settings tied on the other
recording cannot be told apart there, so the held-out figure is their mean, with the range.

Measured (2026-12, both recordings, this script): the shipped settings score sample 0.144 DER /
0.933 change F1 and mixture 0.218 / 0.615, but they were chosen on both. Leave-one-recording-out
(``current`` re-measured with ``[audio] edge_snr_fraction``, which moved it from 0.333 / 0.489 and
0.247 / 0.473; the other rows measured before it):

| grid | sample DER / F1 | mixture DER / F1 |
| --- | --- | --- |
| ``current``: MFCC window clusters; threshold, penalties, BIC | 0.258 / 0.692 | 0.223 / 0.553 |
| ``embed``: MFCC clusters; d-vector weights (first tied pick) | 0.142 / 0.667 | 0.268 / 0.353 |
| ``dvec3``: d-vector window clusters (``cluster_on``) | 0.290 / 0.496 | 0.227 / 0.615 |

Choosing on ``mixture`` is poorly determined: it has 4 reference speaker changes, and 6-8
settings tie on it whose figures on ``sample`` range from DER 0.143 to 0.496 and change F1 0
to 0.933. Two recordings are too few to choose these settings; the d-vector clustering was not
adopted (not clearly better than the shipped one's range).

``--variants`` chooses on all 13 variants of the other recording instead (its seven recording
conditions of ``vigcv.evaluation.conditions`` and three re-cuts with known gaps, as recorded and
far+noise+reverb; mean DER + 1 - change F1) and scores this recording's variants too. Measured
(2026-12, grid ``current``, ~25 CPU minutes): chosen on the meeting's variants, the call scores
0.360 / 0.533 as recorded and 0.264 / 0.614 over its variants (shipped: 0.143 / 0.933 and
0.340 / 0.355); chosen on the call's, the meeting collapses to one speaker (0.661 / 0.000; shipped
0.226 / 0.615). More variants of two recordings do not make settings that carry from a
two-person call to a four-person meeting.

``--extra`` adds the two recordings of pyAudioAnalysis 0.1.3's diarization example
(:mod:`vigcv.evaluation.extra_speech`: four broadcast voices in 42 s, six in 22 s; fetched once
from PyPI into ``$TMPDIR/vigcv-bench/speech-extra``, checked by sha256), so that each setting is
chosen on three recordings. ``--one-voice`` (with ``--variants``) adds each speaker alone, where
a second speaker found is wrong. Measured (2026-12, ``--extra``): grid ``current`` (the BIC
alone) chose settings on the three others that give the call 0.364 / 0.533 and leave the six
voices merged into two (0.653 / 0.000; the best setting on itself 0.514); grid ``voices`` (the
voice check of the BIC merge, ``[audio] voice_merge_margin``), ``--variants --one-voice``: the
other recordings choose margins of 0.10 (the call), 0.06 (the meeting, the four voices) and
0.08 (the six voices); as recorded every recording scores as with the shipped 0.10 (the six
voices 0.372 / 0.500, four of them found), but at 0.06 one voice is heard as two in 6 of the
meeting's 12 one-voice cuts and 5 of the four-voice recording's 8 (0.10: 27 of all 28 kept
whole, as with the BIC alone). docs/benchmarks.md has the table.

Since 7 December 2026 every DER here is of the clusters as speech.csv writes them, a speaker's
pauses of up to ``[audio] fill_pause_s`` filled (``--extra``, grid ``current``, held out: the
call 0.266 / 0.692, the meeting 0.221 / 0.345, four voices 0.036 / 0.833, six voices 0.336 /
0.500; the figures above are from before it; docs/benchmarks.md has both).
``--extra --variants --one-voice`` (8 December 2026, grid ``current``, 80 variants, ~50 CPU
minutes): one setting wins per fold, all with change penalties 40 / 20; held out as recorded the
call 0.161 / 0.769, the meeting 0.276 / 0.111, four voices 0.036 / 0.833, six voices 0.336 /
0.500 (docs/benchmarks.md, "Speaker settings chosen on every variant").

``--grid campplus`` clusters the windows on CAM++ speaker embeddings (``[audio] cluster_on``;
needs ``vigcv models fetch --optional``), ``--grid mfcc`` the shipped way with its window
settings spelt out. Measured (7 December 2026, ``--extra``), held out, MFCC / CAM++ windows:
the call 0.266 / 0.692 and 0.211 / 0.712, the meeting 0.221 / 0.345 and 0.190 / 0.429, four
voices 0.036 / 0.833 both, six voices 0.336 / 0.500 and 0.082 / 0.800 (docs/benchmarks.md: why
CAM++ is not the default).

Usage: ``nice -n 10 .venv/bin/python scripts/bench_speakers.py [--eval DIR] [--grid NAME]
[--extra] [--variants [--one-voice]]``
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vigcv.audio import extract as extract_module
from vigcv.audio.diarize import cluster_speakers
from vigcv.audio.features import AcousticFrames
from vigcv.audio.turns import fill_pauses
from vigcv.config import load_config
from vigcv.evaluation.speech import change_f1, diarization_error_rate, read_rttm
from vigcv.types import Segment

REPO = Path(__file__).resolve().parents[1]
FILES = [
    ("sample", "speech/sample.wav", "speech/sample.rttm"),
    ("mixture", "speech/seriously/mixture.wav", "speech/seriously/mixture.rttm"),
]

# the settings searched (each a list of values; the grid is their product)
GRIDS: dict[str, dict[str, list[Any]]] = {
    "current": {
        "cluster_threshold": [0.8, 1.0, 1.2],
        "change_penalty": [10.0, 20.0, 40.0],
        "bic_weight": [0.8, 1.2, 1.6],
        "embed_change_penalty": [5.0, 10.0, 20.0],
    },
    # how far apart two clusters' voices must be for the voice check to keep them apart
    # (2.0: never, the BIC alone, as before December 2026)
    "voices": {"voice_merge_margin": [0.06, 0.08, 0.10, 0.12, 0.14, 0.16, 2.0]},
    # the speaker-embedding side weighted more or less against the MFCC models
    "embed": {
        "cluster_threshold": [0.8, 1.0, 1.2],
        "embed_scale": [5.0, 10.0, 20.0],
        "embed_mfcc_weight": [0.0, 0.3, 1.0],
        "embed_change_penalty": [5.0, 10.0, 20.0],
    },
    # windows clustered on voice-encoder d-vectors instead of MFCC statistics
    "dvec": {
        "cluster_on": ["embeddings"],
        "window_s": [1.0, 1.5, 2.0],
        "cluster_threshold": [0.9, 1.0, 1.1, 1.2],
        "bic_weight": [0.8, 1.2, 1.6],
        "change_penalty": [10.0, 20.0],
    },
    # d-vector clusters, no BIC merging, turns drawn mostly by the d-vectors
    "dvec2": {
        "cluster_on": ["embeddings"],
        "window_s": [1.5],
        "window_hop_s": [0.5],
        "cluster_threshold": [0.9, 1.0, 1.1, 1.2],
        "bic_weight": [0.0],
        "embed_mfcc_weight": [0.0, 0.3],
        "embed_change_penalty": [5.0, 10.0, 20.0],
        "embed_window_s": [0.8, 1.2],
    },
    # CAM++ window clusters (vigcv.audio.campplus), then the MFCC models and the voice encoder's
    # turns as shipped
    "campplus": {
        "cluster_on": ["campplus"],
        "window_s": [1.5, 2.0],
        "window_hop_s": [0.75, 2.0],
        "cluster_threshold": [0.8, 0.85, 0.9, 0.95, 1.0, 1.05],
        "change_penalty": [10.0, 20.0],
        "embed_change_penalty": [10.0, 20.0],
    },
    # the shipped clustering windows on MFCC statistics (before December 2026's CAM++)
    "mfcc": {
        "cluster_on": ["mfcc"],
        "window_s": [2.0],
        "window_hop_s": [1.0],
        "cluster_threshold": [0.8, 1.0, 1.2],
        "change_penalty": [10.0, 20.0, 40.0],
        "bic_weight": [0.8, 1.2, 1.6],
        "embed_change_penalty": [5.0, 10.0, 20.0],
    },
    # as dvec2, with small clusters folded more or less and BIC merging on or off
    "dvec3": {
        "cluster_on": ["embeddings"],
        "window_s": [1.5],
        "window_hop_s": [0.5],
        "cluster_threshold": [1.0, 1.1, 1.2],
        "min_cluster_s": [3.0, 6.0],
        "bic_weight": [0.0, 1.2],
        "embed_mfcc_weight": [0.3],
        "embed_change_penalty": [10.0, 20.0],
        "embed_window_s": [0.8, 1.2],
    },
}


# the recording conditions each one-voice cut is heard under (``variants(one_voice=True)``)
ONE = ("as recorded", "noise 10 dB", "reverb 0.5 s", "far+noise+reverb")

#: speech.csv fills a speaker's pauses up to this long; DER is scored on what it writes
FILL_PAUSE_S = float(load_config()["audio"]["fill_pause_s"])


def extra_files() -> list[tuple[str, str, str]]:
    """``FILES`` entries (absolute paths) for :mod:`vigcv.evaluation.extra_speech`'s recordings."""
    import tempfile

    from vigcv.evaluation.extra_speech import fetch_extra_speech

    folder = Path(tempfile.gettempdir()) / "vigcv-bench" / "speech-extra"
    return [(name, str(wav), str(rttm)) for name, wav, rttm in fetch_extra_speech(folder)]


def front_end(
    path: Path, config: dict[str, Any], *, with_fbank: bool = False
) -> tuple[AcousticFrames, list[Segment]]:
    """The acoustic frames and speech segments the pipeline clusters, for one recording."""
    seen: dict[str, Any] = {}
    original = extract_module.speaker_segments

    def spy(frames: AcousticFrames, segments: list[Segment], *, config: dict) -> pd.DataFrame:
        seen["frames"], seen["segments"] = frames, segments
        return original(frames, segments, config=config)

    extract_module.speaker_segments = spy  # type: ignore[assignment]
    if with_fbank:  # CAM++'s filter bank too, for the campplus grid (the rest is the same)
        config = {**config, "audio": {**config["audio"], "cluster_on": "campplus"}}
    try:
        extract_module.extract_audio(path, config=config)
    finally:
        extract_module.speaker_segments = original  # type: ignore[assignment]
    return seen["frames"], seen["segments"]


def run(
    frames: AcousticFrames, segments: list[Segment], base: dict[str, Any], setting: dict[str, Any]
) -> pd.DataFrame:
    """:func:`cluster_speakers` with one setting (``cluster_on`` is a keyword, the rest config)."""
    rest = {k: v for k, v in setting.items() if k != "cluster_on"}
    on = str(setting.get("cluster_on", "mfcc"))
    return cluster_speakers(frames, segments, config={**base, **rest}, cluster_on=on)


def score(ref: pd.DataFrame, table: pd.DataFrame) -> tuple[float, float, int]:
    """DER, speaker-change F1 and the number of speakers found, of the clusters as speech.csv
    gives them (a speaker's short pauses filled, ``[audio] fill_pause_s``)."""
    hyp = fill_pauses(table.assign(speaker=table["cluster"]), max_gap_s=FILL_PAUSE_S)
    der = diarization_error_rate(ref, hyp)["der"]
    chg = change_f1(ref, hyp, collar=0.25)["f1"]
    return float(der), float(chg), int(hyp["speaker"].nunique())


def variants(
    eval_dir: Path, config: dict[str, Any], *, one_voice: bool = False, with_fbank: bool = False
) -> list[tuple[str, str, Any, Any, Any]]:
    """(recording, variant, frames, segments, reference) for each recording as recorded, under
    each recording condition, and re-cut with known gaps (as recorded and far+noise+reverb);
    with ``one_voice``, also each speaker with 8 s of speech or more alone (their stretches
    re-cut with 0.5 / 1 s gaps; as recorded, noisy, reverberant, far+noise+reverb): a
    recording of one voice, where any second speaker found is wrong."""
    import tempfile

    import soundfile as sf

    from vigcv.evaluation.conditions import CONDITIONS, degrade, recut, speech_samples
    from vigcv.io import load_audio

    gaps = ((0.3, 0.8, 1.5, -0.4), (0.2, 0.5), (1.0, 2.0))
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = Path(tmp) / "variant.wav"
        for name, wav, rttm in FILES:
            audio, ref = load_audio(eval_dir / wav, rate=16000), read_rttm(eval_dir / rttm)
            made = [(c.name, audio, ref, c) for c in CONDITIONS]
            for g in gaps:
                cut, known = recut(audio, ref, rate=16000, gaps_s=g)
                label = "recut " + ",".join(f"{x:g}" for x in g)
                made += [
                    (label, cut, known, c)
                    for c in CONDITIONS
                    if c.name in ("as recorded", "far+noise+reverb")
                ]
            for speaker, turns in ref.groupby("speaker") if one_voice else ():
                if (turns["end"] - turns["start"]).sum() < 8.0:
                    continue
                cut, known = recut(audio, turns, rate=16000, gaps_s=(0.5, 1.0))
                label = f"one voice {speaker}"
                made += [(label, cut, known, c) for c in CONDITIONS if c.name in ONE]
            for label, y, reference, condition in made:
                mask = speech_samples(reference, n=y.size, rate=16000)
                sf.write(wav_path, degrade(y, rate=16000, speech=mask, condition=condition), 16000)
                frames, segments = front_end(wav_path, config, with_fbank=with_fbank)
                out.append((name, f"{label} / {condition.name}", frames, segments, reference))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--grid", default="current", choices=sorted(GRIDS))
    parser.add_argument(
        "--extra",
        action="store_true",
        help="also the two recordings of pyAudioAnalysis's diarization example (four and six "
        "speakers; fetched once into $TMPDIR/vigcv-bench/speech-extra): settings are then chosen "
        "on the three recordings other than the one scored",
    )
    parser.add_argument(
        "--one-voice",
        action="store_true",
        help="with --variants: also each speaker alone (one voice, where a second speaker found "
        "is wrong), in the other recordings' choice and reported per recording",
    )
    parser.add_argument(
        "--variants",
        action="store_true",
        help="choose on every variant of the other recording (its recording conditions and "
        "re-cut turns) and score this recording's variants too",
    )
    args = parser.parse_args()
    if not (args.eval / "speech").is_dir():
        print(f"{args.eval / 'speech'} not found: nothing to measure")
        return
    config = load_config()
    base = config["audio"]
    if args.extra:
        FILES.extend(extra_files())
    if args.variants:
        main_variants(args.eval, config, args.grid, one_voice=args.one_voice)
        return
    grid = GRIDS[args.grid]
    with_fbank = "campplus" in grid.get("cluster_on", [])
    data = []
    for name, wav, rttm in FILES:
        frames, segments = front_end(args.eval / wav, config, with_fbank=with_fbank)
        data.append((name, frames, segments, read_rttm(args.eval / rttm)))
    keys = list(grid)
    settings = [
        dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())
    ]
    results = np.zeros((len(settings), len(data), 3))
    for i, setting in enumerate(settings):
        for j, (_, frames, segments, ref) in enumerate(data):
            table = run(frames, segments, base, setting)
            results[i, j] = score(ref, table)
    print(f"grid '{args.grid}': {len(settings)} settings of {', '.join(keys)}")
    print(f"{'recording':<19} {'setting':<8} {'DER':>6} {'chg F1':>7} {'spk':>4}  chosen on")
    for j, (name, frames, segments, ref) in enumerate(data):
        shipped = score(ref, cluster_speakers(frames, segments, config=base))
        print(f"{name:<19} {'shipped':<8} {shipped[0]:6.3f} {shipped[1]:7.3f} {shipped[2]:>4}")
        others = [k for k in range(len(data)) if k != j]
        loss = sum(results[:, k, 0] + (1.0 - results[:, k, 1]) for k in others)
        # settings tied on the other recording cannot be told apart there: the held-out figure
        # is their mean (what a random pick among them scores), with the range
        tied = np.flatnonzero(loss <= loss.min() + 1e-9)
        der, chg = results[tied, j, 0].mean(), results[tied, j, 1].mean()
        spk = ",".join(str(int(v)) for v in sorted(set(results[tied, j, 2])))
        spread = (
            f"DER {results[tied, j, 0].min():.3f}-{results[tied, j, 0].max():.3f}, "
            f"F1 {results[tied, j, 1].min():.3f}-{results[tied, j, 1].max():.3f}"
        )
        chosen = ", ".join(f"{k}={v}" for k, v in settings[int(tied[0])].items())
        print(f"{name:<19} {'LORO':<8} {der:6.3f} {chg:7.3f} {spk:>4}  {len(tied)} tied ({spread})")
        print(f"{'':<19} {'':<8} {'':>6} {'':>7} {'':>4}  first: {chosen}")
        oracle = int(np.argmin(results[:, j, 0] + (1.0 - results[:, j, 1])))
        der, chg, spk = results[oracle, j]
        print(f"{name:<19} {'in-samp':<8} {der:6.3f} {chg:7.3f} {int(spk):>4}  (best on itself)")


def main_variants(
    eval_dir: Path, config: dict[str, Any], grid_name: str, *, one_voice: bool = False
) -> None:
    """Settings chosen on all variants of the other recordings (mean DER + 1 - change F1),
    scored on this recording as recorded and on its variants (mean; the one-voice cuts apart:
    how many of them are heard as one speaker)."""
    base = config["audio"]
    with_fbank = "campplus" in GRIDS[grid_name].get("cluster_on", [])
    data = variants(eval_dir, config, one_voice=one_voice, with_fbank=with_fbank)
    grid = GRIDS[grid_name]
    keys = list(grid)
    settings = [
        dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())
    ]
    results = np.zeros((len(settings), len(data), 3))
    for i, setting in enumerate(settings):
        for j, (_, _, frames, segments, ref) in enumerate(data):
            results[i, j] = score(ref, run(frames, segments, base, setting))
    shipped = np.array([score(r, cluster_speakers(f, s, config=base)) for _, _, f, s, r in data])
    names = [d[0] for d in data]
    alone = np.array([d[1].startswith("one voice") for d in data])
    print(f"grid '{grid_name}': {len(settings)} settings; {len(data)} variants")
    head = f"{'recording':<19} {'setting':<9} {'DER':>6} {'chg F1':>7}  {'variants DER / F1':>18}"
    print(head + ("  one voice as one" if one_voice else ""))
    for name, _, _ in FILES:
        mine = [j for j, n in enumerate(names) if n == name and not alone[j]]
        ones = [j for j, n in enumerate(names) if n == name and alone[j]]
        other = [j for j, n in enumerate(names) if n != name]
        first = mine[0]  # as recorded
        loss = (results[:, other, 0] + 1.0 - results[:, other, 1]).mean(axis=1)
        tied = np.flatnonzero(loss <= loss.min() + 1e-9)
        for label, rows in (("shipped", shipped[None]), ("LORO", results[tied])):
            der, chg = rows[:, first, 0].mean(), rows[:, first, 1].mean()
            vder, vchg = rows[:, mine, 0].mean(), rows[:, mine, 1].mean()
            line = f"{name:<19} {label:<9} {der:6.3f} {chg:7.3f}  {vder:8.3f} / {vchg:.3f}"
            if ones:
                kept = (rows[:, ones, 2] == 1).sum(axis=1).mean()
                line += f"  {kept:.1f} of {len(ones)}"
            print(line)
        chosen = ", ".join(f"{k}={v}" for k, v in settings[int(tied[0])].items())
        print(f"{'':<19} {len(tied)} tied; first: {chosen}")


if __name__ == "__main__":
    main()
