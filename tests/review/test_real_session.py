"""Review a session that `vigcv run` really processed (a real clip from ../shared/eval)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from tests.review.browser import chromium
from tests.review.conftest import Client
from vigcv.config import load_config
from vigcv.export import export_out
from vigcv.io import probe
from vigcv.review.server import make_server

CLIP = "6c6MZQ.joke3.rep2.take1.Peekaboo.mp4"  # 5.8 s, the parent on the left


@pytest.fixture(scope="session")
def real_out(shared_eval: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vigcv.pipeline import run_session

    out = tmp_path_factory.mktemp("real-review") / "out"
    result = run_session(shared_eval / "parent-child" / CLIP, out / "peekaboo")
    assert result.status == "ok"
    return out


def test_review_and_export_a_really_processed_session(real_out: Path) -> None:
    from selenium.webdriver.common.by import By

    doc = json.loads((real_out / "peekaboo" / "moments.json").read_text())
    moments = doc["moments"]
    assert moments, "the pipeline suggested no moment on a real clip"
    server = make_server(real_out, config=load_config(), exporter=export_out)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        client = Client(server.app.port, server.app.token, server.app.csrf)
        status, data = client.json("GET", "/api/sessions/peekaboo/timeline")
        assert status == 200 and data["duration"] == pytest.approx(5.8, abs=0.3)
        assert len(data["signals"]["t"]) > 20 and data["windows"]["t"]
        first = moments[0]
        client.decide("peekaboo", first["start"], first["end"], "status", "accepted")
        with chromium() as b:
            b.get(server.url)
            b.get(server.url.split("?")[0] + "#/s/peekaboo")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                cards = b.find_elements(By.CSS_SELECTOR, ".moment-card")
                loaded = b.execute_script(
                    "const i = [...document.querySelectorAll('.moment-card img')];"
                    "return i.length > 0 && i.every(x => x.complete && x.naturalWidth > 0)"
                )
                if len(cards) == len(moments) and loaded:
                    break
                time.sleep(0.1)
            assert len(cards) == len(moments) and loaded
            assert "✓ Kept" in cards[0].text  # the card's short badge
            reasons = b.find_element(By.CSS_SELECTOR, ".reasons").text
            assert reasons.strip() and reasons.splitlines()[0] == first["reasons"][0]
            severe = [e for e in b.get_log("browser") if e["level"] == "SEVERE"]
            assert severe == []
    finally:
        server.shutdown()
        server.server_close()
    result = export_out(real_out)
    assert result.clips == 1
    (clip,) = (result.folders[0] / "clips").glob("*.mp4")
    length = first["end"] - first["start"]
    assert probe(clip).duration == pytest.approx(length, abs=0.25)
