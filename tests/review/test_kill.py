"""A `kill -9` of the review server between actions loses no decision."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.review.conftest import Client


def _start(out: Path) -> tuple[subprocess.Popen[str], Client]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigcv.cli", "review", str(out), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    line = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "http://" in line or proc.poll() is not None:
            break
    match = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)", line)
    assert match, f"no address printed: {line!r}"
    port, token = int(match.group(1)), match.group(2)
    # the CSRF token is in the page
    page = Client(port, token, None).request("GET", "/")[2].decode()
    csrf = re.search(r'name="vigcv-csrf" content="([^"]+)"', page)
    assert csrf
    return proc, Client(port, token, csrf.group(1))


def test_kill_9_between_actions_loses_nothing(out_dir: Path) -> None:
    proc, client = _start(out_dir)
    try:
        client.decide("family-a", 1.0, 4.0, "status", "accepted")
        client.decide("family-a", 1.0, 4.0, "trim_start", 1.5)
        client.decide("family-a", 5.0, 8.0, "status", "rejected")
        client.decide("family-a", 8.5, 11.5, "note", "Lovely turn-taking")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    proc2, client2 = _start(out_dir)
    try:
        assert client2.port != client.port or client2.token != client.token  # a new token
        status, data = client2.json("GET", "/api/sessions/family-a")
        assert status == 200
        got = [m["decision"] for m in data["moments"]]
        assert got[0]["status"] == "accepted" and got[0]["trim_start"] == 1.5
        assert data["moments"][0]["bounds"] == [1.5, 4.0]
        assert got[1]["status"] == "rejected"
        assert got[2]["note"] == "Lovely turn-taking" and got[2]["status"] == ""
        # the old token no longer opens anything
        old = Client(client2.port, client.token, client.csrf)
        assert old.request("GET", "/api/sessions")[0] == 403
        status, data = client2.json("GET", "/api/sessions")
        assert data["sessions"][0]["accepted"] == 1 and data["sessions"][0]["rejected"] == 1
    finally:
        proc2.kill()
        proc2.wait(timeout=10)
