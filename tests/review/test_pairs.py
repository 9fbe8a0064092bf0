"""Whose moment it is, and the moments of a session's other parent-child pairs (issue 24 item 3):
the API names each pair from the guider's names (else in plain words), serves one more pair's
moments, timeline and thumbnails, keeps a pair's decisions apart from the session's own (even on
the very same seconds of film), keeps them through a re-score, an old reviews.sqlite keeps its
decisions when it gains the pair column, `vigcv forget` removes them; in a browser the guider
switches to the other pair, sees whose moments they are and keeps one.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.review.conftest import Client
from tests.review.outdir import make_out
from tests.review.pairsdata import (
    PAIR,
    PAIR_MOMENTS,
    write_pair_moments,
    write_three_people_session,
)
from vigcv.config import load_config
from vigcv.export import export_out
from vigcv.results import pair_dir, session_pairs
from vigcv.results.decisions import DB_NAME, open_store
from vigcv.review.server import ReviewServer, make_server

SESSION = "siblings"


@pytest.fixture(scope="module")
def pairs_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = make_out(tmp_path_factory.mktemp("pairs"), sessions=("two-people",))
    write_three_people_session(out, SESSION, out.parent / "media" / "play.mp4")
    return out


@pytest.fixture
def pairs_out(pairs_template: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(pairs_template, out)
    return out


@contextmanager
def serving(out: Path) -> Iterator[ReviewServer]:
    srv = make_server(out, config=load_config(), exporter=export_out)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _client(srv: ReviewServer) -> Client:
    return Client(srv.app.port, srv.app.token, srv.app.csrf)


def _decide(client: Client, pair: str, start: float, end: float, field: str, value: Any) -> Any:
    body = {"start": start, "end": end, "field": field, "value": value, "reviewer": "Jo"}
    if pair:
        body["pair"] = pair
    status, data = client.json("POST", f"/api/sessions/{SESSION}/decision", body=body)
    assert status == 200, data
    return data["decision"]


def _name(client: Client, person: int, name: str, **flags: bool) -> None:
    body = {"person": person, "name": name, "parent_figure": False, "index_child": False,
            "may_show": True, "reviewer": "Jo", **flags}  # fmt: skip
    status, data = client.json("POST", f"/api/sessions/{SESSION}/people", body=body)
    assert status == 200, data


def _statuses(data: dict[str, Any]) -> dict[int, str]:
    return {m["rank"]: (m["decision"] or {}).get("status", "") for m in data["moments"]}


def test_whose_moments_in_plain_words_then_by_the_names_given(pairs_out: Path) -> None:
    with serving(pairs_out) as srv:
        client = _client(srv)
        status, own = client.json("GET", f"/api/sessions/{SESSION}")
        assert status == 200
        assert own["pair"] == "" and own["pair_label"] == "the parent and the child"
        assert [(p["pair"], p["label"], p["default"], p["moments"]) for p in own["pairs"]] == [
            ("", "the parent and the child", True, 3),
            (PAIR, "the parent and child 2", False, len(PAIR_MOMENTS)),
        ]
        status, theirs = client.json("GET", f"/api/sessions/{SESSION}?pair={PAIR}")
        assert status == 200 and theirs["pair"] == PAIR
        assert theirs["pair_label"] == "the parent and child 2"
        assert [m["start"] for m in theirs["moments"]] == [m[1] for m in PAIR_MOMENTS]
        assert theirs["pairs"] == own["pairs"]
        # the guider names them on the same page: the pairs follow the names
        _name(client, 0, "Mum", parent_figure=True)
        _name(client, 1, "Ellie", index_child=True)
        _name(client, 2, "Sam (brother)")
        _, own = client.json("GET", f"/api/sessions/{SESSION}")
        assert [p["label"] for p in own["pairs"]] == ["Mum and Ellie", "Mum and Sam (brother)"]
        _, theirs = client.json("GET", f"/api/sessions/{SESSION}?pair={PAIR}")
        assert theirs["pair_label"] == "Mum and Sam (brother)"
        # the list of sessions counts the other pair's moments apart
        _, listing = client.json("GET", "/api/sessions")
        rows = {r["name"]: r for r in listing["sessions"]}
        assert rows[SESSION]["moments"] == 3 and rows[SESSION]["pairs"] == 1
        assert rows[SESSION]["pair_moments"] == len(PAIR_MOMENTS)
        assert rows["two-people"]["pairs"] == 0
        # a two-person session has its own pair only
        _, two = client.json("GET", "/api/sessions/two-people")
        assert [p["pair"] for p in two["pairs"]] == [""]
        assert two["pair_label"] == "the parent and the child"
    # the same names from vigcv.results, as the export reads them
    labels = [p.label for p in session_pairs(pairs_out, SESSION)]
    assert labels == ["Mum and Ellie", "Mum and Sam (brother)"]


def test_a_pairs_timeline_and_pictures(pairs_out: Path) -> None:
    with serving(pairs_out) as srv:
        client = _client(srv)
        _, own = client.json("GET", f"/api/sessions/{SESSION}/timeline")
        status, theirs = client.json("GET", f"/api/sessions/{SESSION}/timeline?pair={PAIR}")
        assert status == 200
        assert theirs["speech"] == own["speech"]  # one film, one sound track
        ones = [1.0 - v for v in own["signals"]["child_smile"]]
        assert theirs["signals"]["child_smile"] == pytest.approx(ones, abs=1e-3)
        status, headers, jpeg = client.request(
            "GET", f"/api/sessions/{SESSION}/thumb/2.jpg?pair={PAIR}"
        )
        assert status == 200 and headers["content-type"] == "image/jpeg" and jpeg[:2] == b"\xff\xd8"
        # a pair the session does not have, for reading and for deciding
        for path in (
            f"/api/sessions/{SESSION}?pair=1-2",
            f"/api/sessions/{SESSION}/timeline?pair=x",
        ):
            status, data = client.json("GET", path)
            assert status == 404 and "pair" in data["error"]
        status, data = client.json(
            "POST", f"/api/sessions/{SESSION}/decision",
            body={"start": 1.0, "end": 4.0, "field": "status", "value": "accepted", "pair": "1-2"},
        )  # fmt: skip
        assert status == 404
        status, data = client.json(
            "POST", f"/api/sessions/{SESSION}/decision",
            body={"start": 1.0, "end": 4.0, "field": "status", "value": "accepted", "pair": 3},
        )  # fmt: skip
        assert status == 400
    with open_store(pairs_out) as store:
        assert store.decisions(SESSION, pair=None) == []


def test_a_pairs_decisions_are_its_own_and_survive_a_rescore(pairs_out: Path) -> None:
    with serving(pairs_out) as srv:
        client = _client(srv)
        # the very same seconds of film: moment 1 of both pairs is 1.0-4.0
        kept = _decide(client, PAIR, 1.0, 4.0, "status", "accepted")
        assert kept["pair"] == PAIR
        _decide(client, PAIR, 1.0, 4.0, "parent_note", "Sam loved this.")
        _decide(client, PAIR, 6.0, 9.5, "trim_end", 9.0)
        _, own = client.json("GET", f"/api/sessions/{SESSION}")
        assert _statuses(own) == {1: "", 2: "", 3: ""}  # untouched
        _decide(client, "", 1.0, 4.0, "status", "rejected")
        _decide(client, "", 1.0, 4.0, "note", "Ellie was tired.")
        _, theirs = client.json("GET", f"/api/sessions/{SESSION}?pair={PAIR}")
        assert _statuses(theirs) == {1: "accepted", 2: ""}
        first = theirs["moments"][0]["decision"]
        assert first["parent_note"] == "Sam loved this." and first["note"] == ""
        assert theirs["moments"][1]["bounds"] == [6.0, 9.0]
        _, own = client.json("GET", f"/api/sessions/{SESSION}")
        assert _statuses(own) == {1: "rejected", 2: "", 3: ""}
        assert own["moments"][0]["decision"]["note"] == "Ellie was tired."
        pair_counts = {p["pair"]: (p["accepted"], p["rejected"]) for p in own["pairs"]}
        assert pair_counts == {"": (0, 1), PAIR: (1, 0)}

        # re-scored: the pair's moments move a little and swap ranks; decisions follow them
        moved = [(2, 1.2, 4.1, 0.6, ["moved"]), (1, 6.1, 9.6, 0.8, ["moved"])]
        write_pair_moments(pair_dir(pairs_out / SESSION, 0, 2), moved)
        _, theirs = client.json("GET", f"/api/sessions/{SESSION}?pair={PAIR}")
        by_start = {m["start"]: m for m in theirs["moments"]}
        assert by_start[1.2]["decision"]["status"] == "accepted"
        assert by_start[1.2]["decision"]["parent_note"] == "Sam loved this."
        assert by_start[6.1]["decision"]["trim_end"] == 9.0
        assert theirs["orphaned"] == []
        _, own = client.json("GET", f"/api/sessions/{SESSION}")
        assert _statuses(own) == {1: "rejected", 2: "", 3: ""} and own["orphaned"] == []
    with open_store(pairs_out) as store:
        assert len(store.decisions(SESSION)) == 1  # the session's own
        assert len(store.decisions(SESSION, pair=PAIR)) == 2
        history = store.history(SESSION)
        assert {h["pair"] for h in history} == {"", PAIR} and len(history) == 5


def test_an_older_review_database_keeps_its_decisions(pairs_out: Path) -> None:
    """A reviews.sqlite made before pairs existed: its decisions are the session's own."""
    db = sqlite3.connect(pairs_out / DB_NAME)
    db.executescript(
        """
        CREATE TABLE decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL,
            start REAL NOT NULL, end REAL NOT NULL, status TEXT NOT NULL DEFAULT '',
            trim_start REAL, trim_end REAL, note TEXT NOT NULL DEFAULT '',
            parent_note TEXT NOT NULL DEFAULT '', reviewer TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE TABLE history (id INTEGER PRIMARY KEY AUTOINCREMENT, decision_id INTEGER NOT NULL,
            session TEXT NOT NULL, start REAL NOT NULL, end REAL NOT NULL, field TEXT NOT NULL,
            value TEXT, reviewer TEXT NOT NULL DEFAULT '', at TEXT NOT NULL);
        INSERT INTO decisions (session, start, end, status, note, created_at, updated_at)
            VALUES ('siblings', 1.0, 4.0, 'accepted', 'kept before pairs', 't0', 't0');
        INSERT INTO history (decision_id, session, start, end, field, value, at)
            VALUES (1, 'siblings', 1.0, 4.0, 'status', 'accepted', 't0');
        """
    )
    db.commit()
    db.close()
    with serving(pairs_out) as srv:
        client = _client(srv)
        _, own = client.json("GET", f"/api/sessions/{SESSION}")
        assert own["moments"][0]["decision"]["note"] == "kept before pairs"
        _, theirs = client.json("GET", f"/api/sessions/{SESSION}?pair={PAIR}")
        assert _statuses(theirs) == {1: "", 2: ""}
        _decide(client, PAIR, 1.0, 4.0, "status", "rejected")
        _, own = client.json("GET", f"/api/sessions/{SESSION}")
        assert _statuses(own)[1] == "accepted"
    with open_store(pairs_out) as store:
        assert [h["pair"] for h in store.history(SESSION)] == ["", PAIR]


def test_forget_removes_a_pairs_decisions(pairs_out: Path) -> None:
    from vigcv.results.forget import forget

    with serving(pairs_out) as srv:
        _decide(_client(srv), PAIR, 1.0, 4.0, "note", "private")
    forget(pairs_out, [SESSION])
    with open_store(pairs_out) as store:
        assert store.decisions(SESSION, pair=None) == [] and store.history(SESSION) == []


def test_the_guider_reviews_the_other_pairs_moments_in_a_browser(pairs_out: Path) -> None:
    from selenium.webdriver.common.by import By

    from tests.review.browser import chromium, wait_for

    with serving(pairs_out) as srv, chromium() as b:
        client = _client(srv)
        _name(client, 0, "Mum", parent_figure=True)
        _name(client, 1, "Ellie", index_child=True)
        _name(client, 2, "Sam")
        b.get(srv.url)
        base = srv.url.split("?")[0].rstrip("/")
        # the list of sessions says there is more
        card = wait_for(lambda: b.find_element(By.CSS_SELECTOR, f"[data-session='{SESSION}']"),
                        what="the session's card")  # fmt: skip
        assert "another pair" in card.text
        b.get(f"{base}/#/s/{SESSION}")
        tabs = wait_for(lambda: b.find_elements(By.CSS_SELECTOR, ".pair-tab"), what="the pairs")
        assert [t.find_element(By.CSS_SELECTOR, ".pair-name").text for t in tabs] == [
            "Mum and Ellie",
            "Mum and Sam",
        ]
        assert tabs[0].get_attribute("aria-current") == "page"
        whose = [e.text for e in b.find_elements(By.CSS_SELECTOR, ".moment-card .mc-whose")]
        assert whose == ["Mum and Ellie"] * 3
        assert "Mum and Ellie" in b.find_element(By.ID, "whose-moment").text

        def lanes() -> list[str]:
            return [e.text for e in b.find_elements(By.CSS_SELECTOR, "#timeline .tl-label")]

        # the timeline's lanes name the pair on show
        wait_for(lambda: any(x.startswith("Ellie smile") for x in lanes()), what="Ellie's lane")
        assert any(x.startswith("Mum smile") for x in lanes())
        assert any(x.startswith("Mum") and ("speak" in x or "talk" in x) for x in lanes())
        # to the other pair's moments
        tabs[1].click()
        wait_for(lambda: any(x.startswith("Sam smile") for x in lanes()), what="Sam's lane")
        wait_for(lambda: len(b.find_elements(By.CSS_SELECTOR, ".moment-card")) == 2,
                 what="Mum and Sam's two moments")  # fmt: skip
        wait_for(lambda: "Mum and Sam" in b.find_element(By.ID, "whose-moment").text,
                 what="whose moment the detail shows")  # fmt: skip
        whose = [e.text for e in b.find_elements(By.CSS_SELECTOR, ".moment-card .mc-whose")]
        assert whose == ["Mum and Sam"] * 2
        assert f"/pair/{PAIR}" in b.current_url
        first = b.find_element(By.CSS_SELECTOR, ".moment-card img")
        assert f"pair={PAIR}" in first.get_attribute("src")
        b.find_element(By.ID, "accept").click()
        wait_for(lambda: b.find_element(By.ID, "status").text == "Kept for the parent",
                 what="the pair's moment kept")  # fmt: skip
        on = b.find_element(By.CSS_SELECTOR, f".pair-tab[data-pair='{PAIR}']")
        assert "1 kept" in on.text and on.get_attribute("aria-current") == "page"
        # a reload stays on the pair, with its decision
        b.refresh()
        wait_for(lambda: "Mum and Sam" in b.find_element(By.ID, "whose-moment").text,
                 what="the pair after a reload")  # fmt: skip
        assert b.find_element(By.ID, "status").text == "Kept for the parent"
        severe = [e for e in b.get_log("browser") if e["level"] == "SEVERE"]
        assert severe == []
        _, own = client.json("GET", f"/api/sessions/{SESSION}")
        assert _statuses(own) == {1: "", 2: "", 3: ""}
        _, theirs = client.json("GET", f"/api/sessions/{SESSION}?pair={PAIR}")
        assert _statuses(theirs) == {1: "accepted", 2: ""}
        assert theirs["moments"][0]["decision"]["pair"] == PAIR


def test_the_siblings_film_end_to_end(tmp_path: Path) -> None:
    """`vigcv run` on the synthetic siblings film (a parent, the index child, an older sibling):
    the other pair's moments are served with whose they are, and a decision on one of them
    survives a re-score without touching the session's own."""
    from vigcv.pipeline import rescore, run_session
    from vigcv.synth import cached_session

    made = cached_session("siblings")
    out = tmp_path / "out"
    assert run_session(made.video, out / "siblings").status == "ok"
    with serving(out) as srv:
        client = _client(srv)
        _, own = client.json("GET", "/api/sessions/siblings")
        others = [p for p in own["pairs"] if not p["default"]]
        assert others, own["pairs"]  # a third person: at least one more parent-child pair
        assert own["pair_label"] == "the parent and the child"
        other = others[0]
        parent, child = other["parent"], other["child"]
        assert other["pair"] == f"{parent}-{child}"
        # one adult in the film: the session's own parent, and the sibling by role and number
        assert other["label"].startswith("the parent and ") and other["label"].endswith(str(child))
        _, theirs = client.json("GET", f"/api/sessions/siblings?pair={other['pair']}")
        assert theirs["moments"], "the other pair has no moments"
        m = theirs["moments"][0]
        keep = {"start": m["start"], "end": m["end"], "field": "status", "value": "accepted"}
        status, data = client.json(
            "POST", "/api/sessions/siblings/decision", body={**keep, "pair": other["pair"]}
        )
        assert status == 200, data
        mine = own["moments"][0]
        status, data = client.json(
            "POST",
            "/api/sessions/siblings/decision",
            body={
                "start": mine["start"],
                "end": mine["end"],
                "field": "status",
                "value": "rejected",
            },
        )
        assert status == 200, data
        rescore(out / "siblings", config=load_config())
        _, theirs = client.json("GET", f"/api/sessions/siblings?pair={other['pair']}")
        kept = [x for x in theirs["moments"] if (x["decision"] or {}).get("status") == "accepted"]
        assert [(x["start"], x["end"]) for x in kept] == [(m["start"], m["end"])]
        _, own = client.json("GET", "/api/sessions/siblings")
        statuses = [(x["decision"] or {}).get("status", "") for x in own["moments"]]
        assert statuses.count("rejected") == 1 and "accepted" not in statuses
