"""DER, JER, VAD F1, change F1 and latency errors against hand computations on tiny made-up
RTTMs; `vigcv evaluate --rttm` and the benchmark's functions agree; speech.rttm round trip."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vigcv.evaluation.speech import (
    SPEECH_EVALUATION_FILE,
    RttmError,
    attribution_accuracy,
    change_f1,
    diarization_error_rate,
    evaluate_speech,
    jaccard_error_rate,
    latency_errors,
    read_rttm,
    score_speech,
    speaker_mapping,
    vad_f1,
)


def table(rows: list[tuple[float, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["start", "end", "speaker"])


def test_read_rttm(tmp_path):
    path = tmp_path / "x.rttm"
    path.write_text(
        "SPEAKER x 1 0.50 1.25 <NA> <NA> alice <NA> <NA>\n"
        "\n"
        "SPEAKER x 1 0.00 0.40 <NA> <NA> bob <NA> <NA>\n"
    )
    got = read_rttm(path)
    assert list(got["speaker"]) == ["bob", "alice"]
    assert got["end"].iloc[1] == pytest.approx(1.75)
    path.write_text("SPEAKER x 1 zero 1 <NA> <NA> a <NA> <NA>\n")
    with pytest.raises(RttmError, match=":1:"):
        read_rttm(path)


def test_der_by_hand():
    # reference: A 0-4, B 3-6 (overlap 3-4), total reference speech 4 + 3 = 7 s
    ref = table([(0, 4, "A"), (3, 6, "B")])
    # hypothesis: x 0-3.5, y 3.5-7 (no overlap); best map x->A, y->B
    hyp = table([(0, 3.5, "x"), (3.5, 7, "y")])
    # 0-3: A/x correct. 3-3.5: A,B vs x -> missed 0.5 (one speaker not covered), A correct.
    # 3.5-4: A,B vs y -> missed 0.5, B correct. 4-6: B/y correct. 6-7: y false alarm 1.0.
    got = diarization_error_rate(ref, hyp)
    assert got["total"] == pytest.approx(7.0)
    assert got["missed"] == pytest.approx(1.0)
    assert got["false_alarm"] == pytest.approx(1.0)
    assert got["confusion"] == pytest.approx(0.0)
    assert got["der"] == pytest.approx(2.0 / 7.0)
    assert speaker_mapping(ref, hyp) == {"x": "A", "y": "B"}


def test_der_confusion_and_hungarian():
    ref = table([(0, 2, "A"), (2, 5, "B"), (5, 6, "A")])
    hyp = table([(0, 2, "z"), (2, 6, "w")])
    # shared time: A-z 2 s, A-w 1 s, B-w 3 s; the best one-to-one map is z->A, w->B (5 s),
    # not w->A (1 s); then 5-6 is A labelled w: confusion 1 s of 6 s
    got = diarization_error_rate(ref, hyp)
    assert speaker_mapping(ref, hyp) == {"z": "A", "w": "B"}
    assert got["confusion"] == pytest.approx(1.0)
    assert got["der"] == pytest.approx(1.0 / 6.0)


def test_vad_f1_by_hand():
    ref = table([(0.0, 1.0, "A")])
    hyp = table([(0.5, 1.5, "x")])
    # 10 ms frames over 2 s: ref 100 frames, hyp 100 frames, overlap 50 frames
    got = vad_f1(ref, hyp, duration=2.0)
    assert got["precision"] == pytest.approx(0.5)
    assert got["recall"] == pytest.approx(0.5)
    assert got["f1"] == pytest.approx(0.5)
    assert vad_f1(ref, ref, duration=2.0)["f1"] == 1.0


def test_change_f1_and_latency():
    ref = table([(0, 2, "A"), (2.5, 4, "B"), (4.0, 6, "A"), (4.5, 5.0, "B")])
    # switches: B at 2.5 (latency 0.5), A at 4.0 (latency 0.0); B 4.5-5 is a back-channel
    hyp = table([(0, 2.1, "x"), (2.7, 4.3, "y"), (4.3, 6, "x")])
    # hypothesis switches at 2.7 (hit, 0.2 s off) and 4.3 (miss: 0.3 s > 0.25 s collar)
    got = change_f1(ref, hyp, collar=0.25)
    assert got["precision"] == pytest.approx(0.5)
    assert got["recall"] == pytest.approx(0.5)
    errors = latency_errors(ref, hyp, tolerance=1.0)
    assert list(errors["ref_latency_s"]) == pytest.approx([0.5, 0.0])
    assert list(errors["hyp_latency_s"]) == pytest.approx([0.6, 0.0])
    assert list(errors["error_s"]) == pytest.approx([0.1, 0.0])


def test_jer_by_hand():
    # A 0-4 mapped to x 0-3.5: |A ∩ x| = 3.5, |A ∪ x| = 4 -> 1/8 error
    # B 3-6 mapped to y 3.5-7: |B ∩ y| = 2.5, |B ∪ y| = 4 -> 3/8 error; JER the mean
    ref = table([(0, 4, "A"), (3, 6, "B")])
    hyp = table([(0, 3.5, "x"), (3.5, 7, "y")])
    assert jaccard_error_rate(ref, hyp) == pytest.approx((0.5 / 4 + 1.5 / 4) / 2)
    assert jaccard_error_rate(ref, ref) == pytest.approx(0.0)


def test_attribution_accuracy_names_without_mapping():
    ref = table([(0, 2, "parent"), (2, 4, "child")])
    hyp = table([(0, 2, "parent"), (2, 3, "parent")])  # 2-3 wrong, 3-4 silent
    assert attribution_accuracy(ref, hyp) == pytest.approx(0.5)


def session_folder(out: Path, name: str, speech: pd.DataFrame) -> Path:
    """A processed session folder holding only what the speech evaluation reads."""
    from vigcv.results.folder import RUN_FILE, SPEECH_FILE

    folder = out / name
    folder.mkdir(parents=True)
    (folder / RUN_FILE).write_text("{}")
    speech.to_csv(folder / SPEECH_FILE, index=False)
    return folder


def test_evaluate_rttm_agrees_with_the_benchmark_functions(tmp_path):
    from typer.testing import CliRunner

    from vigcv.cli import app

    # the pair of test_der_by_hand: DER 2/7; written as a session's speech.csv and an RTTM
    ref = table([(0, 4, "A"), (3, 6, "B")])
    hyp = table([(0, 3.5, "x"), (3.5, 7, "y")])
    out, refs = tmp_path / "out", tmp_path / "refs"
    session_folder(out, "visit1", hyp.assign(confidence=1.0))
    session_folder(out, "visit2", hyp)  # no reference: listed, not scored
    refs.mkdir()
    (refs / "visit1.session.rttm").write_text(
        "SPEAKER visit1 1 0.0 4.0 <NA> <NA> A <NA> <NA>\n"
        "SPEAKER visit1 1 3.0 3.0 <NA> <NA> B <NA> <NA>\n"
    )
    table_, unmatched = evaluate_speech(out, refs)
    assert unmatched == ["visit2"]
    row = table_.iloc[0]
    bench = score_speech(ref, hyp, collar=0.25)  # what scripts/bench_audio.py prints
    assert row["der"] == pytest.approx(2 / 7) == pytest.approx(bench["der"])
    assert row["jer"] == pytest.approx(bench["jer"])
    assert row["vad_f1"] == pytest.approx(bench["vad_f1"]) == pytest.approx(vad_f1(ref, hyp)["f1"])
    assert row["change_f1"] == pytest.approx(bench["change_f1"])
    result = CliRunner().invoke(app, ["evaluate", str(out), "--rttm", str(refs)])
    assert result.exit_code == 0, result.output
    saved = pd.read_csv(out / SPEECH_EVALUATION_FILE)
    assert list(saved["session"]) == ["visit1", "all"]
    assert saved["der"].iloc[0] == pytest.approx(2 / 7, abs=1e-4)
    nothing = CliRunner().invoke(app, ["evaluate", str(out)])
    assert nothing.exit_code != 0
    empty = tmp_path / "empty"
    empty.mkdir()
    unmatched_only = CliRunner().invoke(app, ["evaluate", str(out), "--rttm", str(empty)])
    assert unmatched_only.exit_code != 0
    assert "no session" in unmatched_only.output


def test_speech_rttm_round_trip(tmp_path):
    from vigcv.results.folder import SPEECH_RTTM, write_speech
    from vigcv.types import SpeechTrack

    segments = pd.DataFrame(
        {
            "start": [0.5, 2.0, 3.0],
            "end": [1.5, 2.75, 4.25],
            "speaker": ["parent", "unknown", "child"],
            "confidence": [0.9, 0.0, 0.8],
            "cluster": ["A", "C", "B"],
        }
    )
    speech = SpeechTrack.empty()
    speech = SpeechTrack(speech.times, speech.vad, segments, speech.turns, speech.provenance)
    folder = tmp_path / "my visit"
    folder.mkdir()
    write_speech(folder, speech)
    back = read_rttm(folder / SPEECH_RTTM)
    assert list(back["file"].unique()) == ["my_visit"]
    # roles where known, the voice cluster where the role is unknown
    assert list(back["speaker"]) == ["parent", "C", "child"]
    assert list(back["start"]) == pytest.approx([0.5, 2.0, 3.0])
    assert list(back["end"]) == pytest.approx([1.5, 2.75, 4.25])
