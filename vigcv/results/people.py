"""The people of a session, named once by the guider and recognised in the family's other visits.

A session's people come from its ``people.csv`` / ``people.json`` (id, role guess, seconds seen,
thumbnail, face-identity embedding; :func:`vigcv.results.folder.read_people`). What the guider
says about them lives in ``OUT/reviews.sqlite`` beside the decisions, in two tables:

- ``people_labels`` -- one row per person the guider named (or left unnamed on purpose) in a
  session: ``scope`` (``family:<family>`` for a family's visit, ``session:<name>`` for a session
  of no family), ``session``, ``person`` (the id in that session's people.csv), ``name`` (``""``
  for someone left unnamed), ``parent_figure``, ``index_child``, ``may_show`` (0/1), the
  person's face ``embedding`` when named (JSON, copied from people.json), ``declined`` (names
  the guider said this person is *not*, JSON), ``reviewer``, ``created_at``, ``updated_at``.
- ``people_history`` -- append-only: every change with its field, old and new value, reviewer,
  time.

A *named person* of a scope is a name (compared without case and outer spaces) with the
labels that carry it; its face embeddings are those labels' embeddings, and its flags are
kept the same on all of them (a change of "may be shown" made in one visit holds in every
visit). Nothing is written by reading: recognition is computed each time
:func:`session_people` is called, from the guider's labels only, so it never overwrites a
guider's decision and follows every new name at once. A person of another session (or an
unlabelled person of this one) whose embedding is within ``[people] sure_distance`` of exactly
one named person (and nearer to it than any other unlabelled person of the session) is
*recognised*; within ``[people] ask_distance`` it is a suggestion the guider confirms (yes:
:func:`name_person` with that name; no: :func:`decline_name`). Nothing else is named.

Labels follow their faces: when a session is re-run and its people get other ids, a label
moves to the person whose embedding matches the one it stored.

Every table that holds a session's data has a ``session`` column, so ``vigcv forget`` removes
a family's names, faces and their history with its decisions.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vigcv.config import section_values
from vigcv.errors import ConfigError
from vigcv.results.decisions import DB_NAME, StoreError, open_store, write_transaction
from vigcv.results.folder import (
    PEOPLE_CSV_COLUMNS,
    is_family,
    list_pairs,
    pair_key,
    read_pair,
    read_people,
    read_people_embeddings,
    roles_swapped,
    write_pair,
)

MAX_NAME = 100  # characters
NAMED_BY = ("guider", "recognised", "")

# The columns of :func:`session_people`: people.csv's, then what the guider said or what was
# recognised. Another module (the blurring of exports) relies on exactly these names.
PEOPLE_COLUMNS = (
    *PEOPLE_CSV_COLUMNS,
    "name",  # str, "" unnamed (an uncertain match is unnamed until confirmed)
    "parent_figure",  # bool
    "index_child",  # bool
    "may_show",  # bool: may be shown unblurred in shared clips
    "named_by",  # "guider" | "recognised" | ""
    "match_distance",  # float: distance to the nearest named face of the scope, NaN if none
    "uncertain",  # bool: a possible match the guider should confirm
    "suggested_name",  # str: the name an uncertain match suggests, else ""
    "version",  # str: when the guider last changed this person ("" never); see name_person
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS people_labels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL,
    session TEXT NOT NULL,
    person INTEGER NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    name_key TEXT NOT NULL DEFAULT '',
    parent_figure INTEGER,
    index_child INTEGER,
    may_show INTEGER,
    embedding TEXT,
    declined TEXT NOT NULL DEFAULT '[]',
    reviewer TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (session, person)
);
CREATE INDEX IF NOT EXISTS people_labels_scope ON people_labels(scope, name_key);
CREATE TABLE IF NOT EXISTS people_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL,
    session TEXT NOT NULL,
    person INTEGER NOT NULL,
    field TEXT NOT NULL,
    old TEXT,
    value TEXT,
    reviewer TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS people_history_session ON people_history(session);
"""

# Columns added after the first release: (table, name, declaration), for PeopleStore._migrate.
_ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = ()

_FLAGS = ("parent_figure", "index_child", "may_show")


class PeopleConflict(StoreError):
    """Someone else changed this person since the page showed them (reload and look again)."""


@dataclass(frozen=True)
class PeopleSettings:
    """The [people] section of the config: Euclidean distances between face embeddings."""

    sure_distance: float
    ask_distance: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> PeopleSettings:
        values = section_values(config, "people", cls.__dataclass_fields__)
        settings = cls(**{k: float(v) for k, v in values.items()})
        if not 0 < settings.sure_distance <= settings.ask_distance:
            raise ConfigError(
                "config: 'people.sure_distance' must be greater than 0 and at most "
                f"'people.ask_distance', got {settings.sure_distance} and "
                f"{settings.ask_distance}"
            )
        return settings


@dataclass(frozen=True)
class Label:
    """What the guider said about one person of one session."""

    scope: str
    session: str
    person: int
    name: str
    parent_figure: bool | None  # None: the default (see session_people)
    index_child: bool | None
    may_show: bool | None
    embedding: np.ndarray | None
    declined: tuple[str, ...]
    reviewer: str
    updated_at: str

    @property
    def key(self) -> str:
        return name_key(self.name)


def name_key(name: str) -> str:
    """A name as compared: outer spaces dropped, runs of spaces as one, case folded."""
    return " ".join(str(name).split()).casefold()


def clean_name(name: Any) -> str:
    text = " ".join(str("" if name is None else name).split())
    if len(text) > MAX_NAME:
        raise StoreError(f"a name is at most {MAX_NAME} characters")
    return text


def scope_of(out: Path, session: str) -> str:
    """Where a session's names are remembered: its family (``family:<family>``) when it is a
    visit of one, else the session itself (``session:<name>``)."""
    if "/" in session:
        family = session.split("/", 1)[0]
        if is_family(Path(out) / family):
            return f"family:{family}"
    return f"session:{session}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _vector(text: Any) -> np.ndarray | None:
    if not text:
        return None
    try:
        values = json.loads(text)
    except ValueError:
        return None
    if not isinstance(values, list) or not values:
        return None
    return np.asarray(values, dtype=float)


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _int(value: bool | None) -> int | None:
    return None if value is None else int(bool(value))


def _label(row: sqlite3.Row) -> Label:
    try:
        declined = tuple(str(d) for d in json.loads(row["declined"] or "[]"))
    except ValueError:
        declined = ()
    return Label(
        scope=str(row["scope"]),
        session=str(row["session"]),
        person=int(row["person"]),
        name=str(row["name"]),
        parent_figure=_flag(row["parent_figure"]),
        index_child=_flag(row["index_child"]),
        may_show=_flag(row["may_show"]),
        embedding=_vector(row["embedding"]),
        declined=declined,
        reviewer=str(row["reviewer"]),
        updated_at=str(row["updated_at"]),
    )


class PeopleStore:
    """The people tables of ``OUT/reviews.sqlite`` (open once per thread, like
    :class:`vigcv.results.decisions.ReviewStore`, which shares the file)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the review database ({exc})") from None
        self._migrate()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> PeopleStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return write_transaction(self._conn)

    def _migrate(self) -> None:
        """Add the columns a database made by an older vigcv lacks (inside a write
        transaction, so two processes opening it at once add each column once)."""

        def missing(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
            out = []
            for table, name, decl in _ADDED_COLUMNS:
                have = {str(r["name"]) for r in conn.execute(f"PRAGMA table_info({table})")}
                if name not in have:
                    out.append((table, name, decl))
            return out

        if not missing(self._conn):
            return
        try:
            with self._transaction() as conn:
                for table, column, decl in missing(conn):
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        except sqlite3.Error as exc:
            self._conn.close()
            raise StoreError(f"{self.path}: cannot update the review database ({exc})") from None

    # -- reading ----------------------------------------------------------------------------------

    def labels(self, *, scope: str | None = None, session: str | None = None) -> list[Label]:
        """Stored labels of a scope or of a session (or all), oldest first."""
        sql, args = "SELECT * FROM people_labels", []
        where = []
        if scope is not None:
            where.append("scope = ?")
            args.append(scope)
        if session is not None:
            where.append("session = ?")
            args.append(session)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._conn.execute(sql + " ORDER BY id", args).fetchall()
        return [_label(r) for r in rows]

    def history(self, session: str | None = None) -> list[dict[str, Any]]:
        """The append-only log of changes to people, oldest first."""
        sql = "SELECT * FROM people_history"
        args: tuple[str, ...] = ()
        if session is not None:
            sql, args = sql + " WHERE session = ?", (session,)
        return [dict(r) for r in self._conn.execute(sql + " ORDER BY id", args).fetchall()]

    # -- writing ----------------------------------------------------------------------------------

    def set_label(
        self,
        *,
        scope: str,
        session: str,
        person: int,
        name: str,
        flags: Mapping[str, bool | None],
        embedding: np.ndarray | None,
        decline: str = "",
        reviewer: str = "",
        version: str | None = None,
    ) -> Label:
        """Store what the guider said about ``person`` of ``session`` in one transaction:
        its name (a changed name moves the person to that name's named person, or leaves it
        unnamed; the name it had is remembered as declined for this person), its flags (the
        same on every label of that name in the scope), and each change in the history.
        ``version`` (the ``updated_at`` the page showed, ``""`` for none) refuses a write over a
        change made meanwhile."""
        name = clean_name(name)
        key = name_key(name)
        now = _now()
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT * FROM people_labels WHERE session = ? AND person = ?",
                (session, int(person)),
            ).fetchone()
            old = None if row is None else _label(row)
            if version is not None and version != ("" if old is None else old.updated_at):
                raise PeopleConflict(
                    "someone else changed this person meanwhile; reload to see the change"
                )
            declined = list(old.declined) if old is not None else []
            if old is not None and old.key and old.key != key and old.key not in declined:
                declined.append(old.key)  # the guider said: not them
            if decline and name_key(decline) not in declined:
                declined.append(name_key(decline))
            if key in declined:
                declined.remove(key)
            vector = None
            if key and embedding is not None:
                vector = json.dumps([round(float(v), 6) for v in np.asarray(embedding).ravel()])
            elif old is not None and old.key == key and old.embedding is not None:
                vector = json.dumps([round(float(v), 6) for v in old.embedding])
            values = {
                "name": name,
                "name_key": key,
                "parent_figure": _int(flags["parent_figure"]),
                "index_child": _int(flags["index_child"]),
                "may_show": _int(flags["may_show"]),
                "embedding": vector,
                "declined": json.dumps(declined),
            }
            before: dict[str, Any] = {}
            if old is None:
                conn.execute(
                    "INSERT INTO people_labels (scope, session, person, name, name_key,"
                    " parent_figure, index_child, may_show, embedding, declined, reviewer,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (scope, session, int(person), *values.values(), reviewer, now, now),
                )
            else:
                before = {k: row[k] for k in values}
                conn.execute(
                    "UPDATE people_labels SET name = ?, name_key = ?, parent_figure = ?,"
                    " index_child = ?, may_show = ?, embedding = ?, declined = ?, scope = ?,"
                    " reviewer = ?, updated_at = ? WHERE id = ?",
                    (*values.values(), scope, reviewer, now, int(row["id"])),
                )
            for field in ("name", *_FLAGS, "declined"):
                if old is None or before.get(field) != values[field]:
                    if old is None and values[field] in (None, "", "[]"):
                        continue
                    _log(conn, scope, session, person, field, before.get(field), values[field],
                         reviewer, now)  # fmt: skip
            if old is None or before.get("embedding") != vector:
                what = "kept" if vector is not None else "none"
                _log(conn, scope, session, person, "face", None, what, reviewer, now)
            if key:  # the named person's flags hold in every visit of the scope
                others = conn.execute(
                    "SELECT * FROM people_labels WHERE scope = ? AND name_key = ?"
                    " AND NOT (session = ? AND person = ?)",
                    (scope, key, session, int(person)),
                ).fetchall()
                for other in others:
                    changed = {f: values[f] for f in _FLAGS if other[f] != values[f]}
                    if not changed:
                        continue
                    sets = ", ".join(f"{f} = ?" for f in changed)
                    conn.execute(
                        f"UPDATE people_labels SET {sets}, updated_at = ? WHERE id = ?",
                        (*changed.values(), now, int(other["id"])),
                    )
                    for f, v in changed.items():
                        _log(conn, scope, str(other["session"]), int(other["person"]), f,
                             other[f], v, reviewer, now)  # fmt: skip
            fresh = conn.execute(
                "SELECT * FROM people_labels WHERE session = ? AND person = ?",
                (session, int(person)),
            ).fetchone()
        return _label(fresh)


def _log(
    conn: sqlite3.Connection,
    scope: str,
    session: str,
    person: int,
    field: str,
    old: Any,
    value: Any,
    reviewer: str,
    at: str,
) -> None:
    conn.execute(
        "INSERT INTO people_history (scope, session, person, field, old, value, reviewer, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            scope,
            session,
            int(person),
            field,
            None if old is None else str(old),
            None if value is None else str(value),
            reviewer,
            at,
        ),
    )


def open_people(out: str | Path) -> PeopleStore:
    """The people tables of an OUT folder's review database (``OUT/reviews.sqlite``)."""
    return PeopleStore(Path(out) / DB_NAME)


def _stored_labels(out: Path, *, scope: str, session: str) -> tuple[list[Label], list[Label]]:
    """The labels of a scope and of a session, read without creating or changing anything:
    none before the review database exists (reading a results folder, e.g. to blur a film,
    must not write into it), and read-only where the folder cannot be written."""
    db = Path(out) / DB_NAME
    if not db.is_file():
        return [], []
    try:
        with open_people(out) as store:
            return store.labels(scope=scope), store.labels(session=session)
    except StoreError:
        pass
    try:  # a folder shared read-only: nobody writes there, so no locks are needed
        conn = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True, timeout=30.0)
        try:
            conn.row_factory = sqlite3.Row
            have = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'people_labels'"
            ).fetchone()
            query = "SELECT * FROM people_labels ORDER BY id"
            found = [_label(r) for r in conn.execute(query).fetchall()] if have else []
        finally:
            conn.close()
    except (sqlite3.Error, IndexError, KeyError, ValueError) as exc:
        raise StoreError(
            f"{db}: cannot read the review database ({exc}); open the results with the vigcv "
            "that made them, or copy them to a folder you can write to"
        ) from None
    return [x for x in found if x.scope == scope], [x for x in found if x.session == session]


# -- recognition ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Named:
    """A named person of a scope: its name, flags and face embeddings (one per label)."""

    name: str
    parent_figure: bool
    index_child: bool
    may_show: bool
    faces: tuple[np.ndarray, ...]

    @property
    def key(self) -> str:
        return name_key(self.name)

    def distance(self, vector: np.ndarray) -> float:
        ds = [
            float(np.linalg.norm(face - vector))
            for face in self.faces
            if face.shape == vector.shape
        ]
        return min(ds) if ds else math.inf


def named_people(labels: list[Label]) -> dict[str, Named]:
    """The named people of a scope's labels: name key -> :class:`Named` (the latest label's
    spelling and flags)."""
    groups: dict[str, list[Label]] = {}
    for label in labels:
        if label.key:
            groups.setdefault(label.key, []).append(label)
    out = {}
    for key, group in groups.items():
        latest = max(group, key=lambda lab: lab.updated_at)
        out[key] = Named(
            name=latest.name,
            parent_figure=bool(latest.parent_figure),
            index_child=bool(latest.index_child),
            may_show=bool(latest.may_show),
            faces=tuple(lab.embedding for lab in group if lab.embedding is not None),
        )
    return out


def _place_labels(
    labels: list[Label], embeddings: Mapping[int, np.ndarray], ids: list[int], sure: float
) -> dict[int, Label]:
    """This session's labels on its current people: by id when the stored face still matches
    (or either has none), else on the person whose face matches it (a re-run renumbered them)."""
    placed: dict[int, Label] = {}
    moved = []
    for label in labels:
        vec = embeddings.get(label.person)
        if label.person in ids and (
            label.embedding is None
            or vec is None
            or vec.shape != label.embedding.shape
            or float(np.linalg.norm(vec - label.embedding)) < sure
        ):
            placed[label.person] = label
        else:
            moved.append(label)
    for label in moved:
        if label.embedding is None:
            continue
        best, best_d = None, sure
        for person, vec in embeddings.items():
            if person in placed or vec.shape != label.embedding.shape:
                continue
            d = float(np.linalg.norm(vec - label.embedding))
            if d < best_d:
                best, best_d = person, d
        if best is not None:
            placed[best] = label
    return placed


def session_people(
    out: Path, session: str, *, config: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """A session's people with their names, roles and consent.

    Parameters
    ----------
    out : Path
        The OUT folder.
    session : str
        The session's name (``<family>/<visit>`` for a family's visit).
    config : mapping, optional
        A loaded config (its ``[people]`` distances); the default file's when None.

    Returns
    -------
    DataFrame
        One row per person of people.csv (empty, with these columns, when the session has
        none), columns :data:`PEOPLE_COLUMNS`: people.csv's, then ``name`` (``""`` unnamed),
        ``parent_figure``, ``index_child``, ``may_show`` (bools), ``named_by`` (``"guider"``,
        ``"recognised"`` or ``""``), ``match_distance`` (the Euclidean distance between this
        person's face embedding and the nearest face of a named person of the family, NaN when
        there is none), ``uncertain`` (a possible match for the guider to confirm; its name
        stays ``""`` and the suggestion is in ``suggested_name``).

        Defaults of someone neither named by the guider nor recognised: ``parent_figure`` for
        the scored pair's parent (people.csv ``pair_role``) and ``index_child`` for its
        child, unless a named person of the session already is one; ``may_show`` True for a
        parent figure and the index child, False for everyone else.
    """
    out = Path(out)
    settings = PeopleSettings.from_config(config)
    folder = out / session
    people = read_people(folder)
    columns = list(PEOPLE_COLUMNS)
    if people.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    people = people.reset_index(drop=True)
    people["person"] = people["person"].astype(int)
    people["pair_role"] = people["pair_role"].fillna("").astype(str)
    people["thumbnail"] = people["thumbnail"].fillna("").astype(str)
    ids = [int(p) for p in people["person"]]
    embeddings = {p: v for p, v in read_people_embeddings(folder).items() if p in ids}
    labels, own = _stored_labels(out, scope=scope_of(out, session), session=session)
    named = named_people(labels)
    placed = _place_labels(own, embeddings, ids, settings.sure_distance)

    rows: dict[int, dict[str, Any]] = {}
    for person in ids:
        label = placed.get(person)
        row = {
            "name": "",
            "parent_figure": None,
            "index_child": None,
            "may_show": None,
            "named_by": "",
            "match_distance": math.nan,
            "uncertain": False,
            "suggested_name": "",
            "version": "" if label is None else label.updated_at,
        }
        if label is not None and label.key:
            who = named.get(label.key)
            row.update(name=label.name if who is None else who.name, named_by="guider")
            for flag in _FLAGS:
                row[flag] = getattr(label if who is None else who, flag)
        elif label is not None:  # left unnamed by the guider, with flags of its own
            for flag in _FLAGS:
                row[flag] = getattr(label, flag)
        rows[person] = row

    # recognition: each unlabelled-by-name face against the scope's named faces
    taken = {lab.key for lab in placed.values() if lab.key}
    candidates: list[tuple[float, int, str]] = []
    for person in ids:
        row, vec = rows[person], embeddings.get(person)
        if row["named_by"] or vec is None:
            continue
        label = placed.get(person)
        declined = set(label.declined) if label is not None else set()
        dists = {k: n.distance(vec) for k, n in named.items() if k not in declined}
        dists = {k: d for k, d in dists.items() if math.isfinite(d)}
        if not dists:
            continue
        nearest = min(dists, key=lambda k: dists[k])
        row["match_distance"] = dists[nearest]
        sure = [k for k, d in dists.items() if d < settings.sure_distance]
        if len(sure) == 1:
            candidates.append((dists[nearest], person, nearest))
        elif dists[nearest] < settings.ask_distance:
            row.update(uncertain=True, suggested_name=named[nearest].name)
    for _, person, key in sorted(candidates):
        row = rows[person]
        if key in taken:  # one face per named person per session: the nearest; ask for others
            row.update(uncertain=True, suggested_name=named[key].name)
            continue
        taken.add(key)
        who = named[key]
        row.update(name=who.name, named_by="recognised")
        for flag in _FLAGS:
            row[flag] = getattr(who, flag)

    # defaults: the scored pair, unless a named person of the session takes its place
    pairs = dict(zip(ids, people["pair_role"], strict=True))
    for flag, role in (("parent_figure", "parent"), ("index_child", "child")):
        someone = any(r[flag] for r in rows.values() if r[flag] is not None)
        for person, row in rows.items():
            if row[flag] is None:
                row[flag] = bool(pairs[person] == role and not someone)
    for row in rows.values():
        if row["may_show"] is None:
            row["may_show"] = bool(row["parent_figure"] or row["index_child"])

    extra = pd.DataFrame([rows[p] for p in ids])
    table = pd.concat([people.reindex(columns=list(PEOPLE_CSV_COLUMNS)), extra], axis=1)
    for flag in (*_FLAGS, "uncertain"):
        table[flag] = table[flag].astype(bool)
    table["match_distance"] = table["match_distance"].astype(float)
    return table.reindex(columns=columns)


# -- the guider's actions -------------------------------------------------------------------------


def _person_row(out: Path, session: str, person: int, config: Any) -> tuple[pd.DataFrame, Any]:
    table = session_people(out, session, config=config)
    match = table[table["person"] == int(person)] if len(table) else table
    if match.empty:
        raise StoreError(f"{session}: there is no person {person} in people.csv")
    return table, match.iloc[0]


def name_person(
    out: Path,
    session: str,
    person: int,
    *,
    name: str,
    parent_figure: bool,
    index_child: bool,
    may_show: bool,
    reviewer: str = "",
    version: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The guider names ``person`` of ``session`` (``name=""``: leaves them unnamed) and marks
    whether they are a parent figure, the index child, and may be shown in shared clips.

    The name is remembered for the family (for a session of no family: for that session), with
    the person's face embedding, so the family's other visits recognise them
    (:func:`session_people`); the flags of a named person hold in every visit. Every change is
    kept in the history; a changed name never renames the earlier person, it moves this face to
    the person of the new name. ``version`` (the ``version`` column :func:`session_people`
    gave; ``""`` for a person never labelled) refuses to write over someone else's change made
    since (:class:`PeopleConflict`).

    Returns the session's people after the change (:func:`session_people`).
    """
    out = Path(out)
    _person_row(out, session, person, config)
    embedding = read_people_embeddings(out / session).get(int(person))
    flags = {"parent_figure": parent_figure, "index_child": index_child, "may_show": may_show}
    with open_people(out) as store:
        store.set_label(
            scope=scope_of(out, session),
            session=session,
            person=int(person),
            name=name,
            flags=flags,
            embedding=embedding,
            reviewer=str(reviewer)[:100],
            version=version,
        )
    return session_people(out, session, config=config)


def decline_name(
    out: Path,
    session: str,
    person: int,
    *,
    name: str,
    reviewer: str = "",
    config: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The guider answers "no" to "Is this <name>?": ``person`` of ``session`` is never
    suggested or recognised as ``name`` again; their name and flags stay as they were."""
    out = Path(out)
    _person_row(out, session, person, config)
    with open_people(out) as store:
        own = {lab.person: lab for lab in store.labels(session=session)}.get(int(person))
        keep = own is not None and bool(own.key) and own.key != name_key(name)
        flags: dict[str, bool | None] = {f: None for f in _FLAGS}  # unnamed: the defaults
        if keep and own is not None:
            flags = {f: getattr(own, f) for f in _FLAGS}
        store.set_label(
            scope=scope_of(out, session),
            session=session,
            person=int(person),
            name=own.name if keep and own is not None else "",
            flags=flags,
            embedding=read_people_embeddings(out / session).get(int(person)),
            decline=name,
            reviewer=str(reviewer)[:100],
        )
    return session_people(out, session, config=config)


def family_names(out: Path, session: str) -> list[dict[str, Any]]:
    """The named people of the session's family (or of the session alone): ``{"name",
    "parent_figure", "index_child", "may_show", "faces"}`` each, by name."""
    with open_people(out) as store:
        named = named_people(store.labels(scope=scope_of(Path(out), session)))
    return [
        {
            "name": n.name,
            "parent_figure": n.parent_figure,
            "index_child": n.index_child,
            "may_show": n.may_show,
            "faces": len(n.faces),
        }
        for n in sorted(named.values(), key=lambda n: n.key)
    ]


# -- the pair to score ----------------------------------------------------------------------------


def scored_pair(people: pd.DataFrame) -> tuple[int, int] | None:
    """The pair people.csv says the session's moments are for (``pair_role`` parent and child,
    as the last scoring wrote them: after the guider's chosen pair and swap)."""
    if people.empty:
        return None
    roles = dict(zip(people["pair_role"].astype(str), people["person"].astype(int), strict=False))
    if "parent" in roles and "child" in roles:
        return roles["parent"], roles["child"]
    return None


def named_pair(table: pd.DataFrame) -> tuple[int, int] | None:
    """The pair the names make: a parent figure and the index child of :func:`session_people`
    (of several, the scored pair's own where it is one, else the one seen longest)."""
    if table.empty:
        return None

    def pick(flag: str, role: str) -> int | None:
        rows = table[table[flag]]
        if rows.empty:
            return None
        auto = rows[rows["pair_role"] == role]
        if not auto.empty:
            return int(auto["person"].iloc[0])
        seen = pd.to_numeric(rows["seconds_visible"], errors="coerce").fillna(0.0)
        return int(rows["person"].iloc[int(np.argmax(seen.to_numpy()))])

    parent, child = pick("parent_figure", "parent"), pick("index_child", "child")
    if parent is None or child is None or parent == child:
        return None
    return parent, child


def current_pair(
    out: Path, session: str, people: pd.DataFrame | None = None
) -> tuple[int, int] | None:
    """The pair the session's moments are for now: people.csv's ``pair_role`` (the last
    scoring's, which follows the guider's chosen pair and swap in roles.json); without pair
    roles there, the pair chosen in roles.json (the other way round when swapped), else None."""
    folder = Path(out) / session
    if people is None:
        people = read_people(folder)
    pair = scored_pair(people)
    if pair is None:
        pair = read_pair(folder)
        if pair is not None and roles_swapped(folder):
            pair = (pair[1], pair[0])
    return pair


def pair_update(
    out: Path, session: str, *, config: Mapping[str, Any] | None = None
) -> tuple[int, int] | None:
    """The pair the names ask for when it differs from the session's current pair, else None."""
    table = session_people(out, session, config=config)
    wanted = named_pair(table)
    if wanted is None or wanted == current_pair(out, session, table):
        return None
    return wanted


def apply_pair(out: Path, session: str, *, config: Mapping[str, Any] | None = None) -> bool:
    """Make the parent figure and the index child the session's default pair (roles.json, read
    by the pipeline's rescoring) when they differ from its current pair. Returns whether it
    changed (then re-score the session: :func:`vigcv.pipeline.rescore`)."""
    wanted = pair_update(out, session, config=config)
    if wanted is None:
        return False
    folder = Path(out) / session
    # The pair the decisions stored for the session's own moments were made on: the one chosen
    # last (roles.json; the moments follow it once re-scored), else the one scored.
    before = read_pair(folder) or scored_pair(read_people(folder))
    if before is None or set(before) == set(wanted) or not (Path(out) / DB_NAME).is_file():
        write_pair(folder, parent=wanted[0], child=wanted[1])  # a swap keeps the same two
        return True
    # The guider's decisions stay with the moments they were made on: the old pair's moments
    # move to pairs/<old>/, the new pair's become the session's own.
    old, new = pair_key(*before), pair_key(*wanted)
    with open_store(out) as store:
        store.change_default_pair(session, old=old, new=new, reviewer="vigcv")
        try:
            write_pair(folder, parent=wanted[0], child=wanted[1])
        except BaseException:
            store.change_default_pair(session, old=new, new=old, reviewer="vigcv")
            raise
    return True


# -- whose moments: the pairs of a session, named ------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """One pair whose moments a session holds: its own (the default pair, ``key`` ``""``) or one
    more (``key`` ``"<parent>-<child>"``, the folder ``pairs/<key>/``)."""

    key: str
    parent: int | None  # person id of people.csv (None: a session older than people.csv)
    child: int | None
    label: str  # whose moments, in plain words: "Mum and Ellie", "adult 2 and child 0"
    default: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "pair": self.key,
            "parent": self.parent,
            "child": self.child,
            "label": self.label,
            "default": self.default,
        }


def pair_label(
    table: pd.DataFrame,
    parent: int | None,
    child: int | None,
    *,
    own: tuple[int, int] | None = None,
) -> str:
    """Whose moments, in plain words, from :func:`session_people`'s ``table``: the names the
    guider gave ("Mum and Ellie"); unnamed, the parent and the child of the session's own pair
    ``own`` (and of a pair not known) are "the parent" and "the child", anyone else is their
    role guess and number ("adult 2", "child 0"; "person 3" when the guess is unknown): "the
    parent and child 2"."""
    rows = {int(r["person"]): r for r in table.to_dict("records")} if not table.empty else {}
    roles = {own[0]: "the parent", own[1]: "the child"} if own is not None else {}

    def who(person: int | None, role: str) -> str:
        row = rows.get(person) if person is not None else None
        name = str(row.get("name") or "").strip() if row is not None else ""
        if name:
            return name
        if person is None:
            return f"the {role}"
        if person in roles:
            return roles[person]
        guess = str(row.get("role_guess") or "") if row is not None else ""
        return f"{guess if guess in ('adult', 'child') else 'person'} {person}"

    return f"{who(parent, 'parent')} and {who(child, 'child')}"


def session_pairs(
    out: Path,
    session: str,
    *,
    config: Mapping[str, Any] | None = None,
    table: pd.DataFrame | None = None,
) -> list[Pair]:
    """The pairs whose moments ``session`` holds, named: first its own (the pair it is scored
    for, ``moments.json``), then each more parent-child pair of ``pairs/`` (a session of more
    than two people). ``table`` is :func:`session_people`'s when the caller has it."""
    if table is None:
        table = session_people(out, session, config=config)
    own = current_pair(out, session, table if not table.empty else None)
    parent, child = own if own is not None else (None, None)
    pairs = [Pair("", parent, child, pair_label(table, parent, child, own=own), True)]
    for a, b in list_pairs(Path(out) / session):
        if own is not None and (a, b) == own:
            continue  # left over from before the guider chose this pair: it is the session's own
        pairs.append(Pair(pair_key(a, b), a, b, pair_label(table, a, b, own=own), False))
    return pairs
