"""Any two people of a session as the scored pair: their per-frame dyad table from the features.

The vision stage computes every person's signals and who looks at whom for every ordered pair
(:attr:`vigcv.types.FrameFeatures.looks`). The default pair (the parent figure and the index
child) fills ``FrameFeatures.dyad`` there; :func:`pair_features` makes the same table for any other
pair (a second parent with the child, a parent with an older sibling, or the pair a guider
chooses on the review page) without touching the video again.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from vigcv.errors import VigcvError
from vigcv.types import DYAD_COLUMNS, FrameFeatures
from vigcv.vision.pose import gaze_vector
from vigcv.vision.social import (
    angle_to_target,
    head_distance,
    looks_at_probability,
    mutual_gaze_probability,
)


class PairError(VigcvError):
    """A pair that the session's features cannot give (an unknown person id)."""


def _person(frames: FrameFeatures, person: int, times: np.ndarray) -> pd.DataFrame:
    rows = frames.table[frames.table["person"] == person].drop_duplicates("t").set_index("t")
    return rows.reindex(times)


def _looks(frames: FrameFeatures, person: int, target: int, times: np.ndarray) -> np.ndarray:
    looks = frames.looks
    rows = looks[(looks["person"] == person) & (looks["target"] == target)]
    return rows.drop_duplicates("t").set_index("t")["looks_at"].reindex(times).to_numpy(float)


def pair_features(
    frames: FrameFeatures, *, parent: int, child: int, config: dict[str, Any]
) -> FrameFeatures:
    """``frames`` with ``parent`` and ``child`` (person ids) as the scored pair.

    The table's ``role`` column names them ``parent`` and ``child`` (everyone else
    ``unknown``), their ``looks_at_other`` becomes the look at each other, and ``dyad`` is
    rebuilt for them (:data:`vigcv.types.DYAD_COLUMNS` plus ``facing`` and ``head_distance_m``).

    Raises
    ------
    PairError
        When either id is not a person of the session, or both are the same.
    """
    ids = set(frames.table["person"].astype(int)) if len(frames.table) else set()
    if parent == child or parent not in ids or child not in ids:
        raise PairError(
            f"people {parent} and {child} are not two people of this session "
            f"(its people: {', '.join(str(i) for i in sorted(ids)) or 'none'})"
        )
    vc = config["vision"]
    times = frames.times
    a, b = _person(frames, parent, times), _person(frames, child, times)
    ab, ba = _looks(frames, parent, child, times), _looks(frames, child, parent, times)
    dyad = pd.DataFrame({"t": times})
    dyad["parent_visible"] = a["visible"].fillna(0.0).to_numpy(float)
    dyad["child_visible"] = b["visible"].fillna(0.0).to_numpy(float)
    dyad["parent_looks_at_child"] = ab
    dyad["child_looks_at_parent"] = ba
    dyad["mutual_gaze"] = mutual_gaze_probability(ab, ba, combine=vc["mutual_gaze_combine"])
    dyad["parent_smile"] = a["smile"].to_numpy(float)
    dyad["child_smile"] = b["smile"].to_numpy(float)
    boxes = [r[["x", "y", "w", "h"]].to_numpy(float) for r in (a, b)]
    dyad["head_distance"] = head_distance(boxes[0], boxes[1])
    dyad["parent_quality"] = a["quality"].to_numpy(float)
    dyad["child_quality"] = b["quality"].to_numpy(float)
    heads = [r[["head_x_m", "head_y_m", "head_z_m"]].to_numpy(float) for r in (a, b)]
    facing = []
    for me, other, rows in ((0, 1, a), (1, 0, b)):
        direction = gaze_vector(rows["yaw"].to_numpy(float), rows["pitch"].to_numpy(float))
        facing.append(
            looks_at_probability(
                angle_to_target(direction, heads[me], heads[other]),
                threshold_deg=vc["facing_threshold_deg"],
                scale_deg=vc["looks_at_scale_deg"],
            )
        )
    unknown = np.isnan(facing[0] + facing[1])
    dyad["facing"] = np.where(unknown, np.nan, np.fmin(facing[0], facing[1]))
    dyad["head_distance_m"] = np.linalg.norm(heads[0] - heads[1], axis=1)
    extra = [c for c in frames.dyad.columns if c not in dyad.columns]
    dyad = dyad.reindex(columns=[*DYAD_COLUMNS, "facing", "head_distance_m", *extra])
    table = frames.table.copy()
    person = table["person"].astype(int)
    table["role"] = np.where(
        person == parent, "parent", np.where(person == child, "child", "unknown")
    )
    for me, looks in ((parent, ab), (child, ba)):
        mine = (person == me).to_numpy()
        by_t = pd.Series(looks, index=times)
        table.loc[mine, "looks_at_other"] = by_t.reindex(table.loc[mine, "t"]).to_numpy()
    people = frames.people.copy()
    if "pair_role" in people:
        pid = people["person"].astype(int)
        people["pair_role"] = np.where(pid == parent, "parent", np.where(pid == child, "child", ""))
    provenance = dict(frames.provenance, pair={"parent": int(parent), "child": int(child)})
    return FrameFeatures(
        table,
        dyad,
        frames.fps,
        frames.video_id,
        frames.width,
        frames.height,
        provenance,
        people,
        frames.looks,
    )


def parent_child_pairs(frames: FrameFeatures) -> list[tuple[int, int]]:
    """Every (adult, child) pair of the session by the role guesses, the default pair first."""
    people = frames.people
    if not len(people):
        return []
    default = [
        (int(p), int(c))
        for p, c in product(
            people.loc[people["pair_role"] == "parent", "person"],
            people.loc[people["pair_role"] == "child", "person"],
        )
    ]
    adults = people.loc[people["role_guess"] == "adult", "person"].astype(int)
    children = people.loc[people["role_guess"] == "child", "person"].astype(int)
    others = [(int(p), int(c)) for p, c in product(adults, children) if (p, c) not in default]
    return default + others
