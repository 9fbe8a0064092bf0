"""Hand-built inputs for the audio tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vigcv.types import DYAD_COLUMNS, PERSON_COLUMNS, FrameFeatures


def hand_frames(mouth: dict[str, np.ndarray], times: np.ndarray) -> FrameFeatures:
    """FrameFeatures with two visible people whose mouth opening is given."""
    rows = []
    for person, role in enumerate(("parent", "child")):
        for t, m in zip(times, mouth[role], strict=True):
            rows.append({"t": t, "person": person, "role": role, "visible": 1.0, "mouth_open": m})
    table = pd.DataFrame(rows).reindex(columns=list(PERSON_COLUMNS))
    dyad = pd.DataFrame({"t": times}).reindex(columns=list(DYAD_COLUMNS))
    return FrameFeatures(table=table, dyad=dyad, fps=10.0, video_id="hand-built")
