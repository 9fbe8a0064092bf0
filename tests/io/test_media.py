"""Ingest: containers, variable frame rate, rotation, timestamps, audio, streaming, bad files."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from tests.builders import truncate, write_audio, write_video
from vigcv.errors import MediaError
from vigcv.io import iter_audio, iter_frames, load_audio, probe
from vigcv.io.media import in_presentation_order

CONTAINERS = {
    ".mp4": {},
    ".mov": {},
    ".m4v": {"container": "mp4"},
    ".avi": {},
    ".mkv": {},
    ".webm": {"codec": "libvpx-vp9", "audio_rate": 48000},
    ".3gp": {"container": "3gp"},
}


@pytest.mark.parametrize("ext", sorted(CONTAINERS))
def test_every_video_container_is_read(tmp_path: Path, ext: str) -> None:
    path = write_video(tmp_path / f"clip{ext}", seconds=2.0, fps=25, **CONTAINERS[ext])
    info = probe(path)
    assert info.has_video and info.has_audio
    assert (info.width, info.height) == (160, 120)
    assert info.duration == pytest.approx(2.0, abs=0.15)
    times = [f.t for f in iter_frames(path, fps=10)]
    assert 18 <= len(times) <= 21
    assert np.all(np.diff(times) > 0)


@pytest.mark.parametrize("ext", [".wav", ".flac", ".m4a", ".mp3"])
def test_audio_only_files_give_mono_16k(tmp_path: Path, ext: str) -> None:
    path = write_audio(tmp_path / f"talk{ext}", seconds=2.0)
    info = probe(path)
    assert not info.has_video and info.has_audio
    samples = load_audio(path, rate=16000)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert len(samples) / 16000 == pytest.approx(2.0, abs=0.06)
    # the 440 Hz tone survives resampling: the spectrum peaks there
    spectrum = np.abs(np.fft.rfft(samples[2000:18000]))
    peak_hz = np.argmax(spectrum) * 16000 / 16000
    assert peak_hz == pytest.approx(440, abs=3)


def test_frames_are_sampled_at_the_analysis_rate_with_real_times(tmp_path: Path) -> None:
    path = write_video(tmp_path / "c.mp4", seconds=4.0, fps=30)
    source = np.arange(120) / 30
    frames = list(iter_frames(path, fps=10))
    times = np.array([f.t for f in frames])
    assert len(frames) == pytest.approx(40, abs=1)
    assert np.all(np.abs(times[:, None] - source[None, :]).min(axis=1) < 1e-3)  # real times
    assert np.diff(times).max() < 0.11
    assert [f.index for f in frames] == list(range(len(frames)))


def test_variable_frame_rate_keeps_presentation_times(tmp_path: Path) -> None:
    gaps = np.random.default_rng(3).uniform(0.03, 0.2, 60)
    source = np.concatenate([[0.0], np.cumsum(gaps)])
    path = write_video(tmp_path / "vfr.mp4", times=source, fps=30)
    times = np.array([f.t for f in iter_frames(path, fps=10)])
    assert np.all(np.diff(times) > 0)
    assert np.all(np.abs(times[:, None] - source[None, :]).min(axis=1) < 1e-3)
    # never sparser than the source allows, never denser than the analysis rate
    assert np.diff(times).min() >= 0.05
    assert len(times) >= 0.8 * min(len(source), source[-1] * 10)


def test_every_decoded_frame_when_fps_is_zero(tmp_path: Path) -> None:
    path = write_video(tmp_path / "c.mp4", seconds=1.0, fps=25)
    assert len(list(iter_frames(path, fps=0))) == 25


def test_out_of_order_and_repeated_timestamps_come_out_strictly_increasing() -> None:
    raw = [(0.0, "a"), (0.1, "b"), (0.1, "dup"), (0.3, "d"), (0.2, "c"), (0.4, "e"), (0.05, "late")]
    out = list(in_presentation_order(raw, depth=2))
    times = [t for t, _ in out]
    assert times == sorted(set(times))
    assert [x for _, x in out] == ["a", "b", "c", "d", "e"]  # c and d swapped back in order
    late = list(in_presentation_order([(1.0, "a"), (2.0, "b"), (0.5, "too late")], depth=0))
    assert [x for _, x in late] == ["a", "b"]


@pytest.mark.parametrize(
    ("rotation", "shape", "red_at"), [(90, (160, 120), (-5, 5)), (-90, (160, 120), (5, -5))]
)
def test_phone_rotation_is_applied(
    tmp_path: Path, rotation: int, shape: tuple, red_at: tuple
) -> None:
    path = write_video(tmp_path / "phone.mp4", rotation=rotation, seconds=0.5)
    info = probe(path)
    assert (info.height, info.width) == shape
    frame = next(iter(iter_frames(path, fps=10)))
    assert frame.rgb.shape[:2] == shape
    # the red top-left quadrant of the stored picture moves where the display rotation puts it
    r, g, b = frame.rgb[red_at].astype(int)
    assert r > 180 and g < 80 and b < 80


def test_a_phones_hevc_film_at_60_fps_in_portrait_is_read_upright(tmp_path: Path) -> None:
    # Phones store HEVC (H.265) at 30 or 60 fps by default, a portrait film as a landscape picture
    # with a display rotation; measured (8 December 2026) a real clip re-encoded so gives the same
    # answers at 92-100% of the timeline (docs/benchmarks.md, "A phone's format").
    path = write_video(
        tmp_path / "iphone.mov",
        codec="libx265",
        fps=60,
        seconds=1.0,
        width=160,
        height=96,
        rotation=90,
    )
    info = probe(path)
    assert info.has_video and info.has_audio
    assert (info.width, info.height) == (96, 160)  # upright: portrait
    assert info.duration == pytest.approx(1.0, abs=0.1)
    frames = list(iter_frames(path, fps=10))
    assert 9 <= len(frames) <= 11  # sampled at the analysis rate, not all 60 a second
    assert all(f.rgb.shape[:2] == (160, 96) for f in frames)
    assert np.all(np.diff([f.t for f in frames]) > 0)


def test_frames_are_scaled_down_to_max_side(tmp_path: Path) -> None:
    path = write_video(tmp_path / "big.mp4", width=640, height=480, seconds=0.4)
    frame = next(iter(iter_frames(path, fps=10, max_side=320)))
    assert frame.rgb.shape == (240, 320, 3)
    assert frame.scale == pytest.approx(0.5)


def test_audio_is_aligned_and_streamed_in_blocks(tmp_path: Path) -> None:
    path = write_video(tmp_path / "c.mp4", seconds=3.0)
    blocks = list(iter_audio(path, rate=16000, block_s=1.0))
    assert [b.t for b in blocks[:3]] == [0.0, 1.0, 2.0]
    assert all(len(b.samples) == 16000 for b in blocks[:3])


def test_video_without_audio(tmp_path: Path) -> None:
    path = write_video(tmp_path / "silent.mp4", audio=False)
    info = probe(path)
    assert info.has_video and not info.has_audio
    with pytest.raises(MediaError, match="has no audio stream"):
        list(iter_audio(path))


def test_decoding_memory_does_not_grow_with_length(tmp_path: Path) -> None:
    path = write_video(
        tmp_path / "long.mp4", seconds=30.0, fps=25, width=320, height=240, audio=False
    )
    tracemalloc.start()
    count = 0
    for frame in iter_frames(path, fps=25):
        count += frame.rgb.size > 0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    frame_bytes = 320 * 240 * 3
    assert count == 750
    assert peak < 15 * frame_bytes  # all frames would be 750 frames' worth


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.mp4", "no such file"),
        (lambda d: (d / "empty.mp4").write_bytes(b"") or d / "empty.mp4", "empty"),
        (
            lambda d: (d / "notes.mp4").write_text("shopping list\n" * 50) and d / "notes.mp4",
            "not a readable video",
        ),
        (lambda d: truncate(write_video(d / "ok.mp4"), d / "cut.mp4"), "not a readable video"),
        (lambda d: d, "is a folder"),
    ],
    ids=["missing", "zero-byte", "text-as-mp4", "truncated", "folder"],
)
def test_bad_files_give_one_line_errors_naming_the_file(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(MediaError) as err:
        probe(path)
    text = str(err.value)
    assert message in text
    assert str(path) in text
    assert "\n" not in text


def test_real_clip_decodes_in_order(shared_eval: Path) -> None:
    clip = shared_eval / "parent-child" / "6c6MZQ.joke1.rep1.take1.ThatsNotAHat.mp4"
    info = probe(clip)
    assert info.duration == pytest.approx(17.16, abs=0.1)
    times = np.array([f.t for f in iter_frames(clip, fps=10)])
    assert np.all(np.diff(times) > 0)
    assert 150 <= len(times) <= 175
    audio = load_audio(clip)
    assert len(audio) / 16000 == pytest.approx(info.duration, abs=0.1)
