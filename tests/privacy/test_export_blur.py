"""Exports show only the people who may be shown: the clips and stills of `vigcv export` blur
every other face (real pipeline output, real detector)."""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.privacy.conftest import Analysed, crop, sharpness, vigcv
from vigcv.export import export_out
from vigcv.export.clips import write_clip
from vigcv.io.frames import frame_at
from vigcv.io.media import iter_frames
from vigcv.results import read_moments
from vigcv.results.decisions import open_store


@pytest.fixture
def reviewed(textbook: Analysed, tmp_path: Path) -> tuple[Path, str, tuple[float, float]]:
    """A copy of the analysed OUT with its best moment kept for the parent."""
    out = tmp_path / "out"
    name = textbook.session.name
    shutil.copytree(textbook.session, out / name)
    moment = read_moments(out / name)[0]
    start, end = moment.segment.start, moment.segment.end
    with open_store(out) as store:
        store.set_field(name, start=start, end=end, field="status", value="accepted")
    return out, name, (start, end)


def _truth_at(textbook: Analysed, t: float, role: str):
    rows = textbook.truth[(textbook.truth.role == role) & np.isclose(textbook.truth.t, t)]
    return rows.iloc[0]


def test_an_export_blurs_everyone_but_the_people_kept(
    textbook: Analysed, reviewed: tuple[Path, str, tuple[float, float]]
) -> None:
    out, _, (start, end) = reviewed
    result = export_out(out, audience="parent", keep=["parent"])
    (folder,) = result.folders
    (clip,) = sorted((folder / "clips").glob("*.mp4"))
    plain = write_clip(textbook.film, out / "plain.mp4", start=start, end=end)  # no blur
    ratios: dict[str, list[float]] = {"parent": [], "child": []}
    pairs = zip(iter_frames(clip, fps=0), iter_frames(plain.path, fps=0), strict=True)
    for frame, reference in pairs:
        t = round(start + frame.t, 2)
        if not np.isclose(textbook.truth.t, t).any():
            continue
        for role in ratios:
            r = _truth_at(textbook, t, role)
            box = (r.x, r.y, r.w, r.h)
            ratios[role].append(
                sharpness(crop(frame.rgb, *box)) / sharpness(crop(reference.rgb, *box))
            )
    assert len(ratios["child"]) >= 0.8 * 25 * (end - start)
    assert max(ratios["child"]) < 0.05
    assert min(ratios["parent"]) > 0.85 and max(ratios["parent"]) < 1.15

    # the still in the report: the child's face blurred, the parent's not
    page = (folder / "report.html").read_text()
    (data,) = re.findall(r"data:image/jpeg;base64,([A-Za-z0-9+/=]+)", page)
    still = cv2.cvtColor(
        cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR),
        cv2.COLOR_BGR2RGB,
    )
    t = 0.5 * (start + end)
    plain = frame_at(textbook.film, t, width=still.shape[1])
    scale = still.shape[1] / 640
    near = textbook.truth.iloc[(textbook.truth.t - t).abs().argsort()[:2]]
    for r in near.itertuples():
        box = (r.x * scale, r.y * scale, r.w * scale, r.h * scale)
        ratio = sharpness(crop(still, *box)) / sharpness(crop(plain, *box))
        assert (ratio < 0.1) if r.role == "child" else (ratio > 0.5), (r.role, ratio)


def test_by_default_the_people_who_may_be_shown_are_kept(
    textbook: Analysed, reviewed: tuple[Path, str, tuple[float, float]]
) -> None:
    out, _, (start, _) = reviewed
    result = export_out(out, audience="parent")
    (clip,) = sorted((result.folders[0] / "clips").glob("*.mp4"))
    frame = next(iter_frames(clip, fps=1))
    original = frame_at(textbook.film, start + frame.t, width=640)
    for role in ("parent", "child"):  # the pair: both may be shown
        r = _truth_at(textbook, round(start + frame.t, 2), role)
        box = (r.x, r.y, r.w, r.h)
        assert sharpness(crop(frame.rgb, *box)) > 0.5 * sharpness(crop(original, *box))


def test_the_export_command_names_someone_unknown(
    reviewed: tuple[Path, str, tuple[float, float]],
) -> None:
    out, name, _ = reviewed
    proc = vigcv("export", out, "--confirmed", "--blur-all-except", "parent,Dad")
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0
    assert "no one called 'Dad'" in proc.stderr and name in proc.stderr
    assert not (out / "exports").exists() or not any((out / "exports").rglob("*.mp4"))
