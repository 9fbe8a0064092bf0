"""The guider's decisions, durable: ``OUT/reviews.sqlite`` (WAL, one transaction per action).

Two tables:

- ``decisions`` -- the current state, one row per reviewed moment of a session: the moment's
  bounds when it was last reviewed (``start``, ``end``, seconds), ``status`` (``accepted``,
  ``rejected`` or empty), trimmed bounds ``trim_start`` / ``trim_end`` (seconds, NULL = untrimmed),
  ``note`` (the guider's private note, never in the parent's export), ``parent_note`` (a note
  written for the parent, shown in the parent's report), ``reviewer`` and ``updated_at`` (UTC ISO
  time), and ``pair``: whose moment it is, ``""`` for the session's own moments (the default
  pair, ``OUT/<session>/moments.json``) or ``"<parent>-<child>"`` (person ids) for the moments
  of one more pair (``OUT/<session>/pairs/<parent>-<child>/``). A database made before
  ``parent_note`` or ``pair`` existed gains the column when it is opened (old rows: ``""``).
- ``history`` -- append-only: every action with its field, new value, reviewer, time and pair.

A decision belongs to one session and one pair: moments of different pairs never share one, even
where they overlap in time.

Each action changes *one field* inside a ``BEGIN IMMEDIATE`` transaction, so two browser tabs
writing different fields of the same moment never overwrite each other, and a killed server loses
nothing that was acknowledged. A decision stays attached to its moment when moments are re-scored:
current moments are matched to stored decisions by the best temporal intersection over union
(one-to-one, best pairs first), and an action on a moment updates the decision it matches.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vigcv.config import default_config
from vigcv.errors import VigcvError
from vigcv.types import Segment

DB_NAME = "reviews.sqlite"
FIELDS = ("status", "trim_start", "trim_end", "note", "parent_note")
NOTE_FIELDS = ("note", "parent_note")
MAX_NOTE = 10_000  # characters
STATUSES = ("accepted", "rejected", "")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session TEXT NOT NULL,
    start REAL NOT NULL,
    end REAL NOT NULL,
    status TEXT NOT NULL DEFAULT '',
    trim_start REAL,
    trim_end REAL,
    note TEXT NOT NULL DEFAULT '',
    parent_note TEXT NOT NULL DEFAULT '',
    reviewer TEXT NOT NULL DEFAULT '',
    pair TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_session ON decisions(session);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id INTEGER NOT NULL,
    session TEXT NOT NULL,
    start REAL NOT NULL,
    end REAL NOT NULL,
    field TEXT NOT NULL,
    value TEXT,
    reviewer TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    pair TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS history_session ON history(session);
"""

# Columns added after the first release: (table, name, declaration), for
# :meth:`ReviewStore._migrate`.
_ADDED_COLUMNS = (
    ("decisions", "parent_note", "TEXT NOT NULL DEFAULT ''"),
    ("decisions", "pair", "TEXT NOT NULL DEFAULT ''"),
    ("history", "pair", "TEXT NOT NULL DEFAULT ''"),
)


class StoreError(VigcvError):
    """A review action that cannot be stored (bad field or value, unwritable database)."""


@dataclass(frozen=True)
class Decision:
    """The current state of one reviewed moment."""

    id: int
    session: str
    start: float  # seconds: the moment's bounds when last reviewed
    end: float
    status: str  # "accepted" | "rejected" | ""
    trim_start: float | None  # seconds, None = the moment's own start
    trim_end: float | None
    note: str  # the guider's private note
    reviewer: str
    updated_at: str
    parent_note: str = ""  # a note for the parent's report
    pair: str = ""  # "" the session's own moments; "<parent>-<child>" one more pair's

    @property
    def segment(self) -> Segment:
        return Segment(self.start, max(self.start, self.end))

    def bounds(self) -> tuple[float, float]:
        """The bounds to use: trimmed where trimmed, else the moment's own."""
        start = self.start if self.trim_start is None else self.trim_start
        end = self.end if self.trim_end is None else self.trim_end
        return start, end

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "start": self.start,
            "end": self.end,
            "status": self.status,
            "trim_start": self.trim_start,
            "trim_end": self.trim_end,
            "note": self.note,
            "parent_note": self.parent_note,
            "reviewer": self.reviewer,
            "updated_at": self.updated_at,
            "pair": self.pair,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _row(row: sqlite3.Row) -> Decision:
    return Decision(
        id=int(row["id"]),
        session=str(row["session"]),
        start=float(row["start"]),
        end=float(row["end"]),
        status=str(row["status"]),
        trim_start=None if row["trim_start"] is None else float(row["trim_start"]),
        trim_end=None if row["trim_end"] is None else float(row["trim_end"]),
        note=str(row["note"]),
        reviewer=str(row["reviewer"]),
        updated_at=str(row["updated_at"]),
        parent_note=str(row["parent_note"]),
        pair=str(row["pair"]),
    )


def match_decisions(
    moments: Sequence[Segment], decisions: Sequence[Decision], *, min_iou: float
) -> dict[int, Decision]:
    """Attach stored decisions to current moments by temporal IoU.

    Parameters
    ----------
    moments : sequence of Segment
        The current moments' bounds (seconds), in any order.
    decisions : sequence of Decision
        Stored decisions of the same session.
    min_iou : float
        Smallest intersection over union (0..1) for a decision to stay attached.

    Returns
    -------
    dict
        Index into ``moments`` -> its decision. One-to-one; the best-overlapping pairs win.
    """
    pairs = []
    for i, seg in enumerate(moments):
        for d in decisions:
            iou = seg.iou(d.segment)
            if iou >= min_iou and iou > 0:
                pairs.append((iou, i, d.id, d))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    out: dict[int, Decision] = {}
    used: set[int] = set()
    for _, i, did, d in pairs:
        if i in out or did in used:
            continue
        out[i] = d
        used.add(did)
    return out


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction on ``conn`` (BEGIN IMMEDIATE; rolled back on any error): the
    review database's stores (decisions, people) all write through it."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class ReviewStore:
    """``OUT/reviews.sqlite``: open once per thread (connections are cheap and not shared).

    Parameters
    ----------
    path : Path
        The database file (created with its tables when missing).
    min_iou : float, optional
        Smallest temporal IoU for a decision to stay attached to a (re-scored) moment
        (default: ``[review] match_iou`` of ``configs/default.toml``).
    """

    def __init__(self, path: str | Path, *, min_iou: float | None = None) -> None:
        self.path = Path(path)
        if min_iou is None:
            min_iou = float(default_config()["review"]["match_iou"])
        self.min_iou = float(min_iou)
        try:
            self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the review database ({exc})") from None
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.executescript(_SCHEMA)
        self._migrate()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return write_transaction(self._conn)

    def _migrate(self) -> None:
        """Add the columns a database made by an older vigcv lacks (checked inside a write
        transaction, so two processes opening it at once add each column once)."""

        def missing(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
            have = {
                table: {str(r["name"]) for r in conn.execute(f"PRAGMA table_info({table})")}
                for table in {t for t, _, _ in _ADDED_COLUMNS}
            }
            return [(t, name, decl) for t, name, decl in _ADDED_COLUMNS if name not in have[t]]

        if not missing(self._conn):
            return  # up to date: no write lock taken
        try:
            with self._transaction() as conn:
                for table, column, decl in missing(conn):
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        except sqlite3.Error as exc:
            self._conn.close()
            raise StoreError(f"{self.path}: cannot update the review database ({exc})") from None

    # -- reading ----------------------------------------------------------------------------------

    def decisions(self, session: str | None = None, *, pair: str | None = "") -> list[Decision]:
        """Stored decisions (of one session, or all), oldest first: of the session's own moments
        (``pair=""``, the default), of one more pair (``"<parent>-<child>"``) or of every pair
        (``pair=None``)."""
        sql, args = "SELECT * FROM decisions", []
        where = []
        if session is not None:
            where.append("session = ?")
            args.append(session)
        if pair is not None:
            where.append("pair = ?")
            args.append(pair)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._conn.execute(sql + " ORDER BY session, id", args)
        return [_row(r) for r in rows.fetchall()]

    def history(self, session: str | None = None) -> list[dict[str, Any]]:
        """The append-only log of actions, oldest first."""
        sql = "SELECT * FROM history"
        args: tuple[Any, ...] = ()
        if session is not None:
            sql += " WHERE session = ?"
            args = (session,)
        return [dict(r) for r in self._conn.execute(sql + " ORDER BY id", args).fetchall()]

    def attach(
        self, session: str, moments: Sequence[Segment], *, pair: str = ""
    ) -> dict[int, Decision]:
        """Current moments of ``session`` (of its own pair, or of ``pair``) -> their decisions
        (see :func:`match_decisions`)."""
        return match_decisions(moments, self.decisions(session, pair=pair), min_iou=self.min_iou)

    # -- writing ----------------------------------------------------------------------------------

    def set_field(
        self,
        session: str,
        *,
        start: float,
        end: float,
        field: str,
        value: Any,
        reviewer: str = "",
        others: Sequence[Segment] = (),
        pair: str = "",
    ) -> Decision:
        """Record one action on the moment ``[start, end]`` of ``session``, durably.

        Parameters
        ----------
        session : str
            The session's folder name.
        start, end : float
            The moment's current bounds in seconds (as moments.json has them).
        field : {"status", "trim_start", "trim_end", "note", "parent_note"}
            What changes; only this column is written.
        value : str, float or None
            ``status``: "accepted", "rejected" or "" (undecided); trims: seconds or None (undo);
            ``note`` (private) and ``parent_note`` (for the parent's report): text.
        reviewer : str
            Who acted (kept with the decision and in the history).
        others : sequence of Segment
            The session's (or pair's) other current moments, so a decision attached to one of
            them by IoU is not taken over by this one.
        pair : str
            Whose moment: ``""`` the session's own (its default pair), ``"<parent>-<child>"``
            one more pair's. Only decisions of the same pair are matched.

        Returns
        -------
        Decision
            The decision's state after the action.
        """
        value = _checked(field, value, start=start, end=end)
        if not isinstance(pair, str) or not (pair == "" or _is_pair_key(pair)):
            raise StoreError(f"pair must be empty or <parent>-<child> person ids, got {pair!r}")
        moment = Segment(float(start), max(float(start), float(end)))
        now = _now()
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM decisions WHERE session = ? AND pair = ?", (session, pair)
            )
            stored = [_row(r) for r in rows.fetchall()]
            segments = [moment, *[s for s in others if s != moment]]
            match = match_decisions(segments, stored, min_iou=self.min_iou).get(0)
            if match is None:
                cur = conn.execute(
                    "INSERT INTO decisions"
                    " (session, pair, start, end, reviewer, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (session, pair, moment.start, moment.end, reviewer, now, now),
                )
                decision_id = int(cur.lastrowid or 0)
            else:
                decision_id = match.id
            conn.execute(
                f"UPDATE decisions SET {field} = ?, start = ?, end = ?, updated_at = ?,"
                " reviewer = CASE WHEN ? = '' THEN reviewer ELSE ? END WHERE id = ?",
                (value, moment.start, moment.end, now, reviewer, reviewer, decision_id),
            )
            _log(conn, decision_id, session, pair, moment, field, value, reviewer, now)
            row = conn.execute("SELECT * FROM decisions WHERE id = ?", (decision_id,)).fetchone()
        return _row(row)

    def change_default_pair(self, session: str, *, old: str, new: str, reviewer: str = "") -> int:
        """The session's default pair changes from ``old`` to ``new`` (``"<parent>-<child>"``
        keys): the old default's moments become one more pair's and the new pair's become the
        session's own, so their decisions follow them (the default's are stored with pair
        ``""``). Each move is logged in ``history`` (field ``pair``, the new key, ``""`` for the
        default). Returns how many decisions moved; nothing moves when the keys are equal."""
        for key in (old, new):
            if not _is_pair_key(key):
                raise StoreError(f"pair must be <parent>-<child> person ids, got {key!r}")
        if old == new:
            return 0
        now = _now()
        with self._transaction() as conn:
            moving = [
                (_row(r), target)
                for source, target in (("", old), (new, ""))
                for r in conn.execute(
                    "SELECT * FROM decisions WHERE session = ? AND pair = ?", (session, source)
                ).fetchall()
            ]
            for decision, target in moving:
                conn.execute("UPDATE decisions SET pair = ? WHERE id = ?", (target, decision.id))
                moment = Segment(decision.start, decision.end)
                _log(conn, decision.id, session, target, moment, "pair", target, reviewer, now)
        return len(moving)


def _log(
    conn: sqlite3.Connection,
    decision_id: int,
    session: str,
    pair: str,
    moment: Segment,
    field: str,
    value: Any,
    reviewer: str,
    at: str,
) -> None:
    """Append one action to ``history`` (inside the caller's transaction)."""
    conn.execute(
        "INSERT INTO history"
        " (decision_id, session, pair, start, end, field, value, reviewer, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            decision_id,
            session,
            pair,
            moment.start,
            moment.end,
            field,
            None if value is None else str(value),
            reviewer,
            at,
        ),
    )


def _is_pair_key(text: str) -> bool:
    """``"<parent>-<child>"`` person ids (vigcv.results.folder.pair_key's form)."""
    parent, dash, child = text.partition("-")
    return bool(dash) and all(p.isascii() and p.isdigit() for p in (parent, child))


def _checked(field: str, value: Any, *, start: float, end: float) -> Any:
    if field not in FIELDS:
        raise StoreError(f"unknown decision field {field!r}; valid: {', '.join(FIELDS)}")
    if field == "status":
        value = "" if value is None else str(value)
        if value not in STATUSES:
            raise StoreError(f"status must be accepted, rejected or empty, got {value!r}")
        return value
    if field in NOTE_FIELDS:
        text = "" if value is None else str(value)
        if len(text) > MAX_NOTE:
            raise StoreError(f"{field} is too long (at most {MAX_NOTE} characters)")
        return text
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise StoreError(f"{field} must be a time in seconds, got {value!r}") from None
    if not (seconds >= 0.0 and seconds < 1e7):
        raise StoreError(f"{field} must be a time in seconds >= 0, got {value!r}")
    return round(seconds, 3)


def open_store(out: str | Path, *, min_iou: float | None = None) -> ReviewStore:
    """The review database of an OUT folder (``OUT/reviews.sqlite``)."""
    return ReviewStore(Path(out) / DB_NAME, min_iou=min_iou)
