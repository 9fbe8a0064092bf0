"""Re-filming a labelled recording (vigcv.evaluation.filming): the picture changes, every frame
keeps its time, the sound stays."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.builders import write_audio, write_video
from vigcv.errors import MediaError
from vigcv.evaluation.filming import FILMINGS, refilm, refilm_frame
from vigcv.io import load_audio, probe

TIMES_MS = (0, 40, 80, 200, 233, 300, 480, 520)  # a variable frame rate, as the webcam clips


def _source(path: Path) -> Path:
    """A 64x48 film with frames at TIMES_MS (a variable frame rate) and a 440 Hz tone."""
    return write_video(path, times=[ms / 1000 for ms in TIMES_MS], width=64, height=48)


def _frames(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as src:
        return [(float(f.time), f.to_ndarray(format="rgb24")) for f in src.decode(video=0)]


@pytest.mark.parametrize("filming", sorted(FILMINGS))
def test_each_filming_keeps_every_frame_time_and_the_sound(tmp_path, filming):
    source = _source(tmp_path / "source.mp4")
    made = refilm(source, tmp_path / "made.mp4", filming)
    before, after = _frames(source), _frames(made)
    assert [round(t, 3) for t, _ in after] == [round(t, 3) for t, _ in before]
    audio = load_audio(made, rate=16000)
    assert audio.size > 0.4 * 16000 and np.abs(audio).max() > 0.1  # the tone is still there
    assert probe(made).has_video and probe(made).has_audio
    assert not list(tmp_path.glob("*.part.mp4"))  # written whole, then moved into place


def test_the_pictures_change_as_named(tmp_path):
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:, 32:] = 200
    assert (
        refilm_frame(rgb, "mirror")[0, 0, 0] == 200 and refilm_frame(rgb, "mirror")[0, -1, 0] == 0
    )
    assert refilm_frame(rgb, "half").shape == (24, 32, 3)
    far = refilm_frame(rgb, "far")
    assert far.shape == (720, 1280, 3) and (far[:100] == 90).all()  # the picture small, grey around
    assert refilm_frame(rgb, "dim")[0, -1, 0] < 200
    assert refilm_frame(rgb, "soft")[0, 31, 0] > 0  # the edge blurred
    assert (refilm_frame(rgb, "low bitrate") == rgb).all()  # only its encoding differs
    with pytest.raises(ValueError, match="unknown filming"):
        refilm_frame(rgb, "sepia")


def test_a_file_without_a_picture_is_a_one_line_error(tmp_path):
    silent = write_audio(tmp_path / "sound.m4a")
    with pytest.raises(MediaError, match=r"sound\.m4a: no video stream"):
        refilm(silent, tmp_path / "made.mp4", "mirror")
    assert not (tmp_path / "made.mp4").exists()
