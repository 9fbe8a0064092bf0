"""speech.csv and turns.csv, written to a temporary name and renamed into place."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vigcv.io import store
from vigcv.types import SEGMENT_COLUMNS, TURN_COLUMNS, SpeechTrack


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    store.write_csv(Path(path), table, float_format="%.3f")


def write_speech_csv(speech: SpeechTrack, path: Path) -> None:
    """``speech.csv``: ``start``, ``end``, ``speaker``, ``confidence`` and the extra columns."""
    seg = speech.segments
    extra = [c for c in seg.columns if c not in SEGMENT_COLUMNS]
    _write_csv(seg.reindex(columns=[*SEGMENT_COLUMNS, *extra]), path)


def write_turns_csv(turns: pd.DataFrame, path: Path) -> None:
    """``turns.csv``: ``time``, ``from``, ``to``, ``latency_s``, ``kind``, ``contingent`` (yes/no)
    and the extra columns."""
    extra = [c for c in turns.columns if c not in TURN_COLUMNS]
    table = turns.reindex(columns=[*TURN_COLUMNS, *extra]).copy()
    table["contingent"] = table["contingent"].map(lambda v: "yes" if bool(v) else "no")
    _write_csv(table, path)
