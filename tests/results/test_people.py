"""People named once by the guider, recognised in the family's other visits (vigcv.results.people):
names carried over by face embedding, uncertain matches asked, strangers and other families left
unnamed, who may be shown, the history, and the pair the names choose."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest

from tests.results.peopledata import (
    DAD,
    ELLIE,
    MUM,
    SAM,
    lee_family,
    make_family,
    make_session,
    near,
)
from vigcv.config import load_config
from vigcv.errors import ConfigError
from vigcv.results import (
    PEOPLE_COLUMNS,
    ROLES_FILE,
    apply_pair,
    decline_name,
    family_names,
    name_person,
    read_pair,
    roles_swapped,
    session_people,
    write_pair,
    write_roles,
)
from vigcv.results import people as people_module
from vigcv.results.decisions import StoreError, open_store
from vigcv.results.people import PeopleConflict, PeopleSettings, open_people


def _by_id(table):  # person id -> row (dict)
    return {int(r["person"]): r for r in table.to_dict("records")}


def _name_visit1(out: Path) -> None:
    name_person(out, "lee/v1", 0, name="Mum", parent_figure=True, index_child=False,
                may_show=True, reviewer="Jo")  # fmt: skip
    name_person(out, "lee/v1", 1, name="Ellie", parent_figure=False, index_child=True,
                may_show=True, reviewer="Jo")  # fmt: skip
    name_person(out, "lee/v1", 2, name="Sam (brother)", parent_figure=False, index_child=False,
                may_show=False, reviewer="Jo")  # fmt: skip


def test_unnamed_people_and_who_may_be_shown_by_default(tmp_path: Path) -> None:
    lee_family(tmp_path)
    table = session_people(tmp_path, "lee/v1")
    assert list(table.columns) == list(PEOPLE_COLUMNS)
    rows = _by_id(table)
    assert [rows[p]["name"] for p in (0, 1, 2)] == ["", "", ""]
    assert [rows[p]["named_by"] for p in (0, 1, 2)] == ["", "", ""]
    # the automatic pair is the parent figure and the index child, and only they may be shown
    assert [rows[p]["parent_figure"] for p in (0, 1, 2)] == [True, False, False]
    assert [rows[p]["index_child"] for p in (0, 1, 2)] == [False, True, False]
    assert [rows[p]["may_show"] for p in (0, 1, 2)] == [True, True, False]
    assert all(math.isnan(rows[p]["match_distance"]) for p in (0, 1, 2))
    assert rows[0]["thumbnail"] == "people/person-0.jpg"
    # a session with no people.csv (run before people were recorded): empty, same columns
    make_session(tmp_path / "old", [])
    (tmp_path / "old" / "people.csv").unlink()
    empty = session_people(tmp_path, "old")
    assert empty.empty and list(empty.columns) == list(PEOPLE_COLUMNS)


def test_reading_people_writes_nothing_into_the_results(tmp_path: Path, monkeypatch) -> None:
    # `vigcv blur --results` and the export read a results folder that may be a colleague's,
    # shared read-only: reading the people creates no review database ...
    lee_family(tmp_path)
    assert _by_id(session_people(tmp_path, "lee/v1"))[1]["name"] == ""
    assert not (tmp_path / "reviews.sqlite").exists()
    # ... and where the database exists but cannot be opened for writing, it is read as it is
    _name_visit1(tmp_path)
    before = (tmp_path / "reviews.sqlite").read_bytes()

    def cannot_write(out):
        raise StoreError(f"{out}: read-only")

    monkeypatch.setattr(people_module, "open_people", cannot_write)
    assert [r["name"] for r in _by_id(session_people(tmp_path, "lee/v1")).values()] == [
        "Mum",
        "Ellie",
        "Sam (brother)",
    ]
    assert _by_id(session_people(tmp_path, "lee/v2"))[5]["named_by"] == "recognised"
    # a database from before people were named (no people tables): nobody is named
    older = tmp_path / "older"
    lee_family(older)
    sqlite3.connect(older / "reviews.sqlite").execute("CREATE TABLE decisions (id INTEGER)")
    assert {r["name"] for r in _by_id(session_people(older, "lee/v1")).values()} == {""}
    assert (tmp_path / "reviews.sqlite").read_bytes() == before


def test_names_of_visit_1_apply_to_visit_2_without_asking(tmp_path: Path) -> None:
    lee_family(tmp_path)
    _name_visit1(tmp_path)
    v1 = _by_id(session_people(tmp_path, "lee/v1"))
    assert [v1[p]["name"] for p in (0, 1, 2)] == ["Mum", "Ellie", "Sam (brother)"]
    assert {v1[p]["named_by"] for p in (0, 1, 2)} == {"guider"}
    assert [v1[p]["may_show"] for p in (0, 1, 2)] == [True, True, False]

    v2 = _by_id(session_people(tmp_path, "lee/v2"))
    mum, ellie, visitor = v2[5], v2[6], v2[7]
    # close (0.2): Mum, recognised, with her roles and consent, no question asked
    assert (mum["name"], mum["named_by"], mum["uncertain"]) == ("Mum", "recognised", False)
    assert mum["parent_figure"] and mum["may_show"] and not mum["index_child"]
    assert mum["match_distance"] == pytest.approx(0.2, abs=1e-4)
    # in the asking band (0.52): unnamed until the guider confirms; a prompt with the name
    assert (ellie["name"], ellie["named_by"], ellie["uncertain"]) == ("", "", True)
    assert ellie["suggested_name"] == "Ellie"
    assert ellie["match_distance"] == pytest.approx(0.52, abs=1e-4)
    # still the automatic pair's child: the index child by default, so she may be shown
    assert ellie["index_child"] and ellie["may_show"]
    # far from everyone: unnamed, not a parent figure, not shown
    assert (visitor["name"], visitor["named_by"], visitor["uncertain"]) == ("", "", False)
    assert not visitor["may_show"] and not visitor["parent_figure"]
    assert visitor["match_distance"] > 0.6

    # the guider answers "yes, this is Ellie": named by the guider, and her second face kept
    name_person(tmp_path, "lee/v2", 6, name=ellie["suggested_name"], parent_figure=False,
                index_child=True, may_show=True, reviewer="Jo")  # fmt: skip
    v2 = _by_id(session_people(tmp_path, "lee/v2"))
    assert (v2[6]["name"], v2[6]["named_by"], v2[6]["uncertain"]) == ("Ellie", "guider", False)
    faces = {n["name"]: n["faces"] for n in family_names(tmp_path, "lee/v2")}
    assert faces == {"Ellie": 2, "Mum": 1, "Sam (brother)": 1}


def test_a_visit_run_later_gets_the_names_and_a_third_visit_learns_from_the_second(
    tmp_path: Path,
) -> None:
    family = lee_family(tmp_path)
    _name_visit1(tmp_path)
    name_person(tmp_path, "lee/v2", 6, name="Ellie", parent_figure=False, index_child=True,
                may_show=True)  # fmt: skip
    # visit 3: Ellie has grown: 0.7 from visit 1's face but 0.3 from visit 2's (confirmed)
    grown = near(near(ELLIE, 0.52, 6), 0.3, 9)
    make_session(family / "v3", [(1, "child", "child", 20.0, grown)])
    row = _by_id(session_people(tmp_path, "lee/v3"))[1]
    assert (row["name"], row["named_by"]) == ("Ellie", "recognised")


def test_another_family_and_a_session_of_no_family_do_not_inherit_names(tmp_path: Path) -> None:
    lee_family(tmp_path)
    _name_visit1(tmp_path)
    make_family(tmp_path, "ng", ["a"])
    make_session(tmp_path / "ng" / "a", [(0, "adult", "parent", 10.0, near(MUM, 0.1, 1))])
    make_session(tmp_path / "flat", [(0, "adult", "parent", 10.0, near(MUM, 0.1, 2))])
    for session in ("ng/a", "flat"):
        row = _by_id(session_people(tmp_path, session))[0]
        assert (row["name"], row["named_by"], row["uncertain"]) == ("", "", False)
        assert math.isnan(row["match_distance"])
    assert family_names(tmp_path, "ng/a") == [] and family_names(tmp_path, "flat") == []
    # a session of no family remembers its names for itself
    name_person(tmp_path, "flat", 0, name="Amira", parent_figure=True, index_child=False,
                may_show=True)  # fmt: skip
    assert _by_id(session_people(tmp_path, "flat"))[0]["name"] == "Amira"
    assert [n["name"] for n in family_names(tmp_path, "flat")] == ["Amira"]
    assert _by_id(session_people(tmp_path, "ng/a"))[0]["name"] == ""
    assert {n["name"] for n in family_names(tmp_path, "lee/v1")} == {
        "Mum",
        "Ellie",
        "Sam (brother)",
    }


def test_consent_changed_in_one_visit_holds_in_every_visit(tmp_path: Path) -> None:
    lee_family(tmp_path)
    _name_visit1(tmp_path)
    name_person(tmp_path, "lee/v2", 5, name="Mum", parent_figure=True, index_child=False,
                may_show=False, reviewer="Jo")  # fmt: skip
    assert not _by_id(session_people(tmp_path, "lee/v1"))[0]["may_show"]
    assert not _by_id(session_people(tmp_path, "lee/v2"))[5]["may_show"]


def test_every_change_is_kept_and_nothing_is_overwritten_silently(tmp_path: Path) -> None:
    lee_family(tmp_path)
    _name_visit1(tmp_path)
    before = _by_id(session_people(tmp_path, "lee/v1"))[2]
    # another tab, still showing the unnamed person, cannot write over the name
    with pytest.raises(PeopleConflict):
        name_person(tmp_path, "lee/v1", 2, name="Tom", parent_figure=False, index_child=False,
                    may_show=False, version="")  # fmt: skip
    # the page that showed the current state can change it
    name_person(tmp_path, "lee/v1", 2, name="Sam", parent_figure=False, index_child=False,
                may_show=True, version=before["version"], reviewer="Kim")  # fmt: skip
    with open_people(tmp_path) as people:
        history = people.history("lee/v1")
        labels = {lab.person: lab for lab in people.labels(session="lee/v1")}
    changes = [(h["person"], h["field"], h["old"], h["value"], h["reviewer"]) for h in history]
    assert (2, "name", None, "Sam (brother)", "Jo") in changes
    assert (2, "name", "Sam (brother)", "Sam", "Kim") in changes
    assert (2, "may_show", "0", "1", "Kim") in changes
    assert (0, "name", None, "Mum", "Jo") in changes
    # the old name was not renamed: it is remembered as "not this person", and the face moved
    assert labels[2].declined == ("sam (brother)",)
    assert {n["name"] for n in family_names(tmp_path, "lee/v2")} == {"Mum", "Ellie", "Sam"}
    # the guider's decisions on moments share the file and are untouched
    with open_store(tmp_path) as store:
        assert store.decisions() == []


def test_no_to_a_suggestion_is_remembered(tmp_path: Path) -> None:
    lee_family(tmp_path)
    _name_visit1(tmp_path)
    decline_name(tmp_path, "lee/v2", 6, name="Ellie", reviewer="Jo")
    row = _by_id(session_people(tmp_path, "lee/v2"))[6]
    assert (row["name"], row["uncertain"], row["suggested_name"]) == ("", False, "")
    assert row["index_child"] and row["may_show"]  # the defaults of the automatic pair remain
    assert {n["name"]: n["faces"] for n in family_names(tmp_path, "lee/v2")}["Ellie"] == 1
    # a recognised person the guider says is someone else: not given that name again
    decline_name(tmp_path, "lee/v2", 5, name="Mum")
    row = _by_id(session_people(tmp_path, "lee/v2"))[5]
    assert (row["name"], row["named_by"]) == ("", "")
    # and Mum herself in visit 1 keeps her name
    assert _by_id(session_people(tmp_path, "lee/v1"))[0]["name"] == "Mum"


def test_one_named_face_is_recognised_once_per_session(tmp_path: Path) -> None:
    lee_family(tmp_path)
    _name_visit1(tmp_path)
    make_session(
        tmp_path / "lee" / "v2",
        [(5, "adult", "parent", 25.0, near(MUM, 0.3, 1)), (8, "adult", "", 5.0, near(MUM, 0.2, 2))],
    )
    rows = _by_id(session_people(tmp_path, "lee/v2"))
    assert (rows[8]["name"], rows[8]["named_by"]) == ("Mum", "recognised")  # the nearer
    assert (rows[5]["name"], rows[5]["uncertain"], rows[5]["suggested_name"]) == ("", True, "Mum")
    # two named people both surely near one face: asked, not guessed
    name_person(tmp_path, "lee/v1", 2, name="Sam", parent_figure=False, index_child=False,
                may_show=False)  # fmt: skip
    both = (MUM + SAM) / 2  # 0.47 from each, nearer each other than either's own faces
    make_session(tmp_path / "lee" / "v2", [(5, "adult", "parent", 25.0, both)])
    config = load_config(overrides={"people": {"sure_distance": 0.5, "ask_distance": 0.6}})
    row = _by_id(session_people(tmp_path, "lee/v2", config=config))[5]
    assert (row["name"], row["uncertain"]) == ("", True)


def test_names_follow_their_faces_when_a_re_run_renumbers_people(tmp_path: Path) -> None:
    lee_family(tmp_path)
    _name_visit1(tmp_path)
    make_session(
        tmp_path / "lee" / "v1",
        [
            (0, "child", "child", 18.0, ELLIE),
            (1, "adult", "parent", 20.0, MUM),
            (2, "child", "", 6.0, SAM),
        ],
    )
    rows = _by_id(session_people(tmp_path, "lee/v1"))
    assert [rows[p]["name"] for p in (0, 1, 2)] == ["Ellie", "Mum", "Sam (brother)"]
    assert [rows[p]["named_by"] for p in (0, 1, 2)] == ["guider"] * 3


def test_marking_a_different_index_child_changes_the_sessions_pair(tmp_path: Path) -> None:
    lee_family(tmp_path)
    v1 = tmp_path / "lee" / "v1"
    assert read_pair(v1) is None and apply_pair(tmp_path, "lee/v1") is False
    # the guider says Sam (person 2), not the automatic child (1), is the child this work is for
    name_person(tmp_path, "lee/v1", 2, name="Sam", parent_figure=False, index_child=True,
                may_show=True)  # fmt: skip
    rows = _by_id(session_people(tmp_path, "lee/v1"))
    assert [rows[p]["index_child"] for p in (0, 1, 2)] == [False, False, True]
    assert [rows[p]["may_show"] for p in (0, 1, 2)] == [True, False, True]
    # decisions the guider made before: one on the session's own (Mum and Ellie's) moments, one
    # on a moment of Mum and Sam's pair
    with open_store(tmp_path) as store:
        ellies = store.set_field("lee/v1", start=3.0, end=7.0, field="status", value="accepted")
        sams = store.set_field(
            "lee/v1", start=10.0, end=14.0, field="note", value="lovely", pair="0-2"
        )
    assert apply_pair(tmp_path, "lee/v1") is True
    assert read_pair(v1) == (0, 2)  # roles.json: the re-scoring scores this pair
    with open_store(tmp_path) as store:  # the decisions follow their moments
        moved = {d.id: d.pair for d in store.decisions("lee/v1", pair=None)}
        assert moved == {ellies.id: "0-1", sams.id: ""}
        logged = [(h["decision_id"], h["value"]) for h in store.history() if h["field"] == "pair"]
        assert logged == [(ellies.id, "0-1"), (sams.id, "")]
    assert apply_pair(tmp_path, "lee/v1") is True  # not re-scored yet: people.csv says 0 -> 1
    with open_store(tmp_path) as store:  # asked again before the re-scoring: nothing moves twice
        assert {d.id: d.pair for d in store.decisions("lee/v1", pair=None)} == moved
    rescored = [(0, "adult", "parent", 20.0, MUM), (1, "child", "", 18.0, ELLIE),
                (2, "child", "child", 6.0, SAM)]  # fmt: skip
    make_session(v1, rescored)  # as the re-scoring writes people.csv for the chosen pair
    assert apply_pair(tmp_path, "lee/v1") is False  # already so
    # the swap button keeps the pair; a swapped session re-scored, the names ask for 0 -> 2 again
    name_person(tmp_path, "lee/v1", 0, name="Mum", parent_figure=True, index_child=False,
                may_show=True)  # fmt: skip
    write_roles(v1, swapped=True)
    assert read_pair(v1) == (0, 2) and roles_swapped(v1)
    swapped = [(0, "adult", "child", 20.0, MUM), (1, "child", "", 18.0, ELLIE),
               (2, "child", "parent", 6.0, SAM)]  # fmt: skip
    make_session(v1, swapped)
    assert apply_pair(tmp_path, "lee/v1") is True
    assert read_pair(v1) == (0, 2) and not roles_swapped(v1)  # a chosen pair clears the swap
    with open_store(tmp_path) as store:  # the same two people: their decisions stay theirs
        assert {d.id: d.pair for d in store.decisions("lee/v1", pair=None)} == moved
    write_pair(v1, parent=None, child=None)
    assert json.loads((v1 / ROLES_FILE).read_text()) == {"swapped": False}
    with pytest.raises(ValueError):
        write_pair(v1, parent=1, child=1)
    # visit 2 recognises nobody as Sam (a different face): its automatic pair stands
    assert apply_pair(tmp_path, "lee/v2") is False


def test_people_without_embeddings_are_named_in_their_session_only(tmp_path: Path) -> None:
    make_family(tmp_path, "lee", ["v1", "v2"])
    make_session(tmp_path / "lee" / "v1", [(0, "adult", "parent", 5.0, None)])
    make_session(tmp_path / "lee" / "v2", [(0, "adult", "parent", 5.0, DAD)])
    name_person(tmp_path, "lee/v1", 0, name="Dad", parent_figure=True, index_child=False,
                may_show=True)  # fmt: skip
    assert _by_id(session_people(tmp_path, "lee/v1"))[0]["name"] == "Dad"
    assert _by_id(session_people(tmp_path, "lee/v2"))[0]["name"] == ""


def test_a_person_not_in_the_session_is_refused(tmp_path: Path) -> None:
    from vigcv.results.decisions import StoreError

    lee_family(tmp_path)
    with pytest.raises(StoreError, match="no person 9"):
        name_person(tmp_path, "lee/v1", 9, name="X", parent_figure=False, index_child=False,
                    may_show=False)  # fmt: skip
    with pytest.raises(StoreError, match="at most"):
        name_person(tmp_path, "lee/v1", 0, name="x" * 101, parent_figure=False,
                    index_child=False, may_show=False)  # fmt: skip


def test_the_distances_are_checked() -> None:
    with pytest.raises(ConfigError, match="sure_distance"):
        load_config(overrides={"people": {"sure_distance": 0.7, "ask_distance": 0.6}})
    with pytest.raises(ConfigError, match="greater than 0"):
        load_config(overrides={"people": {"ask_distance": 0.0}})
    assert PeopleSettings.from_config(None) == PeopleSettings(0.45, 0.6)


def test_forgetting_a_familys_visits_forgets_their_names_and_faces(tmp_path: Path) -> None:
    from vigcv.results.forget import forget

    lee_family(tmp_path)
    _name_visit1(tmp_path)
    name_person(tmp_path, "lee/v2", 6, name="Ellie", parent_figure=False, index_child=True,
                may_show=True)  # fmt: skip
    forget(tmp_path, ["lee/v1", "lee/v2"])
    with open_people(tmp_path) as people:
        assert people.labels() == [] and people.history() == []
