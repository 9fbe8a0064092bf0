"""Vision on a constructed video: a real face photo (scikit-image's astronaut) pasted twice.

The larger copy on the left must come out as the parent, the smaller on the right as the child,
both looking into the camera (yaw near 0, not looking at each other), unless the user says the
parent is on the right.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from vigcv.config import load_config
from vigcv.io import iter_frames, probe
from vigcv.vision import extract_vision, write_overlay

N_FRAMES = 20
FPS = 10


def _write_video(path: Path) -> None:
    import skimage.data

    face = skimage.data.astronaut()[10:230, 130:320]  # the head (face box about 88 px wide)
    big = cv2.resize(face, None, fx=1.2, fy=1.2, interpolation=cv2.INTER_AREA)
    small = cv2.resize(face, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for i in range(N_FRAMES):
            frame = np.full((480, 640, 3), 90, np.uint8)
            x = 40 + i  # a little movement
            frame[120 : 120 + big.shape[0], x : x + big.shape[1]] = big
            frame[200 : 200 + small.shape[0], 460 - i : 460 - i + small.shape[1]] = small
            out = av.VideoFrame.from_ndarray(frame, format="rgb24")
            out.pts, out.time_base = i, Fraction(1, FPS)
            for packet in stream.encode(out):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


@pytest.fixture(scope="session")
def two_faces_video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("vision") / "two_faces.mp4"
    _write_video(path)
    return path


@pytest.fixture(scope="session")
def features(two_faces_video):
    config = load_config()
    return extract_vision(two_faces_video, config=config, info=probe(two_faces_video))


def test_two_faces_found_and_larger_is_parent(features):
    table = features.table
    assert set(table["role"]) == {"parent", "child"}
    assert len(features.dyad) == N_FRAMES
    assert (features.dyad[["parent_visible", "child_visible"]] >= 0.5).all().all()
    parent, child = features.person("parent"), features.person("child")
    assert parent["w"].median() > 1.5 * child["w"].median()
    assert (parent["x"] + parent["w"] / 2).median() < 320 < (child["x"] + child["w"] / 2).median()
    assert features.provenance["roles"]["method"] == "role_guess"
    assert features.provenance["roles"]["confidence"] > 0.8


def test_frontal_faces_look_into_the_camera(features):
    table = features.table
    assert table["yaw"].abs().median() < 12
    assert table["pitch"].abs().median() < 20
    assert (table["gaze_z"] < -0.8).mean() > 0.9  # gaze points back at the camera
    assert features.dyad["mutual_gaze"].max() < 0.5
    assert table["smile"].between(0, 1).all() and table["mouth_open"].between(0, 1).all()
    assert features.dyad["head_distance"].between(3, 8).all()


def test_parent_side_override(two_faces_video):
    config = load_config()
    forced = extract_vision(
        two_faces_video, config=config, info=probe(two_faces_video), parent_side="right"
    )
    parent = forced.person("parent")
    assert (parent["x"] + parent["w"] / 2).median() > 320
    assert forced.provenance["roles"]["method"] == "parent_side"


def test_hook_reports_progress(two_faces_video):
    seen = []
    config = load_config()
    extract_vision(
        two_faces_video,
        config=config,
        info=probe(two_faces_video),
        hook=lambda step, artifact=None, *, completed=None, total=None: seen.append(
            (step, artifact, completed, total)
        ),
    )
    assert seen and all(step == "vision" and artifact is None for step, artifact, *_ in seen)
    assert all(total is not None and 0 <= done <= total for *_, done, total in seen)
    assert seen[-1][2] == seen[-1][3] == N_FRAMES


def test_overlay_is_a_playable_video(features, two_faces_video, tmp_path):
    out = tmp_path / "overlay.mp4"
    write_overlay(two_faces_video, features, out, config=load_config())
    frames = list(iter_frames(out, fps=0))
    assert len(frames) == N_FRAMES
    assert not list(tmp_path.glob("*.tmp*"))
    original = next(iter(iter_frames(two_faces_video, fps=0))).rgb.astype(int)
    assert np.abs(frames[0].rgb.astype(int) - original).mean() > 0.5  # something was drawn


def test_video_without_faces_gives_empty_signals_and_a_warning(tmp_path):
    path = tmp_path / "blank.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(8):
            out = av.VideoFrame.from_ndarray(
                np.full((240, 320, 3), 60 + i, np.uint8), format="rgb24"
            )
            out.pts, out.time_base = i, Fraction(1, FPS)
            for packet in stream.encode(out):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    warnings: list[str] = []
    features = extract_vision(path, config=load_config(), info=probe(path), warnings=warnings)
    assert len(features.dyad) == 8 and features.table.empty
    assert (features.dyad["parent_visible"] == 0).all() and features.dyad[
        "mutual_gaze"
    ].isna().all()
    assert any("found 0 of 2" in w for w in warnings)
