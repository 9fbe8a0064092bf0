"""The extra development speech (pyAudioAnalysis's diarization example): turns read as RTTM."""

from __future__ import annotations

import pytest

from vigcv.errors import VigcvError
from vigcv.evaluation.extra_speech import segments_to_rttm
from vigcv.evaluation.speech import read_rttm


def test_turn_lines_become_rttm_that_reads_back(tmp_path):
    # the archive's own format: start,end,speaker; one file ends in a blank line
    text = "0,3.7,speakerA\n3.7,7.1,speakerB\n7.1,10.6,speakerA\n\n"
    path = tmp_path / "x.rttm"
    path.write_text(segments_to_rttm(text, "x"))
    table = read_rttm(path)
    assert table["speaker"].tolist() == ["speakerA", "speakerB", "speakerA"]
    assert table["start"].tolist() == pytest.approx([0.0, 3.7, 7.1])
    assert table["end"].tolist() == pytest.approx([3.7, 7.1, 10.6])
    assert set(table["file"]) == {"x"}


def test_a_broken_turn_line_is_named():
    with pytest.raises(VigcvError, match="not start,end,speaker"):
        segments_to_rttm("0,three,speakerA\n", "x")
