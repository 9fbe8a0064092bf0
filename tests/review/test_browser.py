"""End to end in a real browser (Debian's Chromium): review a session the way a guider does.

Open a session, play a moment, keep one, set one aside, trim one, write both notes, reload and see
it all kept, swap parent and child, export the parent's and the guider's versions; play freely
with the video's own controls; the layout at a small laptop's and a phone's size; a film that
was moved. Screenshots go to $VIGCV_SCREENSHOTS when set.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.review.browser import chromium, wait_for
from tests.review.outdir import write_processed_session
from vigcv.config import load_config
from vigcv.export import export_out
from vigcv.review.server import ReviewServer, make_server


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


def _inner_size(browser: Any) -> list[int]:
    """innerWidth, innerHeight once two reads 50 ms apart agree (a resize lands a moment after
    the call that asked for it; read at once, the page can still report the old size)."""
    last = browser.execute_script("return [innerWidth, innerHeight]")
    for _ in range(40):
        time.sleep(0.05)
        now = browser.execute_script("return [innerWidth, innerHeight]")
        if now == last:
            return now
        last = now
    return last


def viewport(browser: Any, width: int, height: int) -> None:
    """Make the page's viewport (innerWidth x innerHeight) exactly this size: the window is
    resized, and then corrected by what the window's frame takes, until the page agrees."""
    browser.set_window_size(width, height)
    for _ in range(5):
        inner = _inner_size(browser)
        if inner == [width, height]:
            return
        outer = browser.get_window_size()
        browser.set_window_size(
            outer["width"] + width - inner[0], outer["height"] + height - inner[1]
        )
    assert _inner_size(browser) == [width, height]


def rect(browser: Any, selector: str) -> dict[str, float]:
    return browser.execute_script(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};",
        selector,
    )


def in_view(browser: Any, selector: str) -> bool:
    r = rect(browser, selector)
    w, h = browser.execute_script("return [innerWidth, innerHeight]")
    return r["top"] >= 0 and r["bottom"] <= h and r["left"] >= 0 and r["right"] <= w


def shoot_here(browser: Any, name: str) -> None:
    """A screenshot of the viewport as it is (its size kept), to $VIGCV_SCREENSHOTS when set."""
    folder = os.environ.get("VIGCV_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(folder) / f"{name}.png"))


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
        for_parent = css("#parent-note")
        for_parent.click()
        for_parent.send_keys("You waited for him and he smiled back.")
        css("h1").click()
        wait_for(lambda: "saved" in css("#parent-note-state").text, what="parent's note saved")

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
        parent_note = css("#parent-note").get_attribute("value")
        assert parent_note == "You waited for him and he smiled back."
        with sqlite3.connect(processed_out / "reviews.sqlite") as db:
            rows = db.execute(
                "SELECT status, trim_start, trim_end, note, parent_note FROM decisions "
                "WHERE session='home-visit' ORDER BY start"
            ).fetchall()
            n_history = db.execute("SELECT COUNT(*) FROM history").fetchone()[0]
        assert rows[0][:3] == ("accepted", first["start"] + 0.5, first["end"] - 0.5)
        assert rows[0][3].startswith("Lovely") and rows[0][4].startswith("You waited")
        assert rows[1][0] == "rejected"
        assert n_history == 6

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

        # export for the parent: only the kept moment, with the note for the parent
        css("#export-jump").click()
        css("#export-parent").click()
        links = wait_for(
            lambda: b.find_elements(By.CSS_SELECTOR, ".exported.parent a"),
            timeout=60,
            what="export",
        )
        names = {a.text for a in links}
        assert "report.html" in names
        assert [n for n in names if n.endswith(".mp4")] and len(names) >= 2
        said = css(".exported").text
        assert "only the moments you kept" in said and "no private notes" in said
        parent_dirs = sorted((processed_out / "exports" / "home-visit").glob("*-parent"))
        assert len(parent_dirs) == 1 and str(parent_dirs[0]) in said
        shoot(b, "4-exported")
        # the guider's version, marked as such, in its own folder: the parent's is kept
        css("#export-guider").click()
        wait_for(lambda: b.find_elements(By.CSS_SELECTOR, ".exported.guider a"), timeout=60,
                 what="guider's export")  # fmt: skip
        assert "Not for sharing" in css(".exported").text
        assert sorted((processed_out / "exports" / "home-visit").glob("*-parent")) == parent_dirs
        assert len(list((processed_out / "exports" / "home-visit").glob("*-guider"))) == 1
        assert severe_logs(b) == []  # no CSP violation, no failed request
        # the parent's report opened from the page's link plays its clip through the server
        b.get(
            live.url.split("?")[0].rstrip("/")
            + "/files/"
            + str((parent_dirs[0] / "report.html").relative_to(processed_out))
        )
        wait_for(lambda: b.find_elements(By.CSS_SELECTOR, "video"), what="report via the page")
        b.execute_script("document.querySelector('video').muted = true;"
                         "document.querySelector('video').play()")  # fmt: skip
        wait_for(lambda: b.execute_script("return document.querySelector('video').currentTime")
                 > 0.5, what="the clip to play through the page")  # fmt: skip
        assert severe_logs(b) == []

        # the parent's report opens straight from disk, without the server, and plays its clip
        report = parent_dirs[0] / "report.html"
        b.get(report.as_uri())
        wait_for(lambda: b.find_elements(By.CSS_SELECTOR, "video"), what="report")
        text = css("body").text
        assert "You waited for him and he smiled back." in text
        assert "Lovely: she waits" not in text  # the private note stays private
        assert len(b.find_elements(By.CSS_SELECTOR, "video")) == 1  # the kept moment only
        b.execute_script("document.querySelector('video').muted = true;"
                         "document.querySelector('video').play()")  # fmt: skip
        wait_for(lambda: b.execute_script("return document.querySelector('video').currentTime")
                 > 0.5, what="the clip to play from disk")  # fmt: skip
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


def test_the_videos_own_controls_play_anywhere_and_a_moment_stops_at_its_end(
    live: ReviewServer,
) -> None:
    """Moment 1 of family-a is 1-4 s, played 0-6 s with its context. Seeking to 7 s and pressing
    the video's own play goes on playing; the page's "Play moment" stops at 6 s; the video's own
    play button then plays on from there; Space after a seek of one's own plays on, not back."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    state = "const v = document.getElementById('player'); return [v.currentTime, v.paused];"
    with chromium() as b:
        css = lambda sel: b.find_element(By.CSS_SELECTOR, sel)  # noqa: E731
        b.get(live.url)
        b.get(live.url.split("?")[0] + "#/s/family-a/1")
        wait_for(lambda: b.execute_script("return document.getElementById('player').readyState")
                 >= 1, what="the film's metadata")  # fmt: skip
        # what the video's own controls do: seek (not the page's own seek), then play
        b.execute_script("const v = document.getElementById('player'); v.muted = true;"
                         "v.currentTime = 7.0; v.play();")  # fmt: skip
        t, paused = wait_for(lambda: (x := b.execute_script(state))[0] > 8.2 and x, timeout=15,
                             what="free playback past 8.2 s")  # fmt: skip
        assert not paused
        # Space pauses; Space again plays on from here (the guider moved the video), not from 0
        css("body").send_keys(Keys.SPACE)
        t, _ = wait_for(lambda: (x := b.execute_script(state))[1] and x, what="paused")
        css("body").send_keys(Keys.SPACE)
        wait_for(lambda: (x := b.execute_script(state))[0] > t + 0.5 and not x[1],
                 what="Space plays on")  # fmt: skip
        assert b.execute_script(state)[0] > 7.0

        # the page's "Play moment" plays 0-6 s and stops there by itself
        b.execute_script("document.getElementById('player').pause()")
        css("#play").click()
        wait_for(lambda: (x := b.execute_script(state))[0] < 5.5 and not x[1],
                 what="the moment playing")  # fmt: skip
        t, paused = wait_for(lambda: (x := b.execute_script(state))[1] and x, timeout=20,
                             what="the stop at the moment's end")  # fmt: skip
        assert 6.0 <= t < 6.8, t
        time.sleep(0.5)
        assert b.execute_script(state)[1]  # stays stopped
        # the video's own play button after the stop: plays on past the moment
        b.execute_script("document.getElementById('player').play()")
        wait_for(lambda: (x := b.execute_script(state))[0] > 7.2 and not x[1], timeout=15,
                 what="playing on after the moment")  # fmt: skip
        assert severe_logs(b) == []


def test_decisions_stay_in_view_on_a_small_laptop_and_a_phone(live: ReviewServer) -> None:
    """1024x700: keep / set aside of the current moment in view without scrolling, the reasons
    within a short scroll. 390x844: in view once the player is scrolled to; nothing is wider
    than the screen. The timeline has one lane per signal and a band per moment."""
    from selenium.webdriver.common.by import By

    page = live.url.split("?")[0] + "#/s/home-visit/1"
    with chromium() as b:
        b.get(live.url)
        viewport(b, 1024, 700)
        b.get(page)
        wait_for(lambda: b.find_elements(By.CSS_SELECTOR, "#accept"), what="the session")
        wait_for(lambda: b.find_elements(By.CSS_SELECTOR, "#timeline svg"), what="timeline")
        assert b.execute_script("return scrollY") == 0
        assert in_view(b, "#accept") and in_view(b, "#reject") and in_view(b, "#play")
        assert in_view(b, "#player")
        assert rect(b, "#reasons")["top"] < 700 + 150  # the reasons: a short scroll at most
        shoot_here(b, "6-laptop-1024x700")

        # one lane per signal, each drawn; the moments as bands across them
        lanes = b.execute_script(
            "return [...document.querySelectorAll('#timeline [data-signal]')].map(g => "
            "[g.dataset.signal, g.querySelectorAll('path, rect:not(.tl-lane)').length])"
        )
        signals = [name for name, _ in lanes]
        assert signals == ["score", "mutual_gaze", "parent_smile", "child_smile", "parent", "child"]
        assert all(drawn > 0 for _, drawn in lanes), lanes
        bands = b.find_elements(By.CSS_SELECTOR, "#timeline .tl-moment")
        top, bottom = (
            rect(b, "#timeline [data-signal=score] .tl-lane"),
            rect(b, "#timeline [data-signal=child] .tl-lane"),
        )
        band = bands[0].rect
        assert band["y"] <= top["top"] + b.execute_script("return scrollY")
        assert band["y"] + band["height"] >= bottom["bottom"] + b.execute_script("return scrollY")
        # kept / set aside / undecided differ by more than colour: a mark and a line style
        b.find_element(By.CSS_SELECTOR, "body").send_keys("a")
        wait_for(lambda: b.find_element(By.CSS_SELECTOR, "#status").text == "Kept for the parent",
                 what="kept")  # fmt: skip
        b.find_element(By.CSS_SELECTOR, ".moment-card[data-rank='2']").click()
        b.find_element(By.CSS_SELECTOR, "body").send_keys("r")
        wait_for(lambda: b.find_element(By.CSS_SELECTOR, "#status").text == "Set aside",
                 what="set aside")  # fmt: skip
        marks = b.execute_script(
            "return [...document.querySelectorAll('#timeline .tl-rank')].map(t => t.textContent)"
        )
        assert "✓1" in marks and "✕2" in marks
        assert len(b.find_elements(By.CSS_SELECTOR, "#timeline .tl-hatch")) == 1
        dashes = b.execute_script(
            "const dash = (sel) => getComputedStyle(document.querySelector(sel)).strokeDasharray;"
            "return [dash('#timeline .tl-moment.accepted'), dash('.legend .tl-moment.pending')]"
        )  # moment 1 (kept, not selected now) solid; not decided dashed, as in the legend
        assert dashes[0] == "none" and dashes[1] != "none", dashes

        viewport(b, 390, 844)
        b.get(live.url.split("?")[0] + "#/")
        b.get(page)
        wait_for(lambda: b.find_elements(By.CSS_SELECTOR, "#accept"), what="the session")
        b.execute_script("document.getElementById('player').scrollIntoView({block: 'start'})")
        time.sleep(0.3)
        assert in_view(b, "#accept") and in_view(b, "#reject"), rect(b, "#accept")
        assert b.execute_script("return document.documentElement.scrollWidth") <= 390
        shoot_here(b, "7-phone-390x844")
        assert severe_logs(b) == []


def test_a_moved_film_says_what_to_do_where_the_player_would_be(
    processed_out: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    moved = tmp_path / "moved.mp4"
    run_path = processed_out / "family-a" / "run.json"
    run = json.loads(run_path.read_text())
    shutil.copy(run["input"], moved)
    run["input"] = str(tmp_path / "gone" / "moved.mp4")  # not there any more
    run_path.write_text(json.dumps(run))
    srv = make_server(processed_out, config=load_config(), exporter=export_out)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        with chromium() as b:
            css = lambda sel: b.find_element(By.CSS_SELECTOR, sel)  # noqa: E731
            b.get(srv.url)
            wait_for(lambda: b.find_elements(By.CSS_SELECTOR, ".session-card"), what="sessions")
            assert "Film not found" in css('[data-session="family-a"]').text
            assert "Film not found" not in css('[data-session="family-b"]').text
            css('[data-session="family-a"]').click()
            hint = wait_for(lambda: css("#recording-hint"), what="the hint")
            assert not b.find_elements(By.CSS_SELECTOR, "#player")
            assert str(tmp_path / "gone" / "moved.mp4") in hint.text
            command = css("#recording-hint code.cmd").text
            assert command.startswith(f"vigcv relink {processed_out}")
            assert css("#recording-hint button.copy").is_displayed()
            assert in_view(b, "#recording-hint code.cmd")
            # the moments can still be decided
            css("#accept").click()
            wait_for(lambda: css("#status").text == "Kept for the parent", what="kept")
            shoot_here(b, "8-film-moved")
            assert severe_logs(b) == []
    finally:
        srv.shutdown()
        srv.server_close()
