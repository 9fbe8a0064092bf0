"""Families and visits without analysing a film: the layout `vigcv run` chooses, session names,
visit dates and their correction, the quality note, and the review page and the export on a
family's sessions."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.family.conftest import vigcv
from tests.review.outdir import make_out, write_session
from vigcv.batch import discover
from vigcv.config import load_config
from vigcv.errors import VigcvError
from vigcv.export import export_out
from vigcv.family.dates import correct_date, name_date, record_visits, visit_dates
from vigcv.family.indicators import visit_indicators, write_progress
from vigcv.results import (
    FAMILY_FILE,
    TIMELINE_FILE,
    is_family,
    list_sessions,
    session_dirs,
    session_name,
)
from vigcv.results.decisions import open_store
from vigcv.results.sessions import load_session


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0")
    return path


def test_dated_films_in_a_family_folder_are_visits(tmp_path: Path) -> None:
    films = tmp_path / "films"
    for name in ("2026-03-06.mp4", "2026-01-10.mp4", "2026-02-07 garden.mp4"):
        _touch(films / "lee" / name)
    _touch(films / "plain" / "visit.mp4")  # undated: today's flat layout
    _touch(films / "loose.mp4")
    jobs = {j.input.name: j.session for j in discover([films])}
    assert jobs == {
        "2026-01-10.mp4": "lee/2026-01-10",
        "2026-02-07 garden.mp4": "lee/2026-02-07 garden",
        "2026-03-06.mp4": "lee/2026-03-06",
        "visit.mp4": "visit",
        "loose.mp4": "loose",
    }
    every = {j.input.name: j.session for j in discover([films], families=True)}
    assert every["visit.mp4"] == "plain/visit" and every["loose.mp4"] == "loose"
    # given directly: flat; a sessions CSV's family files it anyway
    assert [j.session for j in discover([films / "lee" / "2026-01-10.mp4"])] == ["2026-01-10"]
    named = discover([films / "loose.mp4"], family_of={"loose.mp4": "ng"})
    assert [j.session for j in named] == ["ng/loose"]


def test_visit_dates_are_found_kept_and_corrected(tmp_path: Path) -> None:
    assert name_date("visit 2026-02-07 (2)") == dt.date(2026, 2, 7)
    assert name_date("2026-02-30") is None
    films, out = tmp_path / "films", tmp_path / "out"
    dated = _touch(films / "2026-01-10.mp4")
    undated = _touch(films / "second.mp4")
    os.utime(undated, (dt.datetime(2026, 2, 3, 12).timestamp(),) * 2)
    record_visits(out, [("lee/2026-01-10", dated), ("lee/second", undated)])
    record = json.loads((out / "lee" / FAMILY_FILE).read_text())["visits"]
    assert record["2026-01-10"] == {"date": "2026-01-10", "source": "file name"}
    assert record["second"] == {"date": "2026-02-03", "source": "file modified"}
    for visit in ("2026-01-10", "second"):  # as a finished run leaves them
        (out / "lee" / visit).mkdir()
        (out / "lee" / visit / "run.json").write_text("{}")
    assert is_family(out / "lee")
    correct_date(out / "lee", "second", "2026-02-07")
    os.utime(undated, (dt.datetime(2026, 5, 5).timestamp(),) * 2)
    record_visits(out, [("lee/2026-01-10", dated), ("lee/second", undated)])  # a re-run
    record_visits(out, [("lee/second", undated)], dates={"lee/second": "2026-04-01"})  # a CSV
    assert visit_dates(out / "lee")["second"] == (dt.date(2026, 2, 7), "guider")
    with pytest.raises(VigcvError, match="YYYY-MM-DD"):
        correct_date(out / "lee", "second", "7/2/2026")
    with pytest.raises(VigcvError, match="no such visit; the visits are 2026-01-10, second"):
        correct_date(out / "lee", "third", "2026-03-01")
    proc = vigcv("family", "date", out / "lee", "2026-01-10", "2026-01-11")
    assert proc.returncode == 0, proc.stderr
    assert visit_dates(out / "lee")["2026-01-10"] == (dt.date(2026, 1, 11), "guider")
    proc = vigcv("family", "date", out / "lee", "nope", "2026-01-11")
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def family_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An OUT with one flat session and a family of two visits (real short video)."""
    out = make_out(tmp_path_factory.mktemp("family-layout"), sessions=("flat",))
    family = out / "lee"
    for visit in ("v1", "v2"):
        write_session(family, visit, out.parent / "media" / "play.mp4")
    (family / FAMILY_FILE).write_text(
        json.dumps({"visits": {"v1": {"date": "2026-01-10", "source": "file name"},
                               "v2": {"date": "2026-02-07", "source": "file name"}}})
    )  # fmt: skip
    return out


def test_every_reader_finds_a_familys_sessions(family_out: Path, tmp_path: Path) -> None:
    assert list_sessions(family_out) == ["flat", "lee/v1", "lee/v2"]
    assert [session_name(d) for d in session_dirs(family_out)] == ["flat", "lee/v1", "lee/v2"]
    assert session_dirs(family_out / "lee") == [
        family_out / "lee" / "v1",
        family_out / "lee" / "v2",
    ]
    out = tmp_path / "out"
    shutil.copytree(family_out, out)
    session = load_session(out, "lee/v2")
    best = session.moments[0]
    with open_store(out) as store:
        for field, value in (("status", "accepted"), ("parent_note", "lovely")):
            store.set_field("lee/v2", start=best["start"], end=best["end"], field=field,
                            value=value)  # fmt: skip
    result = export_out(out, audience="parent", sessions=["lee/v2"])
    (folder,) = result.folders
    assert folder.parent == out / "exports" / "lee" / "v2"
    assert [p.name.startswith("lee_v2-moment1-") for p in (folder / "clips").iterdir()] == [True]
    guider = export_out(out, audience="guider", sessions=["lee/v1"])
    assert (guider.folders[0] / "lee_v1.eaf").is_file()
    proc = vigcv("score", out / "lee")  # these hand-made sessions have no extraction cache
    assert "lee/v1:" in proc.stdout and "lee/v2:" in proc.stdout  # but both are found


@contextmanager
def _serving(out: Path) -> Iterator[Any]:
    """The review server over ``out``, serving in a thread until the block ends."""
    from vigcv.review.server import make_server

    srv = make_server(out, config=load_config(), exporter=export_out)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def test_the_review_page_serves_a_familys_session(family_out: Path, tmp_path: Path) -> None:
    from tests.review.conftest import Client

    out = tmp_path / "out"
    shutil.copytree(family_out, out)
    with _serving(out) as srv:
        client = Client(srv.app.port, srv.app.token, srv.app.csrf)
        status, listing = client.json("GET", "/api/sessions")
        assert status == 200
        assert [s["name"] for s in listing["sessions"]] == ["flat", "lee/v1", "lee/v2"]
        status, data = client.json("GET", "/api/sessions/lee%2Fv1")
        assert status == 200 and data["name"] == "lee/v1" and data["moments"]
        m = data["moments"][0]
        status, _ = client.json("POST", "/api/sessions/lee%2Fv1/decision",
                                body={"start": m["start"], "end": m["end"], "field": "status",
                                      "value": "accepted"})  # fmt: skip
        assert status == 200
        assert client.request("GET", "/media/lee%2Fv1")[0] == 200
        # the visit's date is shown, and the guider corrects it on the page
        assert data["visit"] == {
            "family": "lee",
            "visit": "v1",
            "date": "2026-01-10",
            "source": "file name",
        }
        status, answer = client.json("POST", "/api/sessions/lee%2Fv1/visit-date",
                                     body={"date": "2026-01-12"})  # fmt: skip
        assert status == 200 and answer["visit"]["date"] == "2026-01-12"
        assert answer["visit"]["source"] == "guider"
        status, bad = client.json("POST", "/api/sessions/lee%2Fv1/visit-date",
                                  body={"date": "12/01/2026"})  # fmt: skip
        assert status == 400 and "YYYY-MM-DD" in bad["error"]
        status, _ = client.json("POST", "/api/sessions/flat/visit-date",
                                body={"date": "2026-01-12"})  # fmt: skip
        assert status == 400
        assert client.json("GET", "/api/sessions/flat")[1]["visit"] is None
    with open_store(out) as store:
        assert [d.status for d in store.decisions("lee/v1")] == ["accepted"]
    # kept in family.json, never replaced by a re-run's date
    visits = json.loads((out / "lee" / FAMILY_FILE).read_text())["visits"]
    assert visits["v1"] == {"date": "2026-01-12", "source": "guider"}


def test_a_visit_where_the_child_was_rarely_seen_says_so(family_out: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(family_out, out)
    timeline_path = out / "lee" / "v2" / TIMELINE_FILE
    timeline = pd.read_csv(timeline_path)
    timeline.loc[timeline.index[len(timeline) // 5 :], "child_visible"] = 0.0
    timeline.to_csv(timeline_path, index=False)
    seen = visit_indicators(out / "lee" / "v2")
    assert not seen["comparable"]
    assert seen["quality_note"].startswith("the child's face seen in only 2")
    table = write_progress(out / "lee")
    assert list(table["visit"]) == ["v1", "v2"] and list(table["comparable"]) == [True, False]


def test_the_guider_corrects_a_visits_date_on_the_page(family_out: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    from tests.review.browser import chromium, wait_for

    out = tmp_path / "out"
    shutil.copytree(family_out, out)
    with _serving(out) as srv, chromium() as b:
        b.get(srv.url)
        base = srv.url.split("?")[0].rstrip("/")
        b.get(f"{base}/#/s/lee%2Fv2")
        field = wait_for(lambda: b.find_element(By.ID, "visit-date"), what="the visit date")
        assert field.get_attribute("value") == "2026-02-07"
        assert "file name" in b.find_element(By.ID, "visit-date-source").text
        b.execute_script("arguments[0].value = '2026-02-09'", field)
        b.find_element(By.ID, "visit-date-save").click()
        wait_for(lambda: "set by you" in b.find_element(By.ID, "visit-date-source").text,
                 what="the saved date")  # fmt: skip
        b.refresh()
        field = wait_for(lambda: b.find_element(By.ID, "visit-date"), what="after a reload")
        assert field.get_attribute("value") == "2026-02-09"
    visits = json.loads((out / "lee" / FAMILY_FILE).read_text())["visits"]
    assert visits["v2"] == {"date": "2026-02-09", "source": "guider"}
