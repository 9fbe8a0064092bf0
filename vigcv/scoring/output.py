"""Write a session's moments and window scores: moments.json, moments.csv, windows.parquet.

Each file is written to a temporary name in the output folder and renamed into place, so an
interrupted run never leaves a half-written file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from vigcv.io import store
from vigcv.scoring.combine import WindowScores
from vigcv.scoring.components import COMPONENTS
from vigcv.types import Moment

MOMENT_CSV_COLUMNS = ("rank", "start", "end", "score", *COMPONENTS, "principles", "reasons")


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


def moments_table(moments: Sequence[Moment]) -> pd.DataFrame:
    """moments.csv: one row per moment, components as columns, principles joined by ``"; "``
    and reasons by ``" | "``."""
    rows = []
    for m in sorted(moments, key=lambda m: m.rank):
        d = m.to_dict()
        row = {k: d[k] for k in ("rank", "start", "end", "score")}
        row.update({name: d["components"].get(name, float("nan")) for name in COMPONENTS})
        row["principles"] = "; ".join(d["principles"])
        row["reasons"] = " | ".join(d["reasons"])
        rows.append(row)
    return pd.DataFrame(rows, columns=list(MOMENT_CSV_COLUMNS))


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    with store.atomic_path(path) as tmp:
        write(tmp)


def write_moments(
    moments: Sequence[Moment],
    scores: WindowScores,
    out_dir: Path,
    *,
    session: str,
    config_hash: str,
) -> dict[str, Path]:
    """Write moments.json, moments.csv and windows.parquet into ``out_dir`` (created if needed).

    Returns
    -------
    dict
        ``{"json": path, "csv": path, "windows": path}``.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise store.output_error(out_dir, exc) from None
    doc = moments_document(moments, session=session, config_hash=config_hash)
    paths = {
        "json": out_dir / "moments.json",
        "csv": out_dir / "moments.csv",
        "windows": out_dir / "windows.parquet",
    }
    _atomic(paths["json"], lambda p: p.write_text(json.dumps(doc, indent=2) + "\n", "utf-8"))
    _atomic(paths["csv"], lambda p: moments_table(moments).to_csv(p, index=False))
    _atomic(paths["windows"], lambda p: scores.table.to_parquet(p, index=False))
    return paths
