"""Exports: clips cut at the trimmed bounds, ELAN tiers, decisions CSV, a self-contained report."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pympi.Elan import Eaf

from vigcv.export import export_out
from vigcv.export.clips import clock, draw_caption, write_clip
from vigcv.export.eaf import runs
from vigcv.io import load_audio, probe
from vigcv.io.frames import frame_at
from vigcv.results.decisions import open_store


def _video(out: Path) -> Path:
    return Path(json.loads((out / "family-a" / "run.json").read_text())["input"])


def _decide(out: Path) -> None:
    with open_store(out) as store:
        store.set_field("family-a", start=1.0, end=4.0, field="status", value="accepted")
        store.set_field("family-a", start=1.0, end=4.0, field="trim_start", value=1.5)
        store.set_field("family-a", start=1.0, end=4.0, field="note", value="Eyes <meet> & smile")
        store.set_field("family-a", start=5.0, end=8.0, field="status", value="rejected")
        store.set_field("family-a", start=8.5, end=11.5, field="status", value="accepted")
        store.set_field("family-a", start=8.5, end=11.5, field="trim_end", value=10.0)


def test_clip_is_cut_at_the_bounds_with_sound(out_dir: Path, tmp_path: Path) -> None:
    video = _video(out_dir)
    clip = write_clip(video, tmp_path / "c.mp4", start=2.0, end=5.0, caption=False)
    info = probe(clip.path)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert info.duration == pytest.approx(3.0, abs=0.1)
    assert clip.frames == 45  # 15 fps
    # the clip's first picture is the source's picture at 2.0 s
    a = frame_at(video, 2.0, width=160).astype(float)
    b = frame_at(clip.path, 0.0, width=160).astype(float)
    assert np.abs(a - b).mean() < 6.0
    assert np.abs(frame_at(video, 0.0, width=160) - b).mean() > np.abs(a - b).mean()
    # the 440 Hz tone made it through
    audio = load_audio(clip.path, rate=16000)
    assert audio.size == pytest.approx(3 * 16000, rel=0.05)
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.fft.rfftfreq(audio.size, 1 / 16000)[spectrum.argmax()] == pytest.approx(440, abs=5)
    assert not list(tmp_path.glob(".*.part"))


def test_caption_shows_the_time(out_dir: Path, tmp_path: Path) -> None:
    rgb = frame_at(_video(out_dir), 3.0, width=320)
    captioned = draw_caption(rgb, clock(63.0))
    assert clock(63.0) == "01:03" and clock(3725.0) == "1:02:05"
    diff = np.abs(captioned.astype(int) - rgb.astype(int)).sum(axis=2) > 30
    ys, xs = np.nonzero(diff)
    assert ys.min() > rgb.shape[0] * 0.7 and xs.max() < rgb.shape[1] * 0.5  # bottom-left only


def test_runs_of_a_sampled_signal() -> None:
    t = np.arange(0, 5, 0.5)
    v = np.array([0, 1, 1, 0, 0, 0.9, np.nan, 1, 1, 1])
    assert runs(t, v) == [(0.5, 1.5), (2.5, 3.0), (3.5, 5.0)]
    assert runs(t, v, min_s=0.6) == [(0.5, 1.5), (3.5, 5.0)]
    assert runs(t, np.zeros(10)) == []


def test_export_writes_clips_eaf_csv_and_report(out_dir: Path) -> None:
    _decide(out_dir)
    result = export_out(out_dir)
    folder = out_dir / "exports"
    assert result.folder == folder and result.clips == 2 and result.sessions == 2
    clips = sorted((folder / "family-a" / "clips").glob("*.mp4"))
    assert [c.name for c in clips] == ["family-a-m01-00m01s.mp4", "family-a-m03-00m08s.mp4"]
    assert probe(clips[0]).duration == pytest.approx(2.5, abs=0.1)  # trimmed start 1.5..4.0
    assert probe(clips[1]).duration == pytest.approx(1.5, abs=0.1)  # 8.5..trimmed end 10.0
    assert not (folder / "family-b" / "clips").exists()  # nothing kept there

    eaf = Eaf(str(folder / "family-a" / "family-a.eaf"))
    tiers = set(eaf.get_tier_names())
    assert {"Moments", "Mutual gaze", "Parent smile", "Child smile"} <= tiers
    assert {"Parent speech", "Child speech"} <= tiers
    moments = sorted(eaf.get_annotation_data_for_tier("Moments"))
    assert [(a, b) for a, b, _ in moments] == [(1500, 4000), (5000, 8000), (8500, 10000)]
    assert "(kept)" in moments[0][2] and "Eyes <meet> & smile" in moments[0][2]
    assert "They look at each other" in moments[0][2]
    assert len(eaf.get_annotation_data_for_tier("Parent speech")) == 3
    assert len(eaf.get_annotation_data_for_tier("Child speech")) == 2
    gaze = eaf.get_annotation_data_for_tier("Mutual gaze")
    assert gaze and gaze[0][0] == 100  # sin(t) > 0 from the second sample
    assert eaf.media_descriptors[0]["MEDIA_URL"] == _video(out_dir).resolve().as_uri()

    table = pd.read_csv(folder / "decisions.csv", keep_default_na=False)
    assert len(table) == 6 and set(table["session"]) == {"family-a", "family-b"}
    a = table[table["session"] == "family-a"].set_index("rank")
    assert list(a["status"]) == ["accepted", "rejected", "accepted"]
    assert a.loc[1, "clip_start"] == 1.5 and a.loc[3, "clip_end"] == 10.0
    assert a.loc[1, "note"] == "Eyes <meet> & smile" and a.loc[1, "clip_start_mmss"] == "00:01"

    report = (folder / "family-a" / "report.html").read_text(encoding="utf-8")
    assert "Eyes &lt;meet&gt; &amp; smile" in report  # escaped
    assert len(re.findall(r"src='data:image/jpeg;base64,", report)) == 3
    assert not re.search(r"(src|href)=['\"]?(https?:|//|/)", report)
    assert "default-src 'none'" in report and "<svg" in report
    assert "2 kept for the parent" in report
    assert not list(folder.rglob(".*.part")) and not list(folder.rglob("*.bak"))


def test_confirmed_export_holds_only_kept_moments(out_dir: Path, tmp_path: Path) -> None:
    _decide(out_dir)
    result = export_out(out_dir, to=tmp_path / "share", confirmed=True)
    assert result.folder == tmp_path / "share" and result.clips == 2
    table = pd.read_csv(tmp_path / "share" / "decisions.csv", keep_default_na=False)
    assert list(table["status"]) == ["accepted", "accepted"]
    eaf = Eaf(str(tmp_path / "share" / "family-a" / "family-a.eaf"))
    assert len(eaf.get_annotation_data_for_tier("Moments")) == 2
    report = (tmp_path / "share" / "family-b" / "report.html").read_text()
    assert "No moments to show" in report
    assert not (out_dir / "exports").exists()


def test_export_command(out_dir: Path, tmp_path: Path) -> None:
    _decide(out_dir)
    done = subprocess.run(
        [sys.executable, "-m", "vigcv.cli", "export", str(out_dir), "--to", str(tmp_path / "x"),
         "--session", "family-a"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 clip(s)" in done.stdout
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["family-a"]
    bad = subprocess.run(
        [sys.executable, "-m", "vigcv.cli", "export", str(out_dir), "--session", "nobody"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 1 and "not a processed session" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_decisions_of_vanished_moments_stay_in_the_csv(out_dir: Path) -> None:
    from tests.review.outdir import moments_doc

    _decide(out_dir)
    doc = moments_doc("family-a")
    doc["moments"] = doc["moments"][:1]  # re-scored: moments 2 and 3 are gone
    (out_dir / "family-a" / "moments.json").write_text(json.dumps(doc))
    result = export_out(out_dir, sessions=["family-a"])
    assert result.clips == 1
    table = pd.read_csv(out_dir / "exports" / "family-a" / "decisions.csv", keep_default_na=False)
    assert list(table["rank"]) == ["1", "", ""]
    assert list(table["status"]) == ["accepted", "rejected", "accepted"]
    assert list(table["moment_start"]) == [1.0, 5.0, 8.5]
    assert not (out_dir / "exports" / "decisions.csv").exists()  # only when exporting all
