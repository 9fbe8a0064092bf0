"""DER, VAD F1, change F1 and latency errors against hand computations on tiny made-up RTTMs."""

from __future__ import annotations

import pandas as pd
import pytest

from vigcv.evaluation.speech import (
    RttmError,
    change_f1,
    diarization_error_rate,
    latency_errors,
    read_rttm,
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
