"""The review server over HTTP: token, CSRF, origins, what may be served, Range, decisions."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.review.conftest import Client
from vigcv.review import security
from vigcv.review.server import STATIC_DIR, NoResultsError, ReviewServer, make_server


def test_every_request_needs_the_token(server: ReviewServer, client: Client) -> None:
    anon = Client(server.app.port, None, server.app.csrf)
    for path in ("/", "/api/sessions", "/static/app.js", "/media/family-a", "/files/x"):
        assert anon.request("GET", path)[0] == 403, path
    wrong = Client(server.app.port, "not-the-token", server.app.csrf)
    assert wrong.request("GET", "/api/sessions")[0] == 403
    # the first visit with ?token= sets an HttpOnly, SameSite=Strict cookie and hides the token
    status, headers, _ = anon.request("GET", f"/?token={server.app.token}")
    assert status == 303 and headers["location"] == "/"
    cookie = headers["set-cookie"]
    assert cookie.startswith(f"vigcv_review_{server.app.port}={server.app.token}")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, headers, body = client.request("GET", "/")
    assert status == 200 and server.app.csrf.encode() in body
    assert headers["content-security-policy"] == security.CSP
    assert "default-src 'none'" in security.CSP and "http" not in security.CSP
    # a foreign Host (DNS rebinding) is refused even with the token
    assert client.request("GET", "/api/sessions", headers={"Host": "evil.example:80"})[0] == 403


def test_state_changes_need_csrf_and_same_origin(client: Client) -> None:
    body = {"start": 1.0, "end": 4.0, "field": "status", "value": "accepted"}
    path = "/api/sessions/family-a/decision"
    assert client.request("POST", path, body=body, csrf=False)[0] == 403
    bad = {"X-Vigcv-Csrf": "guess"}
    assert client.request("POST", path, body=body, csrf=False, headers=bad)[0] == 403
    assert client.request("POST", path, body=body, origin=False)[0] == 403
    evil = {"Origin": "http://evil.example"}
    assert client.request("POST", path, body=body, headers=evil)[0] == 403
    cross = {"Sec-Fetch-Site": "cross-site"}
    assert client.request("POST", path, body=body, headers=cross)[0] == 403
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.request("POST", path, body=body, headers=form)[0] == 415
    status, data = client.json("GET", "/api/sessions/family-a")
    assert all(m["decision"] is None for m in data["moments"])
    status, data = client.json("POST", path, body=body)
    assert status == 200 and data["decision"]["status"] == "accepted"


@pytest.mark.parametrize(
    "path",
    [
        "/files/../media/play.mp4",
        "/files/%2e%2e/media/play.mp4",
        "/files/%2E%2E%2Fmedia%2Fplay.mp4",
        "/files/family-a/..%2f..%2fmedia/play.mp4",
        "/files/%252e%252e/media/play.mp4",
        "/files//etc/passwd",
        "/files/%2fetc%2fpasswd",
        "/files/family-a/%00run.json",
        "/files/family-a\\..\\..\\media\\play.mp4",
        "/files/reviews.sqlite",
        "/files/.hidden",
        "/files/outside-link/play.mp4",
        "/files/link-to-passwd",
        "/media/..%2fmedia",
        "/media/%2e%2e",
        "/api/sessions/..%2f..",
        "/static/..%2fserver.py",
        "/static/index.html",
    ],
)
def test_nothing_outside_out_is_served(out_dir: Path, client: Client, path: str) -> None:
    media = Path(json.loads((out_dir / "family-a" / "run.json").read_text())["input"]).parent
    assert (media / "play.mp4").is_file()
    (out_dir / "outside-link").symlink_to(media, target_is_directory=True)
    (out_dir / "link-to-passwd").symlink_to("/etc/passwd")
    (out_dir / ".hidden").write_text("secret")
    status, _, body = client.request("GET", path)
    assert status in (400, 403, 404), (path, status)
    assert b"root:" not in body and not body.startswith(b"\x00\x00\x00")


def test_files_inside_out_are_served(out_dir: Path, client: Client) -> None:
    (out_dir / "family-a" / "inner").symlink_to(out_dir / "family-a" / "run.json")
    for path in ("/files/family-a/run.json", "/files/family-a/inner", "/files/family-a/run%2Ejson"):
        status, _, body = client.request("GET", path)
        assert status == 200, path
        assert json.loads(body)["session"] == "family-a"


def test_the_player_gets_the_recording_with_ranges(out_dir: Path, client: Client) -> None:
    video = Path(json.loads((out_dir / "family-a" / "run.json").read_text())["input"])
    data = video.read_bytes()
    status, headers, body = client.request("GET", "/media/family-a")
    assert status == 200 and body == data and headers["accept-ranges"] == "bytes"
    assert headers["content-type"] == "video/mp4"
    status, headers, body = client.request(
        "GET", "/media/family-a", headers={"Range": "bytes=100-199"}
    )
    assert status == 206 and body == data[100:200]
    assert headers["content-range"] == f"bytes 100-199/{len(data)}"
    status, _, body = client.request("GET", "/media/family-a", headers={"Range": "bytes=-50"})
    assert status == 206 and body == data[-50:]
    status, _, body = client.request("GET", "/media/family-a", headers={"Range": "bytes=1000-"})
    assert status == 206 and body == data[1000:]
    status, headers, _ = client.request(
        "GET", "/media/family-a", headers={"Range": f"bytes={len(data) + 5}-"}
    )
    assert status == 416 and headers["content-range"] == f"bytes */{len(data)}"
    # run.json naming a file that is not a recording is not served
    run = json.loads((out_dir / "family-b" / "run.json").read_text())
    run["input"] = "/etc/passwd"
    (out_dir / "family-b" / "run.json").write_text(json.dumps(run))
    assert client.request("GET", "/media/family-b")[0] == 404


def test_static_files_load_nothing_from_elsewhere() -> None:
    for path in STATIC_DIR.iterdir():
        text = path.read_text(encoding="utf-8")
        urls = re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", text)
        assert set(urls) <= {"http://www.w3.org/2000/svg"}, (path.name, urls)
        assert "@import" not in text and "url(" not in text


def test_session_api_and_thumbnails(client: Client) -> None:
    status, data = client.json("GET", "/api/sessions")
    assert status == 200
    assert [s["name"] for s in data["sessions"]] == ["family-a", "family-b"]
    status, data = client.json("GET", "/api/sessions/family-a")
    assert [m["rank"] for m in data["moments"]] == [1, 2, 3] and data["has_media"]
    status, data = client.json("GET", "/api/sessions/family-a/timeline")
    assert data["duration"] == pytest.approx(12.0)
    assert {"mutual_gaze", "contingency", "score"} <= set(data["windows"])
    assert {s["speaker"] for s in data["speech"]} == {"parent", "child"}
    status, headers, jpeg = client.request("GET", "/api/sessions/family-a/thumb/2.jpg")
    assert status == 200 and jpeg[:3] == b"\xff\xd8\xff" and headers["content-type"] == "image/jpeg"
    import cv2
    import numpy as np

    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[1] == 320 and img.std() > 30  # a real picture, not a blank frame
    assert client.request("GET", "/api/sessions/family-a/thumb/9.jpg")[0] == 404
    assert client.request("GET", "/api/sessions/nobody")[0] == 404


def test_two_tabs_writing_the_same_moment_keep_both(client: Client) -> None:
    """Tab 1 writes notes while tab 2 trims and decides: every field keeps its last value."""
    errors: list[BaseException] = []

    def tab(field: str, values: list[object]) -> None:
        try:
            for v in values:
                client.decide("family-a", 5.0, 8.0, field, v)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=tab, args=("note", [f"seen {i}" for i in range(15)])),
        threading.Thread(target=tab, args=("trim_end", [7.0 + 0.05 * i for i in range(15)])),
        threading.Thread(target=tab, args=("status", ["rejected", "accepted"] * 7 + ["accepted"])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    _status, data = client.json("GET", "/api/sessions/family-a")
    d = data["moments"][1]["decision"]
    assert (d["note"], d["trim_end"], d["status"]) == ("seen 14", pytest.approx(7.7), "accepted")
    assert data["moments"][1]["bounds"] == [5.0, pytest.approx(7.7)]


def test_decisions_survive_rescoring_and_stale_pages_are_told(
    out_dir: Path, client: Client
) -> None:
    from tests.review.outdir import moments_doc

    client.decide("family-a", 1.0, 4.0, "status", "accepted")
    client.decide("family-a", 8.5, 11.5, "note", "turns!")
    # `vigcv score` rewrites moments.json: bounds move a little, order changes
    doc = moments_doc("family-a", shift=0.4)
    doc["moments"] = doc["moments"][::-1]
    for rank, m in enumerate(doc["moments"], 1):
        m["rank"] = rank
    (out_dir / "family-a" / "moments.json").write_text(json.dumps(doc))
    status, data = client.json("GET", "/api/sessions/family-a")
    by_start = {round(m["start"], 1): m["decision"] for m in data["moments"]}
    assert by_start[1.4]["status"] == "accepted" and by_start[8.9]["note"] == "turns!"
    assert by_start[5.4] is None and data["orphaned"] == []
    # a page still showing the old bounds is told to reload, nothing is written
    status, body = client.json(
        "POST", "/api/sessions/family-a/decision",
        body={"start": 1.0, "end": 4.0, "field": "status", "value": "rejected"},
    )  # fmt: skip
    assert status == 409 and "reload" in body["error"]
    assert by_start[1.4]["status"] == "accepted"


def test_review_database_is_created_in_out_only(out_dir: Path, server: ReviewServer) -> None:
    assert (out_dir / "reviews.sqlite").is_file()
    media = Path(json.loads((out_dir / "family-a" / "run.json").read_text())["input"]).parent
    assert sorted(os.listdir(media)) == ["play.mp4"]


def test_failed_sessions_are_listed_with_their_reason(out_dir: Path, client: Client) -> None:
    (out_dir / "summary.csv").write_text(
        "session,input,status,reason,media_duration_s,processing_s,moments,notes\n"
        "family-a,/x/a.mp4,ok,,12.0,3.0,3,\n"
        "broken,/x/broken.mp4,failed,/x/broken.mp4: file is empty (0 bytes),0,0,0,\n"
    )
    _, data = client.json("GET", "/api/sessions")
    rows = {s["name"]: s for s in data["sessions"]}
    assert list(rows) == ["family-a", "family-b", "broken"]
    assert rows["broken"]["status"] == "failed" and "empty" in rows["broken"]["reason"]
    assert client.request("GET", "/api/sessions/broken")[0] == 404


def test_exported_reports_are_served_without_scripts(out_dir: Path, client: Client) -> None:
    client.decide("family-a", 1.0, 4.0, "status", "accepted")
    status, data = client.json("POST", "/api/sessions/family-a/export", body={})
    assert status == 200 and data["clips"] == 1
    urls = {f["name"]: f["url"] for f in data["files"]}
    assert re.fullmatch(
        r"/files/exports/family-a/[0-9_-]+-parent/report\.html", urls["report.html"]
    )
    status, headers, body = client.request("GET", urls["report.html"])
    assert status == 200 and b"Moment 1" in body
    csp = headers["content-security-policy"]
    assert csp == security.DOCUMENT_CSP and "script-src 'none'" in csp
    assert "media-src 'self'" in csp and "form-action 'none'" in csp
    clip = next(u for n, u in urls.items() if n.endswith(".mp4"))
    status, headers, body = client.request("GET", clip, headers={"Range": "bytes=0-7"})
    assert status == 206 and body[4:8] == b"ftyp"


# -- a folder without results (issue 23) -----------------------------------------------------------


def _vigcv_review(folder: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "vigcv.cli", "review", str(folder), "--no-browser"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip


def test_a_folder_without_results_is_refused_and_left_untouched(tmp_path: Path) -> None:
    films = tmp_path / "films"  # what a guider might give by mistake: the recordings
    films.mkdir()
    (films / "visit.mp4").write_bytes(b"not really a film")
    before = sorted(p.name for p in films.rglob("*"))
    with pytest.raises(NoResultsError, match="no results of `vigcv run` here"):
        make_server(films)
    proc = _vigcv_review(films)
    assert proc.returncode == 2, proc.stderr
    assert "no results of `vigcv run` here" in proc.stderr and str(films) in proc.stderr
    assert "give the --out folder of `vigcv run`" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert proc.stdout == ""  # no address printed: no server started
    assert sorted(p.name for p in films.rglob("*")) == before  # no reviews.sqlite, nothing else


def test_a_session_folder_is_refused_with_the_folder_to_give(out_dir: Path) -> None:
    session = out_dir / "family-a"
    proc = _vigcv_review(session)
    assert proc.returncode == 2, proc.stderr
    assert f"give the folder that holds it: vigcv review {out_dir}" in proc.stderr
    assert not (session / "reviews.sqlite").exists()


def test_an_out_folder_with_only_failed_sessions_still_opens(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.csv").write_text(
        "session,input,status,reason,media_duration_s,processing_s,moments,notes\n"
        "broken,/x/broken.mp4,failed,/x/broken.mp4: file is empty (0 bytes),0,0,0,\n"
    )
    srv = make_server(out)  # the guider sees why it failed on the page
    srv.server_close()
    assert (out / "reviews.sqlite").is_file()


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# "ignored": started with Ctrl+C ignored, as a shell starts a job in the background (Python then
# raises no KeyboardInterrupt unless the command asks for it; before it did, the page never
# stopped)
@pytest.mark.parametrize("interrupts", ["default", "ignored"])
def test_stopping_names_the_real_database_and_the_link_is_called_private(
    out_dir: Path, interrupts: str
) -> None:
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigcv.cli", "review", str(out_dir), "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=_ignore_interrupts if interrupts == "ignored" else None,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)", line)
        assert match, line
        # an answer means serve_forever is running: Ctrl+C now stops the page, not the start-up
        page = Client(int(match.group(1)), match.group(2), None).request("GET", "/")
        assert page[0] == 200
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"every decision is saved in {out_dir.resolve() / 'reviews.sqlite'}" in err
    assert "OUT/reviews.sqlite" not in err
    assert "private link" in err and "one-time" not in err
