"""The review page's "people in this film": the API that names people (remembered for the family,
recognised in its other visits, asked about when unsure, the pair re-scored), and a guider
naming someone in a browser and finding the name after a reload and in the next visit."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.results.peopledata import DAD, ELLIE, MUM, SAM, make_family, make_session, near
from tests.review.conftest import Client
from tests.review.outdir import make_out, write_processed_session, write_session
from vigcv.config import load_config
from vigcv.results import read_pair, session_people
from vigcv.results.people import open_people
from vigcv.review.server import ReviewServer, make_server


@pytest.fixture(scope="module")
def people_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUT with a flat session and the lee family's two visits (v1 processed from a real
    extraction cache, so re-scoring runs), each with hand-made people."""
    out = make_out(tmp_path_factory.mktemp("people"), sessions=("flat",))
    video = out.parent / "media" / "play.mp4"
    make_family(out, "lee", ["v1", "v2"])
    write_processed_session(out / "lee", "v1", video)
    write_session(out / "lee", "v2", video)
    make_session(
        out / "lee" / "v1",
        [
            (0, "adult", "parent", 11.0, MUM),
            (1, "child", "child", 10.0, ELLIE),
            (2, "child", "", 4.0, SAM),
        ],
    )
    make_session(
        out / "lee" / "v2",
        [
            (5, "adult", "parent", 11.0, near(MUM, 0.2, 5)),
            (6, "child", "child", 10.0, near(ELLIE, 0.52, 6)),
            (7, "adult", "", 3.0, DAD),
        ],
    )
    make_session(out / "flat", [(0, "adult", "parent", 9.0, near(MUM, 0.1, 7))])
    return out


@pytest.fixture
def people_out(people_template: Path, tmp_path: Path) -> Path:
    import shutil

    out = tmp_path / "out"
    shutil.copytree(people_template, out)
    return out


@contextmanager
def _serving(out: Path) -> Iterator[ReviewServer]:
    srv = make_server(out, config=load_config())
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _name(client: Client, session: str, person: int, name: str, **flags: Any) -> tuple[int, Any]:
    body = {"person": person, "name": name, "parent_figure": False, "index_child": False,
            "may_show": False, "reviewer": "Jo", **flags}  # fmt: skip
    return client.json("POST", f"/api/sessions/{session}/people", body=body)


def _people(client: Client, session: str) -> dict[int, Any]:
    status, data = client.json("GET", f"/api/sessions/{session}/people")
    assert status == 200, data
    return {p["person"]: p for p in data["people"]}


def test_the_api_names_people_for_the_family(people_out: Path) -> None:
    with _serving(people_out) as srv:
        client = Client(srv.app.port, srv.app.token, srv.app.csrf)
        v1 = _people(client, "lee%2Fv1")
        assert [v1[p]["name"] for p in (0, 1, 2)] == ["", "", ""]
        assert [v1[p]["may_show"] for p in (0, 1, 2)] == [True, True, False]
        assert v1[0]["role_guess"] == "adult" and v1[0]["seconds_visible"] == 11.0
        status, headers, picture = client.request("GET", v1[0]["thumbnail"])
        assert status == 200 and headers["content-type"] == "image/jpeg"
        assert picture[:2] == b"\xff\xd8"

        status, data = _name(client, "lee%2Fv1", 0, "Mum", parent_figure=True, may_show=True,
                             version=v1[0]["version"])  # fmt: skip
        assert status == 200, data
        assert data["pair_changed"] is False
        named = {p["person"]: p for p in data["people"]}[0]
        assert (named["name"], named["named_by"]) == ("Mum", "guider")
        assert [n["name"] for n in data["known"]] == ["Mum"]
        status, data = _name(client, "lee%2Fv1", 1, "Ellie", index_child=True, may_show=True)
        assert status == 200, data
        # the page that still shows the unnamed Mum cannot write over her name
        status, data = _name(client, "lee%2Fv1", 0, "Gran", version=v1[0]["version"])
        assert status == 409 and "reload" in data["error"]

        v2 = _people(client, "lee%2Fv2")
        assert (v2[5]["name"], v2[5]["named_by"]) == ("Mum", "recognised")
        assert v2[5]["may_show"] and v2[5]["parent_figure"]
        assert (v2[6]["name"], v2[6]["uncertain"], v2[6]["suggested_name"]) == ("", True, "Ellie")
        assert v2[6]["suggestion"]["index_child"] is True
        assert (v2[7]["name"], v2[7]["may_show"]) == ("", False)
        # "No, someone else": not asked again
        status, data = client.json("POST", "/api/sessions/lee%2Fv2/people-decline",
                                   body={"person": 6, "name": "Ellie"})  # fmt: skip
        assert status == 200, data
        assert {p["person"]: p for p in data["people"]}[6]["uncertain"] is False
        # a session of no family does not know the family's names
        assert _people(client, "flat")[0]["name"] == ""

        # bad requests
        assert _name(client, "lee%2Fv1", 9, "X")[0] == 400
        bad = {"person": 0, "name": "Mum", "parent_figure": "yes"}
        status, data = client.json("POST", "/api/sessions/lee%2Fv1/people", body=bad)
        assert status == 400 and "parent_figure" in data["error"]
        assert client.json("POST", "/api/sessions/nope/people", body={"person": 0})[0] == 404
        status, _ = client.json("POST", "/api/sessions/lee%2Fv1/people", csrf=False,
                                body={"person": 0, "name": "X"})  # fmt: skip
        assert status == 403
    with open_people(people_out) as store:
        fields = [(h["session"], h["person"], h["field"]) for h in store.history()]
    assert ("lee/v1", 0, "name") in fields and ("lee/v2", 6, "declined") in fields
    assert session_people(people_out, "lee/v2").set_index("person").loc[5, "name"] == "Mum"


def test_marking_another_child_re_scores_the_visit_for_that_pair(people_out: Path) -> None:
    v1 = people_out / "lee" / "v1"
    before = json.loads((v1 / "moments.json").read_text())
    with _serving(people_out) as srv:
        client = Client(srv.app.port, srv.app.token, srv.app.csrf)
        status, data = _name(client, "lee%2Fv1", 2, "Sam", index_child=True, may_show=True)
        assert status == 200, data
        assert data["pair_changed"] is True and data["rescored"] is True, data
        assert read_pair(v1) == (0, 2)  # roles.json, which the re-scoring reads
        # visit 2 has no Sam: its pair stays; the pair button changes nothing there
        status, data = client.json("POST", "/api/sessions/lee%2Fv2/pair", body={})
        assert status == 200 and data["pair_changed"] is False
        # a visit without an extraction cache keeps the choice and says why nothing re-scored
        status, data = _name(client, "lee%2Fv2", 7, "Dad", parent_figure=True, may_show=True)
        assert status == 200 and data["pair_changed"] is True and data["rescored"] is False
        assert data["message"]
        assert read_pair(people_out / "lee" / "v2") == (7, 6)
    run = json.loads((v1 / "run.json").read_text())
    assert "rescore" in run["timings_s"]
    assert json.loads((v1 / "moments.json").read_text())["session"] == before["session"]


def test_a_guider_names_a_person_and_finds_the_name_after_a_reload(people_out: Path) -> None:
    from selenium.webdriver.common.by import By

    from tests.review.browser import chromium, wait_for

    with _serving(people_out) as srv, chromium() as b:
        b.get(srv.url)
        base = srv.url.split("?")[0].rstrip("/")
        b.get(f"{base}/#/s/lee%2Fv1")
        field = wait_for(lambda: b.find_element(By.ID, "person-0-name"), what="the people panel")
        # labelled controls: the name field and the three choices
        labels = [e.text for e in b.find_elements(By.CSS_SELECTOR, "#people label")]
        assert "Name" in labels and any("May be shown in shared clips" in t for t in labels)
        assert b.find_element(By.ID, "person-2-show").is_selected() is False
        assert b.find_element(By.ID, "person-0-show").is_selected() is True
        field.send_keys("Mum")
        b.find_element(By.ID, "person-0-save").click()
        wait_for(lambda: b.find_element(By.ID, "person-0-named-by").text == "Named by you",
                 what="the saved name")  # fmt: skip
        # by keyboard: type Ellie's name and press Enter
        child = b.find_element(By.ID, "person-1-name")
        child.send_keys("Ellie\n")
        wait_for(lambda: b.find_element(By.ID, "person-1-shown-name").text == "Ellie",
                 what="the name saved with Enter")  # fmt: skip
        b.refresh()
        field = wait_for(lambda: b.find_element(By.ID, "person-0-name"), what="after a reload")
        assert field.get_attribute("value") == "Mum"
        assert b.find_element(By.ID, "person-0-shown-name").text == "Mum"
        # the next visit: Mum recognised without asking, Ellie asked about
        b.get(f"{base}/#/s/lee%2Fv2")
        wait_for(lambda: b.find_element(By.ID, "person-5-shown-name").text == "Mum",
                 what="Mum recognised in visit 2")  # fmt: skip
        badge = b.find_element(By.ID, "person-5-named-by").text
        assert badge == "Recognised from an earlier visit"
        prompt = b.find_element(By.ID, "person-6-prompt")
        assert "Is this Ellie?" in prompt.text
        b.find_element(By.ID, "person-6-yes").click()
        wait_for(lambda: b.find_element(By.ID, "person-6-shown-name").text == "Ellie",
                 what="Ellie confirmed")  # fmt: skip
        assert not b.find_elements(By.ID, "person-6-prompt")
        errors = [e for e in b.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
    rows = session_people(people_out, "lee/v2").set_index("person")
    assert rows.loc[6, "named_by"] == "guider" and rows.loc[5, "named_by"] == "recognised"
