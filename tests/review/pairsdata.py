"""A hand-made session of three people (Mum 0, Ellie 1 the index child, Sam 2 her brother) whose
folder also holds the moments of the other parent-child pair, Mum and Sam (``pairs/0-2/``),
written through vigcv.results' writers in the formats `vigcv run` writes."""

from __future__ import annotations

from pathlib import Path

from tests.results.peopledata import ELLIE, MUM, SAM, make_session
from tests.review.outdir import COMPONENTS, write_session
from vigcv.results import pair_dir, read_timeline, write_moments, write_timeline
from vigcv.results.folder import WINDOWS_FILE
from vigcv.types import Moment, Segment

# rank, start, end, score, reasons. Moment 1 has exactly the bounds of the session's own moment 1
# (tests/review/outdir.py MOMENTS): the same seconds of film, another pair's moment.
PAIR_MOMENTS = [
    (1, 1.0, 4.0, 0.71, ["The parent and the child smiled together for about 2 s."]),
    (2, 6.0, 9.5, 0.52, ["At 00:06 the child looked at the parent, who answered at once."]),
]
PAIR = "0-2"  # Mum (0) and Sam (2)


def write_pair_moments(folder: Path, moments=PAIR_MOMENTS, *, shift: float = 0.0) -> None:
    """``folder``'s moments.json, moments.csv and windows.parquet (the windows of its session,
    two folders up), as the pipeline's write_pairs writes them; ``shift`` moves every moment."""
    import pandas as pd

    windows = pd.read_parquet(folder.parent.parent / WINDOWS_FILE)
    made = [
        Moment(
            segment=Segment(start + shift, end + shift),
            rank=rank,
            score=score,
            components={c: round(score * (0.6 + 0.1 * k), 4) for k, c in enumerate(COMPONENTS)},
            principles=("being attentive",),
            reasons=tuple(reasons),
        )
        for rank, start, end, score, reasons in moments
    ]
    session = folder.parent.parent.name
    write_moments(folder, made, windows=windows, session=f"{session} (0 with 2)", config_hash="t")


def write_three_people_session(out: Path, name: str, video: Path) -> Path:
    """OUT/<name>/: the review tests' hand-made session (moments 1-3 of the pair Mum and Ellie),
    its three people, and ``pairs/0-2/`` with Mum and Sam's timeline and two moments."""
    folder = write_session(out, name, video)
    make_session(
        folder,
        [
            (0, "adult", "parent", 11.0, MUM),
            (1, "child", "child", 10.0, ELLIE),
            (2, "child", "", 6.0, SAM),
        ],
    )
    pair = pair_dir(folder, 0, 2)
    pair.mkdir(parents=True, exist_ok=True)
    timeline = read_timeline(folder)
    timeline["child_smile"] = 1.0 - timeline["child_smile"]  # Sam smiles when Ellie does not
    write_timeline(pair, timeline)
    write_pair_moments(pair)
    return folder
