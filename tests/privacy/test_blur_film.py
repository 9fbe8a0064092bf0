"""`vigcv blur` on a real analysed film (real decoding, the real CenterFace detector): the child's
face is blurred in every frame, the parent's is left as a plain re-encode leaves it, the sound is
kept, and the copy carries none of the film's metadata."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.privacy.conftest import Analysed, compare_boxes, pictures, vigcv
from vigcv.io import probe
from vigcv.privacy import BlurPlan, blur_film, blur_plan, write_film

FINE = 10  # x264 crf of the films compared: little codec noise left in a face's box


def _fine(root: Path) -> Path:
    config = root / "fine.toml"
    config.write_text(f"[export]\ncrf = {FINE}\n")
    return config


@pytest.fixture(scope="module")
def blurred(textbook: Analysed, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The film blurred keeping the parent (by the command), and a plain re-encode of it."""
    root = tmp_path_factory.mktemp("blurred")
    out_film = root / "shared.mp4"
    proc = vigcv("blur", textbook.film, out_film, "--results", textbook.session,
                 "--keep", "parent", "--config", _fine(root))  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "every other face blurred" in proc.stdout
    plain = write_film(textbook.film, root / "plain.mp4", crf=FINE).path
    return out_film, plain


def test_the_child_is_blurred_in_every_frame_and_the_parent_untouched(
    textbook: Analysed, blurred: tuple[Path, Path]
) -> None:
    out_film, plain = blurred
    boxes = compare_boxes(textbook.truth, textbook.film, out_film, plain)
    child, parent = boxes[boxes.role == "child"], boxes[boxes.role == "parent"]
    assert len(child) == len(parent) == len(pictures(textbook.film))  # every frame, both seen
    # measured: the child's sharpness about 0.005 of the original's (max 0.008)
    assert child.vs_original.max() < 0.05, child.vs_original.describe()
    # the parent's box: as sharp as in a plain re-encode, and as near the original
    assert parent.vs_plain.between(0.85, 1.15).all(), parent.vs_plain.describe()
    assert (parent.change - parent.codec_change).abs().max() < 1.0
    assert (child.change - child.codec_change).min() > 10.0  # grey levels


def test_the_sound_is_kept_in_sync(textbook: Analysed, blurred: tuple[Path, Path]) -> None:
    out_film, _ = blurred
    source, copy = probe(textbook.film), probe(out_film)
    assert copy.has_audio and copy.audio_codec == "aac"
    assert copy.duration == pytest.approx(source.duration, abs=0.1)
    assert (copy.width, copy.height) == (source.width, source.height)
    from vigcv.io import load_audio

    a, b = load_audio(textbook.film), load_audio(out_film)
    assert abs(a.size - b.size) < 0.05 * 16000
    # the same sound at the same time: the envelopes (20 ms RMS) correlate without a shift
    n = min(a.size, b.size) // 320 * 320
    env_a = np.sqrt((a[:n].reshape(-1, 320) ** 2).mean(axis=1))
    env_b = np.sqrt((b[:n].reshape(-1, 320) ** 2).mean(axis=1))
    lags = range(-5, 6)
    corr = [np.corrcoef(np.roll(env_a, k), env_b)[0, 1] for k in lags]
    assert list(lags)[int(np.argmax(corr))] in (-1, 0, 1)  # within 20 ms (AAC priming)
    assert max(corr) > 0.9


def test_a_part_of_the_film(textbook: Analysed, tmp_path: Path) -> None:
    plan = blur_plan(textbook.session, ["parent", "child"])
    made = blur_film(textbook.film, tmp_path / "part.mp4", plan=plan, start=2.0, end=5.0)
    info = probe(made.path)
    assert info.duration == pytest.approx(3.0, abs=0.1)
    assert made.frames == 75  # 25 fps
    assert made.blur is not None and made.blur.tracked_boxes == 0  # both kept
    assert made.audio_samples > 0


def test_the_copy_carries_no_location_or_device_metadata(tmp_path: Path) -> None:
    source = tmp_path / "phone.mp4"
    tags = {"location": "+51.5072-000.1276/", "make": "Apple", "model": "iPhone 12",
            "creation_time": "2026-01-10T10:00:00Z", "title": "Lee family visit"}  # fmt: skip
    with av.open(str(source), mode="w", format="mp4",
                 options={"movflags": "use_metadata_tags"}) as out:  # fmt: skip
        out.metadata.update(tags)
        v = out.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.metadata.update({"handler_name": "Core Media Video", "make": "Apple"})
        a = out.add_stream("aac", rate=16000)
        a.layout = "mono"
        a.metadata.update({"handler_name": "Core Media Audio"})
        for i in range(30):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 8 * i, np.uint8), "rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode(None):
            out.mux(packet)
        tone = (0.1 * np.sin(np.arange(48000) / 16000 * 2 * np.pi * 440)).astype(np.float32)
        for i in range(0, tone.size, 1024):
            frame = av.AudioFrame.from_ndarray(tone[None, i : i + 1024].copy(), "fltp", "mono")
            frame.sample_rate, frame.pts, frame.time_base = 16000, i, Fraction(1, 16000)
            for packet in a.encode(frame):
                out.mux(packet)
        for packet in a.encode(None):
            out.mux(packet)
    with av.open(str(source)) as f:
        assert {"location", "make", "creation_time"} <= set(f.metadata)  # the source has them
    plan = BlurPlan(tracks=None, keep=frozenset())  # nobody tracked: every face found blurred
    made = blur_film(source, tmp_path / "copy.mp4", plan=plan)
    with av.open(str(made.path)) as f:
        container = dict(f.metadata)
        streams = [dict(s.metadata) for s in f.streams]
        assert len(f.streams.audio) == 1
    assert set(container) <= {"major_brand", "minor_version", "compatible_brands", "encoder"}
    for stream in streams:
        assert set(stream) <= {"language", "handler_name", "vendor_id", "encoder"}, stream
        assert "Core Media" not in stream.get("handler_name", "")
    data = made.path.read_bytes()
    for word in (b"Apple", b"iPhone", b"+51.5072", b"Lee family", b"2026-01-10"):
        assert word not in data


def test_clear_one_line_errors(textbook: Analysed, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.mp4"
    proc = vigcv("blur", missing, tmp_path / "o.mp4", "--results", textbook.session)
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0
    assert str(missing) in proc.stderr and "no such film" in proc.stderr
    proc = vigcv("blur", textbook.film, tmp_path / "o.mp4", "--results", tmp_path)
    assert proc.returncode != 0 and proc.stderr.strip().count("\n") == 0
    assert str(tmp_path) in proc.stderr and "not a session folder" in proc.stderr
    proc = vigcv(
        "blur", textbook.film, tmp_path / "o.mp4", "--results", textbook.session, "--keep", "Dad"
    )
    assert proc.returncode != 0 and proc.stderr.strip().count("\n") == 0
    assert "no one called 'Dad'" in proc.stderr
    assert not (tmp_path / "o.mp4").exists()


@pytest.fixture(scope="module")
def siblings(tmp_path_factory: pytest.TempPathFactory) -> Analysed:
    from tests.privacy.conftest import analyse

    return analyse("siblings", tmp_path_factory.mktemp("privacy-siblings"))


def _person_of(session: Path, truth, role: str) -> int:
    """The person id whose face boxes lie where the script's ``role`` sits (median centres
    within half a face's width): whom a guider would name from the thumbnails."""
    from vigcv.results import read_features

    features = read_features(session)
    centre = features.assign(cx=features.x + features.w / 2).groupby("person").cx.median()
    rows = truth[truth.role == role]
    target = float((rows.x + rows.w / 2).median())
    distance = (centre - target).abs()
    assert distance.min() < 0.5 * float(rows.w.median()), f"the analysis found no {role}"
    return int(distance.idxmin())


def _blur_siblings(siblings: Analysed, root: Path) -> None:
    """`vigcv blur --keep parent,child` on the siblings session; the sibling's box blurred in
    every frame it is visible, the parent's and the child's as a plain re-encode leaves them."""
    out_film = root / "shared.mp4"
    proc = vigcv("blur", siblings.film, out_film, "--results", siblings.session,
                 "--keep", "parent,child", "--config", _fine(root))  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plain = write_film(siblings.film, root / "plain.mp4", crf=FINE).path
    truth = siblings.truth[siblings.truth["visible"].astype(bool)]
    boxes = compare_boxes(truth, siblings.film, out_film, plain)
    sibling = boxes[boxes.role == "sibling"]
    shown = boxes[boxes.role.isin(["parent", "child"])]
    assert len(sibling) >= 0.9 * len(pictures(siblings.film))
    assert sibling.vs_original.max() < 0.05, sibling.vs_original.describe()
    # measured (crf 10): sibling 0.0035 (max 0.005) of the original's sharpness; parent and child
    # 0.89-1.04 of a plain re-encode's, within 0.45 grey levels of its distance to the original
    assert shown.vs_plain.between(0.85, 1.15).all(), shown.groupby("role").vs_plain.describe()
    assert (shown.change - shown.codec_change).abs().max() < 1.0


def test_siblings_once_the_guider_marks_the_index_child(siblings: Analysed, tmp_path: Path) -> None:
    """The issue's acceptance test, after the guider has named the mother as a parent figure and
    the little one as the index child on the review page (the sibling, never named, may not be
    shown)."""
    from vigcv.results.people import name_person

    out = tmp_path / "out"
    shutil.copytree(siblings.session, out / siblings.session.name)
    copy = Analysed(film=siblings.film, truth=siblings.truth, session=out / siblings.session.name)
    mother = _person_of(copy.session, copy.truth, "parent")
    child = _person_of(copy.session, copy.truth, "child")
    name_person(out, copy.session.name, mother, name="Mum", parent_figure=True,
                index_child=False, may_show=True)  # fmt: skip
    name_person(out, copy.session.name, child, name="Ellie", parent_figure=False,
                index_child=True, may_show=True)  # fmt: skip
    # What `--keep parent,child` keeps after the naming (the film is blurred and measured once,
    # on the automatic pair, by the next test: the same plan makes the same film).
    from vigcv.privacy import blur_plan

    sibling = _person_of(copy.session, copy.truth, "sibling")
    named = blur_plan(copy.session, ["parent", "child"]).keep
    assert named == {mother, child} and sibling not in named
    assert blur_plan(copy.session, ["Mum", "Ellie"]).keep == named
    assert blur_plan(copy.session).keep == named  # may be shown: the named two, not the sibling


def test_siblings_keep_parent_and_child_blurs_the_sibling(
    siblings: Analysed, tmp_path: Path
) -> None:
    """The issue's acceptance test on the session as analysed, nobody named."""
    _blur_siblings(siblings, tmp_path)
