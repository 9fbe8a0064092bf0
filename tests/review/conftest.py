"""Fixtures of the review tests: an OUT folder around a real short video, a running server."""

from __future__ import annotations

import http.client
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.review.outdir import make_out
from vigcv.config import load_config
from vigcv.export import export_out
from vigcv.review.server import ReviewServer, make_server


@pytest.fixture(scope="session")
def out_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUT with two sessions (built once); copy it before changing anything."""
    return make_out(tmp_path_factory.mktemp("review-template"))


@pytest.fixture
def out_dir(out_template: Path, tmp_path: Path) -> Path:
    """A private copy of OUT; the recording stays outside it (shared, read-only)."""
    out = tmp_path / "out"
    shutil.copytree(out_template, out)
    return out


@pytest.fixture
def server(out_dir: Path) -> Iterator[ReviewServer]:
    srv = make_server(out_dir, config=load_config(), exporter=export_out)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


class Client:
    """A raw HTTP client for one server: sends paths byte for byte, cookie and CSRF optional."""

    def __init__(self, port: int, token: str | None, csrf: str | None) -> None:
        self.port, self.token, self.csrf = port, token, csrf

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        csrf: bool = True,
        origin: bool = True,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        hdrs = {"Host": f"127.0.0.1:{self.port}"}
        if auth and self.token:
            hdrs["Cookie"] = f"vigcv_review_{self.port}={self.token}"
        if method == "POST":
            hdrs["Content-Type"] = "application/json"
            if csrf and self.csrf:
                hdrs["X-Vigcv-Csrf"] = self.csrf
            if origin:
                hdrs["Origin"] = f"http://127.0.0.1:{self.port}"
        hdrs.update(headers or {})
        data = None if body is None else json.dumps(body).encode()
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if data is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload

    def json(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        status, _, payload = self.request(method, path, **kw)
        return status, json.loads(payload) if payload else None

    def decide(self, session: str, start: float, end: float, field: str, value: Any) -> Any:
        status, data = self.json(
            "POST",
            f"/api/sessions/{session}/decision",
            body={"start": start, "end": end, "field": field, "value": value, "reviewer": "T"},
        )
        assert status == 200, data
        return data["decision"]


@pytest.fixture
def client(server: ReviewServer) -> Client:
    return Client(server.app.port, server.app.token, server.app.csrf)
