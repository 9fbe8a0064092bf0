"""Who may be shown: a session's people, ``--keep`` read as roles, names and ids, and the
:class:`~vigcv.privacy.blur.BlurPlan` of a session (its face tracks and whom to keep).

By default only the people whose ``may_show`` is true are shown: the parent figure(s) and the
index child unless the guider decided otherwise on the review page; everyone else, a never-named
bystander included, is blurred. ``--keep`` / ``--blur-all-except`` replaces that choice with
roles, names or ids:

- ``parent``: every parent figure, ``child``: the index child, as the review page marks them;
  until the guider has named anyone, the parent and the child of the pair the session's moments
  are for (after a swap or a chosen pair);
- a name the guider gave on the review page ("Mum", "Sam"), in any case;
- a person's id (``3`` or ``person-3``; the ``person`` of ``people.csv`` and ``features.parquet``).

The adult / child guesses of ``people.csv`` are deliberately not accepted: "adult" would also
show an adult bystander, the one person consent-aware sharing must not show by accident.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from vigcv.errors import VigcvError
from vigcv.privacy.blur import BlurPlan, BlurSettings, FaceTracks
from vigcv.results import FEATURES_FILE, is_session, read_features, session_name
from vigcv.results.people import current_pair
from vigcv.results.people import session_people as named_people

ROLES = ("parent", "child")
PEOPLE_COLUMNS = (
    "person",
    "name",
    "role_guess",
    "pair_role",
    "parent_figure",
    "index_child",
    "may_show",
)
_ID = re.compile(r"^(?:person-?|#)?(\d+)$", re.IGNORECASE)


def session_folder(folder: Path) -> Path:
    """``folder`` checked to be a processed session folder; a one-line error otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VigcvError(f"{folder}: no such folder; give --results OUT/<session> of `vigcv run`")
    if not is_session(folder):
        raise VigcvError(
            f"{folder}: not a session folder of `vigcv run` (no run.json); give the folder of "
            "one session, OUT/<session>"
        )
    return folder


def _features(folder: Path) -> pd.DataFrame | None:
    if not (folder / FEATURES_FILE).is_file():
        return None
    try:
        return read_features(folder)
    except (OSError, ValueError):
        return None


def _from_features(folder: Path, features: pd.DataFrame | None) -> pd.DataFrame:
    """A session without people.csv: its tracked people with the role of the scored pair."""
    if features is None or not len(features) or "person" not in features:
        return pd.DataFrame(columns=["person", "role_guess", "pair_role"])
    rows = []
    for person, group in features.groupby("person", sort=True):
        roles = group["role"].astype(str) if "role" in group else pd.Series(dtype=str)
        roles = roles[roles.isin(ROLES)]
        role = str(roles.mode().iloc[0]) if len(roles) else ""
        rows.append({"person": int(person), "role_guess": "unknown", "pair_role": role})
    return pd.DataFrame(rows)


def _defaults(table: pd.DataFrame) -> pd.DataFrame:
    """No guider's choices: the pair's parent and child may be shown, nobody else."""
    table = table.copy()
    pair = table["pair_role"].fillna("").astype(str)
    table["name"] = ""
    table["parent_figure"] = pair == "parent"
    table["index_child"] = pair == "child"
    table["may_show"] = table["parent_figure"] | table["index_child"]
    return table


def session_people(folder: Path, *, features: pd.DataFrame | None = None) -> pd.DataFrame:
    """A session's people, columns :data:`PEOPLE_COLUMNS` (``person`` int, ``name`` str,
    ``parent_figure``, ``index_child``, ``may_show`` bool; ``pair_role`` the pair the session's
    moments are for now, after the guider's swap or choice of pair).

    From :func:`vigcv.results.people.session_people` (the names and choices the guider made on
    the review page, and the people recognised from the family's other visits); for a session
    without ``people.csv`` (made before people were recorded) from the roles in
    ``features.parquet``: the pair's parent and child may be shown, nobody else.
    """
    folder = Path(folder)
    name = session_name(folder)
    out = folder.parents[name.count("/")]  # folder is out / name
    table = named_people(out, name)
    if len(table):
        pair = current_pair(out, name, table)
        table["pair_role"] = [
            "" if pair is None else {pair[0]: "parent", pair[1]: "child"}.get(int(p), "")
            for p in table["person"]
        ]
        if not table["named_by"].astype(str).str.len().any():  # nobody named: the pair decides
            shown = table["may_show"].astype(bool) == (
                table["parent_figure"].astype(bool) | table["index_child"].astype(bool)
            )
            table["parent_figure"] = table["pair_role"] == "parent"
            table["index_child"] = table["pair_role"] == "child"
            # defaults follow the pair (a swap keeps both shown); a choice made stays
            table["may_show"] = (
                table["may_show"]
                .astype(bool)
                .where(~shown, table["parent_figure"] | table["index_child"])
            )
    if not len(table):
        found = features if features is not None else _features(folder)
        table = _defaults(_from_features(folder, found))
    table = table.reindex(columns=list(PEOPLE_COLUMNS)).copy()
    table["person"] = table["person"].astype(int)
    table["name"] = table["name"].fillna("").astype(str)
    table["pair_role"] = table["pair_role"].fillna("").astype(str)
    for column in ("parent_figure", "index_child", "may_show"):
        table[column] = table[column].fillna(False).astype(bool)
    return table.reset_index(drop=True)


def describe_people(people: pd.DataFrame) -> str:
    """``0 (Mum, parent), 1 (child), 2`` for an error message."""
    parts = []
    for row in people.itertuples(index=False):
        what = [x for x in (row.name, row.pair_role) if x]
        parts.append(f"{row.person} ({', '.join(what)})" if what else str(row.person))
    return ", ".join(parts) or "(nobody was tracked)"


def resolve_keep(people: pd.DataFrame, keep: Iterable[str], *, where: str = "") -> frozenset[int]:
    """The ids of the people ``keep`` names (roles, names or ids, see the module's docstring).

    Raises
    ------
    VigcvError
        A name or id that is none of this session's people, naming ``where`` (the session).
    """
    ids: set[int] = set()
    known = set(people["person"].astype(int))
    names = people["name"].astype(str).str.strip().str.casefold()
    for raw in keep:
        token = str(raw).strip()
        if not token:
            continue
        low = token.casefold()
        if low == "parent":
            hit = people["parent_figure"]
        elif low == "child":
            hit = people["index_child"]
        elif (match := _ID.match(token)) is not None and int(match.group(1)) in known:
            ids.add(int(match.group(1)))
            continue
        else:
            hit = names == low
            if not hit.any():
                prefix = f"{where}: " if where else ""
                raise VigcvError(
                    f"{prefix}no one called {token!r} in this session; keep takes parent, "
                    f"child, a person's id or a name given on the review page; its people are: "
                    f"{describe_people(people)}"
                )
        ids.update(int(p) for p in people.loc[hit, "person"])
    return frozenset(ids)


def split_keep(text: str | Iterable[str] | None) -> list[str] | None:
    """``"parent, Sam"`` (or repeated options) as ``["parent", "Sam"]``; None stays None."""
    if text is None:
        return None
    parts = [text] if isinstance(text, str) else list(text)
    return [p.strip() for part in parts for p in str(part).split(",") if p.strip()]


def blur_plan(
    folder: Path,
    keep: Iterable[str] | None = None,
    *,
    config: Mapping[str, Any] | None = None,
) -> BlurPlan:
    """What to blur in a session's film: its face tracks (``features.parquet``) and the people
    to keep, from ``keep`` (roles, names, ids) or, when None, everyone whose ``may_show`` is
    true."""
    folder = session_folder(folder)
    settings = BlurSettings.from_config(config)
    features = _features(folder)
    people = session_people(folder, features=features)
    if keep is None:
        kept = frozenset(int(p) for p in people.loc[people["may_show"], "person"])
    else:
        kept = resolve_keep(people, keep, where=str(folder))
    tracks = (
        FaceTracks(features, hold_s=settings.hold_s, bridge_s=settings.bridge_s)
        if features is not None
        else None
    )
    return BlurPlan(tracks=tracks, keep=kept, settings=settings)
