"""The decisions database: per-field writes, history, attachment by overlap, concurrency."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from vigcv.results.decisions import ReviewStore, StoreError, match_decisions, open_store
from vigcv.types import Segment


def test_each_action_changes_one_field_and_is_logged(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        store.set_field("s", start=1.0, end=4.0, field="status", value="accepted", reviewer="Ann")
        store.set_field("s", start=1.0, end=4.0, field="trim_end", value=3.25, reviewer="Bo")
        d = store.set_field("s", start=1.0, end=4.0, field="note", value="lovely", reviewer="")
        assert (d.status, d.trim_start, d.trim_end, d.note) == ("accepted", None, 3.25, "lovely")
        assert d.reviewer == "Bo"  # an anonymous action keeps the last name
        assert d.bounds() == (1.0, 3.25)
        log = store.history("s")
        assert [h["field"] for h in log] == ["status", "trim_end", "note"]
        assert [h["reviewer"] for h in log] == ["Ann", "Bo", ""]
        assert len(store.decisions()) == 1
    conn = sqlite3.connect(tmp_path / "reviews.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "maybe"), ("colour", "red"), ("trim_start", "soon"), ("trim_end", -1.0)],
)
def test_bad_actions_are_refused(tmp_path: Path, field: str, value: object) -> None:
    with open_store(tmp_path) as store:
        with pytest.raises(StoreError):
            store.set_field("s", start=0.0, end=2.0, field=field, value=value)
        assert store.decisions() == []


def test_decisions_follow_rescored_moments_by_overlap(tmp_path: Path) -> None:
    with open_store(tmp_path, min_iou=0.3) as store:
        store.set_field("s", start=10.0, end=14.0, field="status", value="accepted")
        store.set_field("s", start=30.0, end=33.0, field="status", value="rejected")
        # re-scored: the first moment moved by half a second, the second is gone, a new one came
        now = [Segment(50.0, 54.0), Segment(10.5, 14.5)]
        attached = store.attach("s", now)
        assert set(attached) == {1}
        assert attached[1].status == "accepted"
        # acting on the moved moment updates the same decision and re-anchors it
        d = store.set_field("s", start=10.5, end=14.5, field="note", value="n", others=now)
        assert d.id == attached[1].id and (d.start, d.end) == (10.5, 14.5)
        assert d.status == "accepted"
        # a new moment gets its own decision
        d2 = store.set_field(
            "s", start=50.0, end=54.0, field="status", value="rejected", others=now
        )
        assert d2.id not in (d.id, attached[1].id)
        assert len(store.decisions("s")) == 3


def test_matching_is_one_to_one_and_prefers_the_best_overlap() -> None:
    from vigcv.results.decisions import Decision

    def dec(i: int, a: float, b: float) -> Decision:
        return Decision(i, "s", a, b, "accepted", None, None, "", "", "")

    moments = [Segment(0.0, 4.0), Segment(1.0, 5.0)]
    decisions = [dec(1, 1.0, 5.0)]
    assert {i: d.id for i, d in match_decisions(moments, decisions, min_iou=0.3).items()} == {1: 1}
    decisions = [dec(1, 1.0, 5.0), dec(2, 0.0, 4.2)]
    got = {i: d.id for i, d in match_decisions(moments, decisions, min_iou=0.3).items()}
    assert got == {0: 2, 1: 1}
    assert match_decisions([Segment(20.0, 22.0)], decisions, min_iou=0.3) == {}


def test_two_writers_at_once_lose_nothing(tmp_path: Path) -> None:
    ReviewStore(tmp_path / "reviews.sqlite").close()
    errors: list[BaseException] = []

    def writer(field: str, values: list[object]) -> None:
        try:
            with open_store(tmp_path) as store:
                for v in values:
                    store.set_field("s", start=2.0, end=6.0, field=field, value=v)
        except BaseException as exc:
            errors.append(exc)

    notes = [f"note {i}" for i in range(40)]
    trims = [2.0 + i * 0.01 for i in range(40)]
    threads = [
        threading.Thread(target=writer, args=("note", notes)),
        threading.Thread(target=writer, args=("trim_start", trims)),
        threading.Thread(target=writer, args=("status", ["accepted", "rejected"] * 20)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with open_store(tmp_path) as store:
        (d,) = store.decisions("s")
        assert d.note == "note 39" and d.trim_start == pytest.approx(2.39)
        assert d.status == "rejected"
        assert len(store.history("s")) == 120


def test_crossed_trims_fall_back_to_the_moment(tmp_path: Path) -> None:
    from tests.review.outdir import make_out
    from vigcv.results.sessions import load_session, reviewed_moments

    out = make_out(tmp_path)
    with open_store(out) as store:
        store.set_field("family-a", start=1.0, end=4.0, field="trim_start", value=3.5)
        store.set_field("family-a", start=1.0, end=4.0, field="trim_end", value=2.0)  # other tab
        store.set_field("family-a", start=5.0, end=8.0, field="trim_end", value=7.0)
        moments = reviewed_moments(load_session(out, "family-a"), store)
    assert moments[0]["bounds"] == [1.0, 4.0]
    assert moments[1]["bounds"] == [5.0, 7.0]
    assert moments[2]["bounds"] == [8.5, 11.5] and moments[2]["decision"] is None


def test_parent_note_is_its_own_field(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        store.set_field("s", start=1.0, end=4.0, field="note", value="private: tired today")
        d = store.set_field("s", start=1.0, end=4.0, field="parent_note", value="See her smile!")
        assert (d.note, d.parent_note) == ("private: tired today", "See her smile!")
        assert d.to_dict()["parent_note"] == "See her smile!"
        assert d.to_dict()["note"] == "private: tired today"
        assert [h["field"] for h in store.history("s")] == ["note", "parent_note"]
        with pytest.raises(StoreError, match="parent_note is too long"):
            store.set_field("s", start=1.0, end=4.0, field="parent_note", value="x" * 10_001)
        assert store.decisions("s")[0].parent_note == "See her smile!"


# The decisions table as the first release of vigcv made it (no parent_note column).
OLD_SCHEMA = """
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL, start REAL NOT NULL,
    end REAL NOT NULL, status TEXT NOT NULL DEFAULT '', trim_start REAL, trim_end REAL,
    note TEXT NOT NULL DEFAULT '', reviewer TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, decision_id INTEGER NOT NULL, session TEXT NOT NULL,
    start REAL NOT NULL, end REAL NOT NULL, field TEXT NOT NULL, value TEXT,
    reviewer TEXT NOT NULL DEFAULT '', at TEXT NOT NULL
);
INSERT INTO decisions (session, start, end, status, note, reviewer, created_at, updated_at)
VALUES ('s', 1.0, 4.0, 'accepted', 'old private note', 'Ann', '2024-01-01', '2024-01-01');
"""


def test_an_old_database_gains_the_parent_note_and_keeps_its_decisions(tmp_path: Path) -> None:
    path = tmp_path / "reviews.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
    conn.close()
    with open_store(tmp_path) as store:
        (old,) = store.decisions("s")
        assert (old.status, old.note, old.parent_note) == ("accepted", "old private note", "")
        d = store.set_field("s", start=1.0, end=4.0, field="parent_note", value="Well done")
        assert d.id == old.id and d.note == "old private note" and d.parent_note == "Well done"
    conn = sqlite3.connect(path)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(decisions)")]
    conn.close()
    assert columns.count("parent_note") == 1
    # opening again (and from two stores at once) adds nothing twice and loses nothing
    with open_store(tmp_path) as a, open_store(tmp_path) as b:
        assert a.decisions("s")[0].parent_note == b.decisions("s")[0].parent_note == "Well done"


def test_a_new_default_pair_takes_its_decisions_and_gives_the_old_ones_their_key(
    tmp_path: Path,
) -> None:
    with open_store(tmp_path) as store:
        own = store.set_field("s", start=1.0, end=4.0, field="status", value="accepted")
        other = store.set_field(
            "s", start=6.0, end=9.0, field="status", value="rejected", pair="0-2"
        )
        third = store.set_field("s", start=6.0, end=9.0, field="note", value="x", pair="3-2")
        elsewhere = store.set_field("t", start=1.0, end=4.0, field="status", value="accepted")
        assert store.change_default_pair("s", old="0-1", new="0-2", reviewer="me") == 2
        pairs = {d.id: d.pair for d in store.decisions(None, pair=None)}
        assert pairs == {own.id: "0-1", other.id: "", third.id: "3-2", elsewhere.id: ""}
        assert store.change_default_pair("s", old="0-2", new="0-2") == 0
        for bad in ("", "0-x", "01"):
            with pytest.raises(StoreError):
                store.change_default_pair("s", old=bad, new="0-2")
