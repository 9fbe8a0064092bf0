"""The parent's report in a real browser (Debian's Chromium), opened from disk with no server.

Its clips load and play from the files beside it, nothing is blocked or missing (no console
errors), and the set-aside moment, the undecided one and the private note are nowhere in the
page. Screenshots go to $VIGCV_SCREENSHOTS when set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.export.test_export import FOR_PARENT, PRIVATE, _decide_one_of_each
from tests.review.browser import chromium, wait_for
from vigcv.export import export_out


def shoot(browser: Any, name: str, width: int = 1400) -> None:
    folder = os.environ.get("VIGCV_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        height = browser.execute_script("return document.body.scrollHeight")
        browser.set_window_size(width, max(700, min(2400, int(height) + 40)))
        browser.save_screenshot(str(Path(folder) / f"{name}.png"))


def test_the_parents_report_plays_its_clips_from_disk(out_dir: Path) -> None:
    from selenium.webdriver.common.by import By

    _decide_one_of_each(out_dir)
    with_kept_two = export_out(out_dir, sessions=["family-a"])
    (folder,) = with_kept_two.folders
    report = folder / "report.html"
    with chromium() as b:
        b.get(report.as_uri())  # file://, no server anywhere
        videos = wait_for(lambda: b.find_elements(By.CSS_SELECTOR, "video"), what="the report")
        assert len(videos) == 1
        wait_for(
            lambda: b.execute_script(
                "return [...document.querySelectorAll('video')].every(v => v.readyState >= 1)"
            ),
            what="the clips' metadata",
        )
        duration = b.execute_script("return document.querySelector('video').duration")
        assert abs(duration - 3.0) < 0.2
        # it plays: time moves on (muted, as a browser lets a page start playing by itself)
        b.execute_script("const v = document.querySelector('video'); v.muted = true; v.play()")
        wait_for(
            lambda: b.execute_script("return document.querySelector('video').currentTime > 0.3"),
            what="the clip to play",
        )
        src = b.execute_script("return document.querySelector('video').currentSrc")
        assert src == (folder / "clips" / "family-a-moment1-00m01s.mp4").as_uri()
        assert b.execute_script("return document.querySelector('video').poster").startswith(
            "data:image/jpeg;base64,"
        )
        page = b.execute_script("return document.documentElement.outerHTML")
        text = b.find_element(By.TAG_NAME, "body").text
        assert FOR_PARENT in text and "They look at each other for 2 s." in text
        for absent in (PRIVATE, "undecided, think", "within a second", "3 exchanges",
                       "Moment 2", "Moment 3", "Taking turns", "Answering each other"):  # fmt: skip
            assert absent not in page, absent
        assert not b.find_elements(By.CSS_SELECTOR, ".bars, .bar, svg, .guider-only")
        shoot(b, "parent-report")
        severe = [e["message"] for e in b.get_log("browser") if e["level"] == "SEVERE"]
        assert severe == []
        # the guider's version, opened the same way, shows its mark first and its clip plays
        guider = export_out(out_dir, sessions=["family-a"], audience="guider").folders[0]
        b.get((guider / "report.html").as_uri())
        mark = wait_for(lambda: b.find_element(By.CSS_SELECTOR, ".guider-only"), what="mark")
        assert mark.text.startswith("Guider's version: not for sharing")
        assert mark.location["y"] < b.find_element(By.TAG_NAME, "header").location["y"]
        assert PRIVATE in b.find_element(By.TAG_NAME, "body").text
        wait_for(
            lambda: b.execute_script(
                "return [...document.querySelectorAll('video')].every(v => v.readyState >= 1)"
            ),
            what="the guider's clips",
        )
        shoot(b, "guider-report")
        severe = [e["message"] for e in b.get_log("browser") if e["level"] == "SEVERE"]
        assert severe == []
