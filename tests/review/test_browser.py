"""End to end in a real browser (Debian's Chromium): review a session the way a guider does.

Open a session, play a moment, keep one, set one aside, trim one, write a note, reload and see it
all kept, swap parent and child, export. Screenshots go to $VIGCV_SCREENSHOTS when set.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.review.browser import chromium
from tests.review.outdir import write_processed_session
from vigcv.config import load_config
from vigcv.export import export_out
from vigcv.review.server import ReviewServer, make_server


def wait_for(check: Callable[[], Any], *, timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: last {last!r}")


@pytest.fixture
def processed_out(out_template: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(out_template, out)
    video = Path(json.loads((out / "family-a" / "run.json").read_text())["input"])
    write_processed_session(out, "home-visit", video)
    return out


@pytest.fixture
def live(processed_out: Path) -> Iterator[ReviewServer]:
    srv = make_server(processed_out, config=load_config(), exporter=export_out)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def shoot(browser: Any, name: str) -> None:
    folder = os.environ.get("VIGCV_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        browser.execute_script("window.scrollTo(0, 0)")
        height = browser.execute_script("return document.body.scrollHeight")
        browser.set_window_size(1400, max(900, min(2400, int(height) + 40)))
        browser.save_screenshot(str(Path(folder) / f"{name}.png"))
        browser.set_window_size(1400, 1000)


def severe_logs(browser: Any) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_a_guider_reviews_a_session(live: ReviewServer, processed_out: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with chromium() as b:
        css = lambda sel: b.find_element(By.CSS_SELECTOR, sel)  # noqa: E731
        b.get(live.url)
        wait_for(lambda: b.find_elements(By.CSS_SELECTOR, ".session-card"), what="sessions")
        assert b.current_url.endswith("/")  # the token is out of the address bar
        names = [
            e.get_attribute("data-session")
            for e in b.find_elements(By.CSS_SELECTOR, ".session-card")
        ]
        assert names == ["family-a", "family-b", "home-visit"]
        shoot(b, "1-sessions")
        css('[data-session="home-visit"]').click()
        wait_for(lambda: b.find_elements(By.CSS_SELECTOR, ".moment-card"), what="moment cards")
        doc = json.loads((processed_out / "home-visit" / "moments.json").read_text())
        moments = doc["moments"]
        assert len(moments) >= 2
        cards = b.find_elements(By.CSS_SELECTOR, ".moment-card")
        assert len(cards) == len(moments)
        wait_for(
            lambda: b.execute_script(
                "return [...document.querySelectorAll('.moment-card img')]"
                ".every(i => i.complete && i.naturalWidth === 320)"
            ),
            what="thumbnails",
        )
        assert len(b.find_elements(By.CSS_SELECTOR, "#timeline svg .tl-moment")) == len(moments)
        assert len(b.find_elements(By.CSS_SELECTOR, "#timeline svg polyline")) == 5

        # play the first moment: it starts a little before and runs
        first = moments[0]
        css("#play").click()
        state = "const v = document.getElementById('player'); return [v.currentTime, v.paused];"
        _t, paused = wait_for(
            lambda: (s := b.execute_script(state))[0] > max(0.0, first["start"] - 2.0) + 0.3 and s,
            what="the video to play",
        )
        assert not paused
        shoot(b, "2-playing")
        css("body").send_keys(Keys.SPACE)  # the play/pause key
        wait_for(lambda: b.execute_script(state)[1], what="paused by the space key")

        # keep moment 1 with the button; trim it; a note
        css("#accept").click()
        wait_for(lambda: css("#status").text == "Kept for the parent", what="kept")
        css("#start-later").click()
        wait_for(lambda: "kept" not in css("#start-time").text and css("#start-time").text
                 == _tenths(first["start"] + 0.5), what="trimmed start")  # fmt: skip
        css("#end-earlier").click()
        wait_for(lambda: css("#end-time").text == _tenths(first["end"] - 0.5), what="trimmed end")
        note = css("#note")
        note.click()
        note.send_keys("Lovely: she waits for his smile and answers it.")
        css("h1").click()  # leave the box: saves at once
        wait_for(lambda: "saved" in css("#note-state").text, what="note saved")

        # the next moment with the keyboard: set aside
        body = css("body")
        body.send_keys(Keys.ARROW_RIGHT)
        wait_for(lambda: css(".moment-card.selected").get_attribute("data-rank") == "2", what="2")
        body.send_keys("r")
        wait_for(lambda: css("#status").text == "Set aside", what="set aside")
        shoot(b, "3-reviewed")

        # reload: everything is still there
        b.refresh()
        wait_for(lambda: b.find_elements(By.CSS_SELECTOR, ".moment-card"), what="reloaded")
        assert css(".moment-card.selected").get_attribute("data-rank") == "2"
        assert css("#status").text == "Set aside"
        css('.moment-card[data-rank="1"]').click()
        wait_for(lambda: css("#status").text == "Kept for the parent", what="kept after reload")
        assert css("#start-time").text == _tenths(first["start"] + 0.5)
        assert css("#end-time").text == _tenths(first["end"] - 0.5)
        assert css("#note").get_attribute("value").startswith("Lovely: she waits")
        with sqlite3.connect(processed_out / "reviews.sqlite") as db:
            rows = db.execute(
                "SELECT status, trim_start, trim_end, note FROM decisions "
                "WHERE session='home-visit' ORDER BY start"
            ).fetchall()
            n_history = db.execute("SELECT COUNT(*) FROM history").fetchone()[0]
        assert rows[0][:3] == ("accepted", first["start"] + 0.5, first["end"] - 0.5)
        assert rows[1][0] == "rejected"
        assert n_history == 5

        # swap parent and child: outputs re-derived from the cache, decisions kept
        speech_csv = processed_out / "home-visit" / "speech.csv"
        speakers_before = pd.read_csv(speech_csv)["speaker"].tolist()
        css("#swap").click()
        wait_for(lambda: "swapped by you" in css("#roles").text, timeout=60, what="swap")
        assert json.loads((processed_out / "home-visit" / "roles.json").read_text())["swapped"]
        swap = {"parent": "child", "child": "parent"}
        assert pd.read_csv(speech_csv)["speaker"].tolist() == [
            swap.get(s, s) for s in speakers_before
        ]
        with sqlite3.connect(processed_out / "reviews.sqlite") as db:
            assert db.execute("SELECT COUNT(*) FROM history").fetchone()[0] == n_history

        # export: a clip of the kept moment, the ELAN file, the report
        css("#export").click()
        links = wait_for(
            lambda: b.find_elements(By.CSS_SELECTOR, ".exported a"), timeout=60, what="export"
        )
        names = {a.text for a in links}
        assert {"home-visit.eaf", "report.html", "decisions.csv"} <= names
        assert any(n.endswith(".mp4") for n in names)
        shoot(b, "4-exported")
        report = processed_out / "exports" / "home-visit" / "report.html"
        assert report.is_file()
        assert severe_logs(b) == []  # no CSP violation, no failed request

        # the report opens straight from disk, without the server
        b.get(report.as_uri())
        wait_for(lambda: b.find_elements(By.CSS_SELECTOR, ".card img"), what="report")
        assert b.execute_script(
            "return [...document.images].every(i => i.complete && i.naturalWidth > 0)"
        )
        assert "Lovely: she waits" in css("body").text
        shoot(b, "5-report")
        assert severe_logs(b) == []


def _tenths(seconds: float) -> str:
    mm = int(seconds // 60)
    return f"{mm:02d}:{seconds - 60 * mm:04.1f}"


def test_two_tabs_keep_each_others_changes(live: ReviewServer, processed_out: Path) -> None:
    """Tab 1 writes a note; tab 2, opened before, shows it when it comes to the front and keeps
    the same moment by keyboard; tab 1 shows that in turn; both changes are in the database."""
    from selenium.webdriver.common.by import By

    with chromium() as b:
        css = lambda sel: b.find_element(By.CSS_SELECTOR, sel)  # noqa: E731
        b.get(live.url)
        page = live.url.split("?")[0] + "#/s/home-visit/1"
        b.get(page)
        wait_for(lambda: css("#note"), what="tab 1")
        tab1 = b.current_window_handle
        b.switch_to.new_window("tab")
        b.get(page)
        wait_for(lambda: css("#note"), what="tab 2")
        tab2 = b.current_window_handle
        b.switch_to.window(tab1)
        note = css("#note")
        note.click()
        note.send_keys("Written in tab one")
        css("h1").click()
        wait_for(lambda: "saved" in css("#note-state").text, what="note saved")
        b.switch_to.window(tab2)
        b.execute_script("window.dispatchEvent(new Event('focus'))")
        wait_for(lambda: css("#note").get_attribute("value") == "Written in tab one", what="seen")
        css("body").send_keys("a")  # keep, from the other tab
        wait_for(lambda: css("#status").text == "Kept for the parent", what="kept in tab 2")
        b.switch_to.window(tab1)
        b.execute_script("window.dispatchEvent(new Event('focus'))")
        wait_for(lambda: css("#status").text == "Kept for the parent", what="tab 1 sees it")
        b.switch_to.window(tab2)
        b.refresh()
        wait_for(lambda: css("#note").get_attribute("value") == "Written in tab one", what="note")
        assert css("#status").text == "Kept for the parent"
        assert severe_logs(b) == []
    with sqlite3.connect(processed_out / "reviews.sqlite") as db:
        rows = db.execute("SELECT status, note FROM decisions").fetchall()
    assert rows == [("accepted", "Written in tab one")]
