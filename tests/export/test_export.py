"""Exports: clips cut at the trimmed bounds, the parent's version (kept moments only, no private
note) and the guider's (everything, marked), dated folders that never replace each other."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from pympi.Elan import Eaf

from tests.review.conftest import Client
from vigcv.config import load_config
from vigcv.errors import VigcvError
from vigcv.export import export_out
from vigcv.export.clips import clock, draw_caption, write_clip
from vigcv.export.eaf import runs
from vigcv.export.report import GUIDER_MARK
from vigcv.io import load_audio, probe
from vigcv.io.frames import frame_at
from vigcv.results.decisions import open_store
from vigcv.review.server import ReviewServer, make_server
from vigcv.scoring.components import COMPONENT_NAMES

PRIVATE = "PRIVATE: mum seemed low, ask about sleep"
FOR_PARENT = "Look how she waits for you <3 & smiles"
STAMPED = re.compile(r"^\d{4}-\d\d-\d\d_\d{6}-(parent|guider)(-\d+)?$")


def _video(out: Path) -> Path:
    return Path(json.loads((out / "family-a" / "run.json").read_text())["input"])


def _decide(out: Path) -> None:
    """family-a: moment 1 kept (trimmed) with a private note and a note for the parent, moment 2
    set aside with a private note, moment 3 kept (trimmed). family-b: nothing decided."""
    with open_store(out) as store:
        store.set_field("family-a", start=1.0, end=4.0, field="status", value="accepted")
        store.set_field("family-a", start=1.0, end=4.0, field="trim_start", value=1.5)
        store.set_field("family-a", start=1.0, end=4.0, field="note", value="Eyes <meet> & smile")
        store.set_field("family-a", start=1.0, end=4.0, field="parent_note", value=FOR_PARENT)
        store.set_field("family-a", start=5.0, end=8.0, field="status", value="rejected")
        store.set_field("family-a", start=5.0, end=8.0, field="note", value=PRIVATE)
        store.set_field("family-a", start=8.5, end=11.5, field="status", value="accepted")
        store.set_field("family-a", start=8.5, end=11.5, field="trim_end", value=10.0)


def _decide_one_of_each(out: Path) -> None:
    """family-a: moment 1 kept with a private note and a note for the parent, moment 2 set
    aside, moment 3 undecided (only a private note on it)."""
    with open_store(out) as store:
        store.set_field("family-a", start=1.0, end=4.0, field="status", value="accepted")
        store.set_field("family-a", start=1.0, end=4.0, field="note", value=PRIVATE)
        store.set_field("family-a", start=1.0, end=4.0, field="parent_note", value=FOR_PARENT)
        store.set_field("family-a", start=5.0, end=8.0, field="status", value="rejected")
        store.set_field("family-a", start=8.5, end=11.5, field="note", value="undecided, think")


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


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


def test_clips_carry_no_location_or_device_metadata(tmp_path: Path) -> None:
    source = tmp_path / "phone.mov"
    with av.open(str(source), mode="w", format="mov") as out:
        out.metadata.update({"location": "+51.5072-000.1276/", "make": "Apple",
                             "model": "iPhone 12", "comment": "family visit"})  # fmt: skip
        v = out.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for i in range(30):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 8 * i, np.uint8), "rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode(None):
            out.mux(packet)
    with av.open(str(source)) as f:
        assert "location" in f.metadata  # the source does carry a location
    clip = write_clip(source, tmp_path / "clip.mp4", start=0.5, end=2.5)
    with av.open(str(clip.path)) as f:
        tags = dict(f.metadata)
        streams = [dict(s.metadata) for s in f.streams]
    essentials = {"major_brand", "minor_version", "compatible_brands", "encoder"}
    assert set(tags) <= essentials, tags
    for stream in streams:
        assert set(stream) <= {"language", "handler_name", "vendor_id", "encoder"}, stream
    data = clip.path.read_bytes()
    for word in (b"Apple", b"iPhone", b"+51.5072", b"family visit"):
        assert word not in data


def test_the_parents_version_holds_only_the_kept_moment(out_dir: Path) -> None:
    _decide_one_of_each(out_dir)
    result = export_out(out_dir, sessions=["family-a"])  # the parent's version by default
    assert result.audience == "parent" and result.sessions == 1 and result.clips == 1
    (folder,) = result.folders
    assert folder.parent == out_dir / "exports" / "family-a" and STAMPED.match(folder.name)
    assert folder.name.endswith("-parent")
    assert _files(folder) == {"report.html", "clips/family-a-moment1-00m01s.mp4"}
    assert sorted(result.files) == sorted(folder / f for f in _files(folder))
    report = (folder / "report.html").read_text(encoding="utf-8")
    # the kept moment: its reasons, its note for the parent (escaped), its still and clip
    assert "They look at each other for 2 s." in report
    assert "Look how she waits for you &lt;3 &amp; smiles" in report
    assert "00:01 – 00:04" in report
    # not the set-aside one, not the undecided one, no private note, no marks of any kind
    assert "within a second" not in report and "3 exchanges" not in report
    # (the moments' times, not the time of day the report was made, which may read 00:08)
    times = re.sub(r"Made with vigcv on [^<]*", "", report)
    assert "00:05" not in times and "00:08" not in times
    assert "Moment 2" not in report and "Moment 3" not in report
    assert PRIVATE not in report and "undecided, think" not in report
    for label in COMPONENT_NAMES.values():
        assert label not in report
    for mark in ("class='bars'", "class='bar'", "<svg", "polyline", "score", "Set aside",
                 "Not reviewed", "Kept for the parent", GUIDER_MARK):  # fmt: skip
        assert mark not in report, mark
    # the private note is in no file and no file name of the parent's version
    for path in folder.rglob("*"):
        assert b"PRIVATE" not in path.read_bytes() if path.is_file() else True
        assert "PRIVATE" not in path.name and "think" not in path.name
    # every <video> plays a clip beside the report, by a relative link
    sources = re.findall(r"<video [^>]*src='([^']+)'", report)
    assert sources == ["clips/family-a-moment1-00m01s.mp4"]
    for src in sources:
        assert not re.match(r"^([a-z]+:|/)", src)
        clip = folder / urllib.parse.unquote(src)
        assert clip.is_file() and probe(clip).duration == pytest.approx(3.0, abs=0.1)
    assert len(re.findall(r"poster='data:image/jpeg;base64,", report)) == 1  # its still
    assert "media-src 'self'" in report and "script" not in report.lower()
    assert not re.search(r"(src|href)=['\"]?(https?:|//|/)", report)


def test_the_guiders_version_holds_everything_marked(out_dir: Path) -> None:
    _decide(out_dir)
    result = export_out(out_dir, audience="guider")
    assert result.clips == 2 and result.sessions == 2 and result.folder == out_dir / "exports"
    a = next(f for f in result.folders if f.parent.name == "family-a")
    assert STAMPED.match(a.name) and a.name.endswith("-guider")
    assert _files(a) == {
        "report.html", "decisions.csv", "family-a.eaf",
        "clips/family-a-m01-00m01s.mp4", "clips/family-a-m03-00m08s.mp4",
    }  # fmt: skip
    assert probe(a / "clips/family-a-m01-00m01s.mp4").duration == pytest.approx(2.5, abs=0.1)
    assert probe(a / "clips/family-a-m03-00m08s.mp4").duration == pytest.approx(1.5, abs=0.1)
    b = next(f for f in result.folders if f.parent.name == "family-b")
    assert not (b / "clips").exists()  # nothing kept there

    report = (a / "report.html").read_text(encoding="utf-8")
    assert report.index(GUIDER_MARK) < report.index("<header>")  # at the top
    assert PRIVATE in report and "Eyes &lt;meet&gt; &amp; smile" in report
    assert "Look how she waits for you &lt;3 &amp; smiles" in report
    assert "Set aside" in report and "class='bars'" in report and "<svg" in report
    assert len(re.findall(r"poster='data:image/jpeg;base64,", report)) == 2  # kept: players
    assert len(re.findall(r"<img class='still' [^>]*src='data:image/jpeg", report)) == 1
    assert "2 kept for the parent" in report
    for src in re.findall(r"<video [^>]*src='([^']+)'", report):
        assert (a / urllib.parse.unquote(src)).is_file()

    eaf = Eaf(str(a / "family-a.eaf"))
    tiers = set(eaf.get_tier_names())
    assert {"Moments", "Mutual gaze", "Parent smile", "Child smile"} <= tiers
    assert {"Parent speech", "Child speech"} <= tiers
    moments = sorted(eaf.get_annotation_data_for_tier("Moments"))
    assert [(a, b) for a, b, _ in moments] == [(1500, 4000), (5000, 8000), (8500, 10000)]
    assert "(kept)" in moments[0][2] and "Eyes <meet> & smile" in moments[0][2]
    assert len(eaf.get_annotation_data_for_tier("Parent speech")) == 3
    assert eaf.media_descriptors[0]["MEDIA_URL"] == _video(out_dir).resolve().as_uri()

    table = pd.read_csv(a / "decisions.csv", keep_default_na=False).set_index("rank")
    assert list(table["status"]) == ["accepted", "rejected", "accepted"]
    assert table.loc[1, "clip_start"] == 1.5 and table.loc[3, "clip_end"] == 10.0
    assert table.loc[1, "parent_note"] == FOR_PARENT and table.loc[2, "note"] == PRIVATE
    (everything,) = (out_dir / "exports").glob("decisions-*.csv")
    assert re.fullmatch(r"decisions-\d{4}-\d\d-\d\d_\d{6}\.csv", everything.name)
    assert len(pd.read_csv(everything)) == 6
    assert not list((out_dir / "exports").rglob("*.part")) and not list(a.rglob("*.bak"))


def test_a_second_export_replaces_nothing(out_dir: Path) -> None:
    _decide(out_dir)
    first = export_out(out_dir, sessions=["family-a"])
    (folder1,) = first.folders
    report1 = (folder1 / "report.html").read_bytes()
    with open_store(out_dir) as store:  # the guider changes their mind, exports again
        store.set_field("family-a", start=8.5, end=11.5, field="status", value="rejected")
    second = export_out(out_dir, sessions=["family-a"])
    guider = export_out(out_dir, sessions=["family-a"], audience="guider")
    (folder2,) = second.folders
    assert folder2 != folder1 and folder2.parent == folder1.parent
    assert (folder1 / "report.html").read_bytes() == report1  # untouched
    assert len(list((folder1 / "clips").glob("*.mp4"))) == 2
    assert len(list((folder2 / "clips").glob("*.mp4"))) == 1
    assert (
        "Moment 2" in report1.decode() and "Moment 2" not in (folder2 / "report.html").read_text()
    )
    names = sorted(p.name for p in folder1.parent.iterdir())
    assert names == sorted([folder1.name, folder2.name, guider.folders[0].name])
    assert all(STAMPED.match(n) for n in names)


def test_the_parents_version_needs_a_kept_moment_and_the_film(out_dir: Path) -> None:
    _decide(out_dir)
    result = export_out(out_dir)  # all sessions: family-b has nothing kept
    assert [f.parent.name for f in result.folders] == ["family-a"]
    assert any("family-b: no moment is kept for the parent yet" in w for w in result.warnings)
    assert not (out_dir / "exports" / "family-b").exists()
    assert not list((out_dir / "exports").glob("decisions-*.csv"))  # guider's only
    with pytest.raises(VigcvError, match="family-b: no moment is kept for the parent yet"):
        export_out(out_dir, sessions=["family-b"])
    run = json.loads((out_dir / "family-a" / "run.json").read_text())
    run["input"] = str(out_dir / "moved-away.mp4")
    (out_dir / "family-a" / "run.json").write_text(json.dumps(run))
    with pytest.raises(VigcvError, match=r"recording is not found at .*moved-away\.mp4"):
        export_out(out_dir, sessions=["family-a"])
    with pytest.raises(VigcvError, match="audience must be one of parent, guider"):
        export_out(out_dir, audience="everyone")


def test_export_command(out_dir: Path, tmp_path: Path) -> None:
    _decide(out_dir)

    def vigcv(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "vigcv.cli", "export", str(out_dir), *args],
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    done = vigcv("--to", str(tmp_path / "x"), "--session", "family-a")
    assert done.returncode == 0, done.stderr
    assert "parent's version" in done.stdout and "2 clip(s)" in done.stdout
    (parent,) = (tmp_path / "x" / "family-a").iterdir()
    assert parent.name.endswith("-parent") and "report.html" in done.stdout
    assert vigcv("--to", str(tmp_path / "y"), "--confirmed").returncode == 0  # the alias
    assert [p.name.endswith("-parent") for p in (tmp_path / "y" / "family-a").iterdir()] == [True]
    assert "family-b: no moment is kept" in vigcv("--to", str(tmp_path / "y")).stdout
    done = vigcv("--to", str(tmp_path / "z"), "--for", "guider", "-s", "family-b")
    assert done.returncode == 0, done.stderr
    (guider,) = (tmp_path / "z" / "family-b").iterdir()
    assert guider.name.endswith("-guider") and (guider / "family-b.eaf").is_file()
    for args, code, words in (
        (("--session", "nobody"), 1, "not a processed session"),
        (("--session", "family-b"), 1, "no moment is kept for the parent yet"),
        (("--for", "everyone"), 2, "--for must be parent or guider"),
        (("--for", "guider", "--confirmed"), 2, "--confirmed means --for parent"),
    ):
        bad = vigcv(*args)
        assert bad.returncode == code and words in bad.stderr, (args, bad.stderr)
        assert "Traceback" not in bad.stderr
    assert len(list((out_dir / "exports").rglob("report.html"))) == 0  # all went to --to
    helped = subprocess.run([sys.executable, "-m", "vigcv.cli", "export", "--help"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "--for" in helped.stdout and "not for sharing" in helped.stdout
    assert "--confirmed" in helped.stdout


def test_decisions_of_vanished_moments_stay_in_the_guiders_csv(out_dir: Path) -> None:
    from tests.review.outdir import moments_doc

    _decide(out_dir)
    doc = moments_doc("family-a")
    doc["moments"] = doc["moments"][:1]  # re-scored: moments 2 and 3 are gone
    (out_dir / "family-a" / "moments.json").write_text(json.dumps(doc))
    result = export_out(out_dir, sessions=["family-a"], audience="guider")
    assert result.clips == 1
    table = pd.read_csv(result.folders[0] / "decisions.csv", keep_default_na=False)
    assert list(table["rank"]) == ["1", "", ""]
    assert list(table["status"]) == ["accepted", "rejected", "accepted"]
    assert list(table["moment_start"]) == [1.0, 5.0, 8.5]
    assert not list((out_dir / "exports").glob("decisions-*.csv"))  # only when exporting all


@pytest.fixture
def client(out_dir: Path) -> Iterator[Client]:
    srv: ReviewServer = make_server(out_dir, config=load_config(), exporter=export_out)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield Client(srv.app.port, srv.app.token, srv.app.csrf)
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize("audience", ["parent", "guider"])
def test_the_page_and_export_out_make_the_same_files(
    out_dir: Path, client: Client, audience: str
) -> None:
    _decide_one_of_each(out_dir)
    body = {} if audience == "parent" else {"audience": audience}  # the page's default: parent
    status, data = client.json("POST", "/api/sessions/family-a/export", body=body)
    assert status == 200, data
    assert data["audience"] == audience and data["clips"] == 1
    page = Path(data["folder"])
    assert page.parent == out_dir / "exports" / "family-a" and page.name.endswith(audience)
    direct = export_out(out_dir, sessions=["family-a"], audience=audience)
    (folder,) = direct.folders
    assert folder != page
    assert _files(page) == _files(folder)
    assert sorted(f["name"] for f in data["files"]) == sorted(p.name for p in direct.files)
    for f in data["files"]:  # each link serves its file
        assert f["url"].startswith(f"/files/exports/family-a/{page.name}/")
        assert client.request("GET", f["url"], headers={"Range": "bytes=0-3"})[0] == 206
    report = (page / "report.html").read_text(encoding="utf-8")
    assert (PRIVATE in report) == (audience == "guider")
    assert (GUIDER_MARK in report) == (audience == "guider")


def test_the_page_refuses_an_unknown_audience_and_an_empty_share(client: Client) -> None:
    status, data = client.json(
        "POST", "/api/sessions/family-a/export", body={"audience": "everyone"}
    )
    assert status == 400 and "audience must be parent or guider" in data["error"]
    status, data = client.json("POST", "/api/sessions/family-b/export", body={})
    assert status == 409 and "no moment is kept for the parent yet" in data["error"]
