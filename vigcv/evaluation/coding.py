"""Human coding of a session, read from JSON labels or from an ELAN ``.eaf`` file.

Two formats give the same :class:`Coding`:

- **JSON** in the format of ``docs/labels.md`` (``<session>.json`` or
  ``sessions/<family>.session.json``): per-frame labels every ``step_s`` seconds (1 / 0 / null)
  and ``attuned_moments`` with a strength 1-3.
- **ELAN** ``.eaf``: one tier per signal, named by the signal (``mutual_gaze``,
  ``parent_looks_at_child``, ``child_looks_at_parent``, ``parent_smile``, ``child_smile``; case,
  spaces and hyphens do not matter, so vigcv's own export tiers ``Mutual gaze``, ``Parent smile``
  read back). Each annotation is an interval where the signal is 1; an annotation whose value is
  ``?``, ``null``, ``unknown`` or ``na`` marks an interval the coder could not tell; everywhere
  else on a tier is 0, and a signal without a tier is unknown throughout. An ``attuned_moments``
  tier holds the moments, the strength (1-3) as the first number in each annotation's value
  (``"3"``, ``"2: both smiling"``). The tiers are sampled every ``step_s`` (0.1 s) to give the same
  per-frame table as JSON labels.

Session folders are matched to coding files by name: a file matches a session when its stem (with
or without a trailing ``.session``), or the stem of the clip it names, equals the session's name
(with or without ``.session``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vigcv.evaluation.labels import LABEL_SIGNALS, LabelError, read_labels
from vigcv.evaluation.moments import LabelledMoment, read_session_labels
from vigcv.types import Segment

CODING_SUFFIXES = (".json", ".eaf")
UNKNOWN_VALUES = frozenset({"?", "null", "unknown", "na", "n/a"})
MOMENT_TIER = "attuned_moments"
EAF_STEP_S = 0.1


@dataclass(frozen=True)
class Coding:
    """The human coding of one session, in session time.

    Attributes
    ----------
    source : Path
        The file it was read from.
    frames : DataFrame, shape (n_frames, 1 + len(LABEL_SIGNALS))
        Column ``t`` (seconds, sorted) and each signal of
        :data:`~vigcv.evaluation.labels.LABEL_SIGNALS` as 1.0 (yes), 0.0 (no) or NaN (could not
        tell, or not coded).
    moments : tuple of LabelledMoment
        Labelled attuned moments with their strength 1 (weak) .. 3 (textbook).
    clips : tuple of (str, Segment)
        Where each clip lies in session time (one part covering everything for a single file).
    step_s : float
        Spacing of ``frames``, seconds.
    duration : float
        Seconds covered by the coding.
    """

    source: Path
    frames: pd.DataFrame
    moments: tuple[LabelledMoment, ...]
    clips: tuple[tuple[str, Segment], ...]
    step_s: float
    duration: float

    @property
    def names(self) -> tuple[str, ...]:
        """Names this coding answers to (see :func:`coding_names`)."""
        return coding_names(self.source, clip=self.clips[0][0] if len(self.clips) == 1 else "")


def _strip_session(name: str) -> str:
    return name[: -len(".session")] if name.endswith(".session") else name


def coding_names(path: Path, *, clip: str = "") -> tuple[str, ...]:
    """The session names a coding file matches: its stem, the stem without ``.session``, and the
    stem of the clip it names (without ``.session``)."""
    names = {path.stem, _strip_session(path.stem)}
    if clip:
        stem = Path(clip).stem
        names |= {stem, _strip_session(stem)}
    return tuple(sorted(n for n in names if n))


def tier_signal(tier: str) -> str:
    """A tier name as a signal name: lower case, spaces and hyphens as underscores."""
    return re.sub(r"[\s\-]+", "_", tier.strip().lower())


def _read_json(path: Path) -> Coding:
    read_labels(path)  # one-line LabelError for a file that is not in the label format
    labels = read_session_labels(path)
    return Coding(
        source=path,
        frames=labels.frames,
        moments=labels.moments,
        clips=labels.clips,
        step_s=labels.step_s,
        duration=labels.duration,
    )


def _strength(value: str, *, path: Path, at: float) -> int:
    match = re.search(r"\d+", value or "")
    if match is None or not 1 <= int(match.group()) <= 3:
        raise LabelError(
            f"{path}: attuned_moments annotation at {at:.2f} s has value {value!r}; "
            "start it with the strength 1, 2 or 3"
        )
    return int(match.group())


def _eaf_tiers(path: Path) -> dict[str, list[tuple[float, float, str]]]:
    """Tier name -> [(start s, end s, value)] of an .eaf file."""
    import warnings

    from pympi.Elan import Eaf

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eaf = Eaf(str(path))
    except FileNotFoundError:
        raise LabelError(f"{path}: coding file not found; check the path") from None
    except Exception as exc:  # pympi raises bare XML/parse errors of several kinds
        raise LabelError(f"{path}: not a readable ELAN file ({exc}); fix or re-export it") from None
    tiers: dict[str, list[tuple[float, float, str]]] = {}
    for name in eaf.get_tier_names():
        rows = []
        for ann in eaf.get_annotation_data_for_tier(name):
            start, end, value = ann[0], ann[1], ann[2]
            if start is None or end is None or end <= start:
                continue
            rows.append((start / 1000.0, end / 1000.0, str(value or "").strip()))
        tiers[str(name)] = sorted(rows)
    return tiers


def _read_eaf(path: Path, *, duration: float | None, step_s: float) -> Coding:
    raw = _eaf_tiers(path)
    tiers = {tier_signal(name): rows for name, rows in raw.items()}
    signals = [s for s in LABEL_SIGNALS if s in tiers]
    if not signals and MOMENT_TIER not in tiers:
        wanted = ", ".join((*LABEL_SIGNALS[2:], MOMENT_TIER))
        raise LabelError(
            f"{path}: no tier named by a signal; name the tiers {wanted} (docs/labels.md)"
        )
    end = max((row[1] for rows in tiers.values() for row in rows), default=0.0)
    span = float(duration) if duration is not None and duration > 0 else end
    t = np.round(np.arange(0.0, span - 1e-9, step_s), 6) if span > 0 else np.zeros(0)
    table = pd.DataFrame({"t": t})
    for name in LABEL_SIGNALS:
        values = np.full(t.size, np.nan)
        if name in tiers:
            values[:] = 0.0
            # unknown stretches first, then yes: a "yes" annotation wins where both are given
            for known in (False, True):
                for a, b, value in tiers[name]:
                    if (value.lower() not in UNKNOWN_VALUES) == known:
                        values[(t >= a) & (t < b)] = 1.0 if known else np.nan
        table[name] = values
    moments = tuple(
        LabelledMoment(Segment(a, b), _strength(value, path=path, at=a), path.stem)
        for a, b, value in tiers.get(MOMENT_TIER, [])
    )
    table.attrs["clip"] = path.stem
    return Coding(
        source=path,
        frames=table,
        moments=moments,
        clips=((path.stem, Segment(0.0, max(span, end))),),
        step_s=step_s,
        duration=max(span, end),
    )


def read_coding(
    path: str | Path, *, duration: float | None = None, step_s: float = EAF_STEP_S
) -> Coding:
    """Read the human coding of one session from a JSON label file or an ELAN ``.eaf`` file.

    Parameters
    ----------
    path : str or Path
        ``*.json`` or ``*.eaf`` (formats in ``docs/labels.md``).
    duration : float, optional
        Session length in seconds; for ``.eaf`` the per-frame table spans ``[0, duration)``
        (default: up to the last annotation). Ignored for JSON, which lists its frames.
    step_s : float
        Sampling step in seconds of ``.eaf`` tiers into per-frame labels.

    Returns
    -------
    Coding
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".eaf":
        return _read_eaf(path, duration=duration, step_s=step_s)
    if suffix == ".json":
        if not path.is_file():
            raise LabelError(f"{path}: coding file not found; check the path")
        try:
            return _read_json(path)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise LabelError(
                f"{path}: not in the label format ({exc}); see docs/labels.md"
            ) from None
    raise LabelError(
        f"{path}: unknown coding format; give a .json label file or an ELAN .eaf (docs/labels.md)"
    )


def _clip_of(path: Path) -> str:
    if path.suffix.lower() != ".json":
        return ""
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return ""
    return str(doc.get("clip", "")) if isinstance(doc, dict) else ""


def coding_files(folder: str | Path) -> dict[str, Path]:
    """Every coding file in ``folder`` (not recursive) by each name it matches.

    Returns
    -------
    dict
        Name -> path. A ``.session.json`` wins over a plain ``.json`` and JSON over ``.eaf`` when
        two files answer to the same name.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LabelError(f"{folder}: labels folder not found; give the folder of .json/.eaf files")
    found: dict[str, Path] = {}

    def rank(p: Path) -> int:
        return (2 if p.name.endswith(".session.json") else 0) + (1 if p.suffix == ".json" else 0)

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in CODING_SUFFIXES)
    for path in sorted(files, key=rank):
        for name in coding_names(path, clip=_clip_of(path)):
            found[name] = path
    return found


def match_coding(session: str, files: Mapping[str, Path]) -> Path | None:
    """The coding file of ``session`` (a session folder's name), or None."""
    for name in (session, _strip_session(session), f"{session}.session"):
        if name in files:
            return files[name]
    return None


def sessions_with_coding(
    sessions: Iterable[str], folder: str | Path
) -> tuple[dict[str, Path], list[str]]:
    """Pair session names with coding files in ``folder``.

    Returns
    -------
    matched : dict
        Session name -> coding file.
    unmatched : list of str
        Sessions without a coding file.
    """
    files = coding_files(folder)
    matched, unmatched = {}, []
    for name in sessions:
        path = match_coding(name, files)
        if path is None:
            unmatched.append(name)
        else:
            matched[name] = path
    return matched, unmatched
