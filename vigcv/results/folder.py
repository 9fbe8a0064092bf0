"""The results folder ``OUT`` and its session folders ``OUT/<session>/``: every file name, and
every read and write of them.

```
OUT/
  summary.csv              one row per session: status, reason, notes   (SUMMARY_FILE)
  reviews.sqlite           the guider's decisions (vigcv.results.decisions)
  exports/                 what `vigcv export` wrote                     (EXPORTS_FOLDER)
  <session>/
    run.json               provenance, timings, warnings; its presence makes a session (RUN_FILE)
    roles.json             {"swapped": bool, "pair": {"parent": id, "child": id}}: the guider's
                           parent/child swap and chosen pair                        (ROLES_FILE)
    moments.json, moments.csv, windows.parquet   ranked moments and window scores
    timeline.csv, features.parquet               per analysed frame; per person per frame
    people.csv, people.json, people/person-<id>.jpg   the people found: id, role guess, seconds
                                                 seen, thumbnail; people.json adds each person's
                                                 face-identity embedding      (PEOPLE_*)
    looks.parquet                                who looks at whom: t, person, target, looks_at
    pairs/<parent>-<child>/  with more people, each other parent-child pair: timeline.csv,
                             moments.json, moments.csv, windows.parquet   (PAIRS_FOLDER)
    speech.csv, speech.rttm, turns.csv           who speaks when (also as RTTM); turns and responses
    overlay.mp4                                  with --overlay
    cache/<key>/vision, cache/<key>/audio        the extraction cache (vigcv.cache)
  <family>/                a family's visits, when the films were filed per family
    family.json            the family's visits and their dates (guider's corrections kept)
    progress.csv, progress.png   the indicators of each visit, in date order (vigcv.family)
    referrer_text.md       the guider's own text for the referrer's report (never written here)
    reports/<date>/        the referrer's report (report.html, report.pdf)
    journey/<date>/        the parent's journey (journey.html)
    <visit>/               a session folder as above; its session name is "<family>/<visit>"
```

Run, score, review, export, evaluate, tune and the notebooks read and write these files only
through this module, so a new reader (a family view, a notebook) never needs a copy of a name.
Every write goes to a temporary name that is renamed into place (:mod:`vigcv.io.store`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vigcv.clock import clock
from vigcv.errors import VigcvError
from vigcv.io import store
from vigcv.io.media import MEDIA_EXTENSIONS
from vigcv.scoring.components import COMPONENTS
from vigcv.types import SEGMENT_COLUMNS, TURN_COLUMNS, Moment, SpeechTrack

RUN_FILE = "run.json"
ROLES_FILE = "roles.json"
MOMENTS_JSON = "moments.json"
MOMENTS_CSV = "moments.csv"
WINDOWS_FILE = "windows.parquet"
TIMELINE_FILE = "timeline.csv"
PEOPLE_CSV = "people.csv"
PEOPLE_JSON = "people.json"
PEOPLE_FOLDER = "people"
LOOKS_FILE = "looks.parquet"
PAIRS_FOLDER = "pairs"
FEATURES_FILE = "features.parquet"
SPEECH_FILE = "speech.csv"
SPEECH_RTTM = "speech.rttm"
TURNS_FILE = "turns.csv"
OVERLAY_FILE = "overlay.mp4"
CACHE_FOLDER = "cache"
SUMMARY_FILE = "summary.csv"
EXPORTS_FOLDER = "exports"
FAMILY_FILE = "family.json"
PROGRESS_FILE = "progress.csv"
PROGRESS_PLOT = "progress.png"
REFERRER_TEXT = "referrer_text.md"
REPORTS_FOLDER = "reports"
JOURNEY_FOLDER = "journey"
REFERRER_REPORT = "report.html"
REFERRER_PDF = "report.pdf"
JOURNEY_FILE = "journey.html"

SUMMARY_COLUMNS = (
    "session",
    "input",
    "status",
    "reason",
    "media_duration_s",
    "processing_s",
    "moments",
    "notes",
)


@dataclass
class SessionResult:
    """What happened to one session (one row of summary.csv)."""

    session: str
    input: Path
    status: str  # "ok", "failed" or "skipped"
    reason: str = ""
    duration: float = 0.0  # media seconds
    seconds: float = 0.0  # processing seconds
    moments: int = 0
    warnings: list[str] = field(default_factory=list)
    out_dir: Path | None = None


# -- the OUT folder -------------------------------------------------------------------------------


def is_session(folder: Path) -> bool:
    """Whether ``folder`` is a processed session folder (a real folder with a run.json)."""
    folder = Path(folder)
    return folder.is_dir() and not folder.is_symlink() and (folder / RUN_FILE).is_file()


def is_family(folder: Path) -> bool:
    """Whether ``folder`` is a family folder: a real folder with a family.json, not a session."""
    folder = Path(folder)
    return (
        folder.is_dir()
        and not folder.is_symlink()
        and (folder / FAMILY_FILE).is_file()
        and not is_session(folder)
    )


def list_families(out: Path) -> list[str]:
    """Names of the family folders in ``out``, sorted."""
    out = Path(out)
    if not out.is_dir():
        return []
    return sorted(p.name for p in out.iterdir() if not p.name.startswith(".") and is_family(p))


def family_sessions(family: Path) -> list[str]:
    """Names of the visit folders of a family folder (``<visit>``, sorted)."""
    family = Path(family)
    if not is_family(family):
        return []
    return sorted(p.name for p in family.iterdir() if not p.name.startswith(".") and is_session(p))


def list_sessions(out: Path) -> list[str]:
    """Names of the session folders in ``out``, sorted: ``<session>`` for a session folder of
    ``out``, ``<family>/<visit>`` for a visit in a family folder (``out / name`` is the folder)."""
    out = Path(out)
    if not out.is_dir():
        return []
    names = []
    for p in out.iterdir():
        if p.name.startswith("."):
            continue
        if is_session(p):
            names.append(p.name)
        elif is_family(p):
            names += [f"{p.name}/{visit}" for visit in family_sessions(p)]
    return sorted(names)


def session_name(folder: Path) -> str:
    """The session name of a session folder: ``<family>/<visit>`` inside a family folder, else
    the folder's name."""
    folder = Path(folder)
    if is_family(folder.parent):
        return f"{folder.parent.name}/{folder.name}"
    return folder.name


def file_stem(session: str) -> str:
    """A session name usable in a file name (``family/visit`` -> ``family_visit``)."""
    return session.replace("/", "_")


def session_dirs(path: Path) -> list[Path]:
    """The session folders a user means by ``path``: itself when it is a session folder, the
    visits of a family folder, else the session folders inside it (sorted by name)."""
    path = Path(path)
    if is_session(path):
        return [path]
    if is_family(path):
        return [path / name for name in family_sessions(path)]
    return [path / name for name in list_sessions(path)]


def known_inputs(out: Path) -> dict[Path, str]:
    """``{resolved input: session}`` of the sessions already in ``out`` (from their run.json)."""
    known: dict[Path, str] = {}
    for folder in session_dirs(out) if Path(out).is_dir() else []:
        source = read_run(folder, missing_ok=True).get("input")
        if isinstance(source, str) and source:
            known.setdefault(Path(source).resolve(), session_name(folder))
    return known


def summary_table(results: Sequence[SessionResult]) -> pd.DataFrame:
    rows = [
        {
            "session": r.session,
            "input": str(r.input),
            "status": r.status,
            "reason": r.reason,
            "media_duration_s": round(r.duration, 3),
            "processing_s": round(r.seconds, 3),
            "moments": r.moments,
            "notes": "; ".join(r.warnings),
        }
        for r in results
    ]
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def read_summary(out: Path) -> pd.DataFrame:
    """``OUT/summary.csv`` as strings; an empty table when it is missing or unreadable."""
    path = Path(out) / SUMMARY_FILE
    empty = pd.DataFrame(columns=list(SUMMARY_COLUMNS), dtype=str)
    if not path.is_file():
        return empty
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError):
        return empty
    return table if {"session", "status"} <= set(table.columns) else empty


def write_summary(out: Path, results: Sequence[SessionResult]) -> None:
    """``OUT/summary.csv``: this run's sessions, and the rows of earlier runs kept as they were."""
    table = summary_table(results)
    old = read_summary(out)
    if len(old):
        old = old[~old["session"].isin(table["session"])]
        table = pd.concat([old, table.astype(str)], ignore_index=True)
    store.write_csv(Path(out) / SUMMARY_FILE, table)


def failed_sessions(out: Path) -> list[dict[str, str]]:
    """Sessions that `vigcv run` could not process: rows of ``OUT/summary.csv`` with status
    ``failed`` and no finished session folder (``{"name", "reason", "input"}``)."""
    done = set(list_sessions(out))
    rows = []
    for row in read_summary(out).to_dict("records"):
        name = str(row.get("session", ""))
        if row.get("status") == "failed" and name and name not in done:
            rows.append(
                {
                    "name": name,
                    "reason": str(row.get("reason", "")),
                    "input": str(row.get("input", "")),
                }
            )
    return rows


# -- run.json and roles.json ----------------------------------------------------------------------


def read_run(folder: Path, *, missing_ok: bool = False) -> dict[str, Any]:
    """A session's ``run.json``.

    Raises :class:`VigcvError` when there is none (or it is damaged), unless ``missing_ok``,
    which gives ``{}`` instead.
    """
    path = Path(folder) / RUN_FILE
    try:
        run = store.read_json(path)
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise VigcvError(
            f"{folder}: not a processed session (no {RUN_FILE}); run `vigcv run`"
        ) from None
    except (OSError, ValueError) as exc:
        if missing_ok:
            return {}
        raise VigcvError(
            f"{path}: cannot be read ({exc.__class__.__name__}); run `vigcv run --force`"
        ) from None
    if not isinstance(run, dict):
        if missing_ok:
            return {}
        raise VigcvError(f"{path}: is not a run record; run `vigcv run --force`")
    return run


def write_run(folder: Path, run: dict[str, Any]) -> None:
    store.write_json(Path(folder) / RUN_FILE, run)


def _read_roles(folder: Path) -> dict[str, Any]:
    """roles.json as a dict; ``{}`` when it is missing or damaged."""
    path = Path(folder) / ROLES_FILE
    if not path.is_file():
        return {}
    try:
        doc = store.read_json(path)
    except (ValueError, OSError):
        return {}
    return doc if isinstance(doc, dict) else {}


def roles_swapped(folder: Path) -> bool:
    """Whether the guider swapped parent and child for this session (``roles.json``)."""
    return bool(_read_roles(folder).get("swapped", False))


def write_roles(folder: Path, *, swapped: bool) -> None:
    """Set the swap in ``roles.json``, keeping the pair the guider chose (:func:`write_pair`)."""
    doc = _read_roles(folder)
    doc["swapped"] = bool(swapped)
    store.write_json(Path(folder) / ROLES_FILE, doc)


def read_pair(folder: Path) -> tuple[int, int] | None:
    """The pair the guider chose to score by default, ``(parent, child)`` person ids of
    people.csv, from ``roles.json``; None when the automatic pair (people.csv ``pair_role``)
    stands. The swap (:func:`roles_swapped`) applies on top of either."""
    pair = _read_roles(folder).get("pair")
    if not isinstance(pair, dict):
        return None
    try:
        parent, child = int(pair["parent"]), int(pair["child"])
    except (KeyError, TypeError, ValueError):
        return None
    return (parent, child) if parent != child else None


def write_pair(folder: Path, *, parent: int | None, child: int | None) -> None:
    """Record in ``roles.json`` which two people (person ids) are the session's default pair,
    as the guider marked them (the parent figure and the index child); both None goes back to
    the automatic pair. A chosen pair says who is the parent, so it also clears the swap."""
    doc = _read_roles(folder)
    if parent is None and child is None:
        doc.pop("pair", None)
    elif parent is None or child is None or int(parent) == int(child):
        raise ValueError("a pair needs two different people (parent and child ids)")
    else:
        doc["pair"] = {"parent": int(parent), "child": int(child)}
        doc["swapped"] = False
    doc.setdefault("swapped", False)
    store.write_json(Path(folder) / ROLES_FILE, doc)


def recording(run: dict[str, Any]) -> Path | None:
    """The recording a session's run.json names, if it is an existing media file, else None."""
    value = run.get("input")
    if not isinstance(value, str) or not value:
        return None
    path = Path(value)
    if not path.is_absolute() or path.suffix.lower() not in MEDIA_EXTENSIONS:
        return None
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return real if real.is_file() else None


# -- moments --------------------------------------------------------------------------------------


def moments_document(
    moments: Sequence[Moment], *, session: str, config_hash: str
) -> dict[str, Any]:
    """The moments.json document: ``{"session", "config_hash", "moments": [...]}`` by rank."""
    ordered = sorted(moments, key=lambda m: m.rank)
    return {
        "session": session,
        "config_hash": config_hash,
        "moments": [m.to_dict() for m in ordered],
    }


MOMENT_CSV_COLUMNS = (
    "rank",
    "start",
    "end",
    "score",
    "start_mmss",
    "end_mmss",
    *COMPONENTS,
    "principles",
    "reasons",
)


def moments_table(moments: Sequence[Moment]) -> pd.DataFrame:
    """moments.csv: one row per moment, start and end in seconds and as mm:ss (as the reasons
    and the review page write them), components as columns, principles joined by ``"; "`` and
    reasons by ``" | "``."""
    rows = []
    for m in sorted(moments, key=lambda m: m.rank):
        d = m.to_dict()
        row = {k: d[k] for k in ("rank", "start", "end", "score")}
        row["start_mmss"] = clock(d["start"])
        row["end_mmss"] = clock(d["end"])
        row.update({name: d["components"].get(name, float("nan")) for name in COMPONENTS})
        row["principles"] = "; ".join(d["principles"])
        row["reasons"] = " | ".join(d["reasons"])
        rows.append(row)
    return pd.DataFrame(rows, columns=list(MOMENT_CSV_COLUMNS))


def write_moments(
    folder: Path,
    moments: Sequence[Moment],
    *,
    windows: pd.DataFrame,
    session: str,
    config_hash: str,
) -> dict[str, Path]:
    """Write moments.json, moments.csv and windows.parquet into ``folder`` (created if needed).

    Returns ``{"json": path, "csv": path, "windows": path}``.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise store.output_error(folder, exc) from None
    paths = {
        "json": folder / MOMENTS_JSON,
        "csv": folder / MOMENTS_CSV,
        "windows": folder / WINDOWS_FILE,
    }
    store.write_json(
        paths["json"], moments_document(moments, session=session, config_hash=config_hash)
    )
    store.write_csv(paths["csv"], moments_table(moments), float_format=None)
    store.write_parquet(paths["windows"], windows)
    return paths


def read_moments_document(folder: Path) -> dict[str, Any]:
    """moments.json as written (``{"session", "config_hash", "moments": [dict, ...]}``);
    raises FileNotFoundError, OSError or ValueError."""
    doc = store.read_json(Path(folder) / MOMENTS_JSON)
    if not isinstance(doc, dict) or not isinstance(doc.get("moments", []), list):
        raise ValueError(f"{Path(folder) / MOMENTS_JSON}: not a moments document")
    return doc


def read_moments(folder: Path) -> list[Moment]:
    """A session's moments, by rank; ``[]`` when it has none yet.

    Raises :class:`VigcvError` when moments.json is damaged. A moment without valid bounds is a
    damaged file too.
    """
    path = Path(folder) / MOMENTS_JSON
    try:
        doc = read_moments_document(folder)
        moments = [Moment.from_dict(m) for m in doc.get("moments", [])]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VigcvError(
            f"{path}: cannot be read ({exc.__class__.__name__}); run `vigcv score` on it"
        ) from None
    return sorted(moments, key=lambda m: (m.rank, m.segment.start))


# -- per-frame tables and speech ------------------------------------------------------------------


def write_timeline(folder: Path, timeline: pd.DataFrame) -> None:
    store.write_csv(Path(folder) / TIMELINE_FILE, timeline)


def read_timeline(folder: Path) -> pd.DataFrame:
    """timeline.csv (one row per analysed frame); raises FileNotFoundError when missing."""
    return pd.read_csv(Path(folder) / TIMELINE_FILE)


def write_features(folder: Path, table: pd.DataFrame) -> None:
    store.write_parquet(Path(folder) / FEATURES_FILE, table)


def read_features(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(Path(folder) / FEATURES_FILE)


# -- the people of a session ---------------------------------------------------------------------

# Columns of people.csv, one row per person found in the session.
PEOPLE_CSV_COLUMNS = (
    "person",  # id, stable across the session (int; the `person` of features.parquet)
    "role_guess",  # "adult" | "child" | "unknown", from face proportions and size (not voice)
    "confidence",  # 0.5 (a coin toss) .. 1, of role_guess
    "seconds_visible",  # seconds in which the face was found
    "pair_role",  # "parent" | "child" for the pair scored by default (timeline.csv), else ""
    "thumbnail",  # path of the person's face picture relative to the session folder, or ""
)


def thumbnail_name(person: int) -> str:
    """The thumbnail's path inside a session folder: ``people/person-<id>.jpg``."""
    return f"{PEOPLE_FOLDER}/person-{int(person)}.jpg"


def write_people(
    folder: Path,
    people: pd.DataFrame,
    *,
    embeddings: dict[int, Any] | None = None,
    thumbnails: dict[int, bytes] | None = None,
) -> None:
    """people.csv, people.json (the same rows plus each person's ``embedding``, a list of
    floats or null) and the JPEG thumbnails ``people/person-<id>.jpg``."""
    folder = Path(folder)
    table = people.reindex(columns=list(PEOPLE_CSV_COLUMNS)).copy()
    thumbnails = thumbnails or {}
    for person, data in thumbnails.items():
        target = folder / thumbnail_name(person)
        target.parent.mkdir(parents=True, exist_ok=True)
        store.write_bytes(target, data)
    # A rescore passes no thumbnails and keeps the ones already there.
    table["thumbnail"] = [
        thumbnail_name(p) if (folder / thumbnail_name(p)).is_file() else "" for p in table["person"]
    ]
    store.write_csv(folder / PEOPLE_CSV, table, float_format="%.3f")
    embeddings = embeddings or {}
    rows = []
    for row in table.to_dict(orient="records"):
        vector = embeddings.get(int(row["person"]))
        row["embedding"] = None if vector is None else [round(float(v), 6) for v in vector]
        rows.append(row)
    store.write_json(folder / PEOPLE_JSON, {"people": rows})


def read_people(folder: Path) -> pd.DataFrame:
    """people.csv (columns :data:`PEOPLE_CSV_COLUMNS`); empty when the session has none (a run
    made before people were recorded)."""
    path = Path(folder) / PEOPLE_CSV
    if not path.is_file():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in PEOPLE_CSV_COLUMNS})
    return pd.read_csv(path, keep_default_na=False, na_values=[""]).fillna({"thumbnail": ""})


def read_people_embeddings(folder: Path) -> dict[int, Any]:
    """``{person: ndarray (d,)}`` from people.json for the people who have an embedding."""
    import numpy as np

    path = Path(folder) / PEOPLE_JSON
    if not path.is_file():
        return {}
    doc = store.read_json(path)
    return {
        int(row["person"]): np.asarray(row["embedding"], dtype=float)
        for row in doc.get("people", [])
        if row.get("embedding")
    }


def pair_key(parent: int, child: int) -> str:
    """``"<parent>-<child>"``: the name of one more pair's folder, and the key of its decisions
    in reviews.sqlite (:mod:`vigcv.results.decisions`)."""
    return f"{int(parent)}-{int(child)}"


def parse_pair_key(key: str) -> tuple[int, int] | None:
    """``(parent, child)`` of a :func:`pair_key` (None for anything else)."""
    a, dash, b = str(key).partition("-")
    if not (dash and a.isascii() and b.isascii() and a.isdigit() and b.isdigit()):
        return None
    return int(a), int(b)


def pair_dir(folder: Path, parent: int, child: int) -> Path:
    """``<session>/pairs/<parent>-<child>/``: the folder of one more parent-child pair."""
    return Path(folder) / PAIRS_FOLDER / pair_key(parent, child)


def list_pairs(folder: Path) -> list[tuple[int, int]]:
    """The (parent, child) person ids of the session's extra pairs that have moments."""
    out = []
    base = Path(folder) / PAIRS_FOLDER
    for sub in sorted(base.iterdir()) if base.is_dir() else []:
        ids = parse_pair_key(sub.name)
        if ids is not None and (sub / MOMENTS_JSON).is_file():
            out.append(ids)
    return out


def remove_pairs(folder: Path, *, keep: Sequence[str]) -> None:
    """Remove the pair folders not named in ``keep`` (a pair no longer found after a rescore).
    Only files this module writes are removed; a folder holding anything else is left."""
    base = Path(folder) / PAIRS_FOLDER
    if not base.is_dir():
        return
    ours = {TIMELINE_FILE, MOMENTS_JSON, MOMENTS_CSV, WINDOWS_FILE}
    for sub in base.iterdir():
        if sub.name in keep or not sub.is_dir():
            continue
        if {f.name for f in sub.iterdir()} <= ours:
            for f in sub.iterdir():
                f.unlink()
            sub.rmdir()


def write_looks(folder: Path, looks: pd.DataFrame) -> None:
    """looks.parquet: who looks at whom, one row per analysed frame per ordered pair."""
    store.write_parquet(Path(folder) / LOOKS_FILE, looks)


def read_looks(folder: Path) -> pd.DataFrame:
    """looks.parquet (``t``, ``person``, ``target``, ``looks_at``); empty when missing."""
    path = Path(folder) / LOOKS_FILE
    if not path.is_file():
        return pd.DataFrame(
            {c: pd.Series(dtype=float) for c in ("t", "person", "target", "looks_at")}
        )
    return pd.read_parquet(path)


def speech_table(speech: SpeechTrack) -> pd.DataFrame:
    """``speech.csv``: ``start``, ``end``, ``speaker``, ``confidence`` and the extra columns."""
    seg = speech.segments
    extra = [c for c in seg.columns if c not in SEGMENT_COLUMNS]
    return seg.reindex(columns=[*SEGMENT_COLUMNS, *extra])


def turns_table(turns: pd.DataFrame) -> pd.DataFrame:
    """``turns.csv``: ``time``, ``from``, ``to``, ``latency_s``, ``kind``, ``contingent``
    (yes/no) and the extra columns."""
    extra = [c for c in turns.columns if c not in TURN_COLUMNS]
    table = turns.reindex(columns=[*TURN_COLUMNS, *extra]).copy()
    table["contingent"] = table["contingent"].map(lambda v: "yes" if bool(v) else "no")
    return table


def speech_rttm(speech: SpeechTrack, *, uri: str) -> str:
    """``speech.rttm``: one RTTM ``SPEAKER`` line per speech segment (pyannote.core writes it).

    The speaker is the segment's role (``parent``, ``child``, ``other``) or, where the role is
    ``unknown``, its voice cluster (``A``, ``B``, ...); ``uri`` names the recording (white space
    becomes ``_``, which RTTM cannot hold).
    """
    from pyannote.core import Annotation
    from pyannote.core import Segment as PSegment

    seg = speech.segments
    annotation = Annotation(uri="_".join(uri.split()) or "recording")
    clusters = seg["cluster"] if "cluster" in seg.columns else seg["speaker"]
    rows = zip(seg["start"], seg["end"], seg["speaker"], clusters, strict=True)
    for k, (start, end, speaker, cluster) in enumerate(rows):
        name = str(speaker) if str(speaker) != "unknown" else str(cluster)
        if float(end) > float(start):
            annotation[PSegment(float(start), float(end)), k] = "_".join(name.split())
    return annotation.to_rttm()


def write_speech(folder: Path, speech: SpeechTrack) -> None:
    """speech.csv, speech.rttm and turns.csv of an attributed SpeechTrack."""
    folder = Path(folder)
    store.write_csv(folder / SPEECH_FILE, speech_table(speech), float_format="%.3f")
    store.write_text(folder / SPEECH_RTTM, speech_rttm(speech, uri=folder.name))
    store.write_csv(folder / TURNS_FILE, turns_table(speech.turns), float_format="%.3f")


def read_speech(folder: Path) -> pd.DataFrame:
    """speech.csv; raises FileNotFoundError when missing."""
    return pd.read_csv(Path(folder) / SPEECH_FILE)


def read_turns(folder: Path) -> pd.DataFrame:
    return pd.read_csv(Path(folder) / TURNS_FILE)


def make_session_dir(folder: Path) -> Path:
    """Create ``folder`` (and its parents); a folder that cannot be made is an OutputError."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise store.output_error(folder, exc) from None
    store.remove_partials(folder)
    return folder


# -- a family's folder ----------------------------------------------------------------------------


def read_family(family: Path) -> dict[str, Any]:
    """A family's ``family.json`` (``{"visits": {visit: {"date", "source"}}}``); ``{"visits":
    {}}`` when it is missing. Raises :class:`VigcvError` when it is damaged."""
    path = Path(family) / FAMILY_FILE
    try:
        doc = store.read_json(path)
    except FileNotFoundError:
        return {"visits": {}}
    except (OSError, ValueError) as exc:
        raise VigcvError(
            f"{path}: cannot be read ({exc.__class__.__name__}); fix or delete it, then run "
            "`vigcv run` again (the visit dates are found again; corrections must be redone)"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("visits", {}), dict):
        raise VigcvError(f"{path}: is not a family record; fix or delete it")
    doc.setdefault("visits", {})
    return doc


def write_family(family: Path, doc: dict[str, Any]) -> None:
    folder = Path(family)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise store.output_error(folder, exc) from None
    store.write_json(folder / FAMILY_FILE, doc)


def read_referrer_text(family: Path) -> str | None:
    """The guider's own text for the referrer (``referrer_text.md``), or None when absent."""
    path = Path(family) / REFERRER_TEXT
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise VigcvError(
            f"{path}: cannot be read ({exc.__class__.__name__}); save it as UTF-8 text"
        ) from None
