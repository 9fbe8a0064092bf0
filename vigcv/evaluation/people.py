"""People against a synthetic session's truth: who is who, stable ids, who looks at whom.

A synthetic session (:mod:`vigcv.synth`) writes ``OUT.truth.csv``: per video frame and scripted
role (``parent``, ``child``, ``sibling``, ``parent2``) the face box, whether the face is on
screen and what the person looks at (a role, ``toy``, ``camera``, ...). :func:`score_people`
matches each person the vision stage found to a scripted role by face-box overlap, frame by
frame, and reports:

- ``people``: one row per person found: the role matched most often, the share of its frames
  matched to another role (an id that swapped people), the share of the frames with that
  role's face on screen where this person was found on it (``found_share``), its adult/child
  guess and whether that guess is right (``parent``/``parent2`` adults, ``child``/``sibling``
  children);
- ``looks``: per ordered pair of scripted roles, precision / recall / F1 of "A looks at B"
  (probability >= 0.5) against the script, on the analysed frames where A's face is on screen;
  ``steady`` counts only frames at least ``steady_s`` away from a change of A's target (a head
  still turning is neither), ``all`` every such frame; ``*_auc`` is the threshold-free ranking
  (area under the ROC curve of the probability).
"""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pandas as pd

from vigcv.types import FrameFeatures

ADULT_ROLES = ("parent", "parent2")


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes ``a`` (n, 4) and ``b`` (n, 4), each x, y, w, h."""
    x0 = np.maximum(a[:, 0], b[:, 0])
    y0 = np.maximum(a[:, 1], b[:, 1])
    x1 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    y1 = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def _truth_at(truth: pd.DataFrame, times: np.ndarray) -> dict[str, pd.DataFrame]:
    """Per role, the truth row of the video frame nearest each analysed time."""
    out = {}
    for role, rows in truth.groupby("role", sort=False):
        rows = rows.sort_values("t").reset_index(drop=True)
        idx = np.clip(np.searchsorted(rows["t"].to_numpy(), times), 0, len(rows) - 1)
        prev = np.clip(idx - 1, 0, len(rows) - 1)
        t = rows["t"].to_numpy()
        idx = np.where(np.abs(t[prev] - times) < np.abs(t[idx] - times), prev, idx)
        out[str(role)] = rows.iloc[idx].reset_index(drop=True)
    return out


def match_people(
    features: FrameFeatures, truth: pd.DataFrame, *, min_iou: float = 0.3
) -> pd.DataFrame:
    """Per analysed frame and person found, the scripted role whose face box it overlaps most
    (IoU >= ``min_iou``), else empty: columns ``t``, ``person``, ``role``."""
    times = features.times
    at = _truth_at(truth, times)
    rows = []
    for person, mine in features.table.groupby("person"):
        mine = mine.drop_duplicates("t").set_index("t").reindex(times)
        found = (mine["visible"].to_numpy(float) >= 1.0) & mine["w"].notna().to_numpy()
        box = mine[["x", "y", "w", "h"]].to_numpy(float)
        best = np.full(times.size, "", dtype=object)
        best_iou = np.zeros(times.size)
        for role, t_rows in at.items():
            on = t_rows["visible"].to_numpy(float) >= 1
            iou = np.where(on, _iou(box, t_rows[["x", "y", "w", "h"]].to_numpy(float)), 0.0)
            better = found & (iou >= min_iou) & (iou > best_iou)
            best[better], best_iou[better] = role, iou[better]
        rows.append(pd.DataFrame({"t": times, "person": int(person), "role": best}))
    if not rows:
        return pd.DataFrame({"t": [], "person": [], "role": []})
    return pd.concat(rows, ignore_index=True)


def _f1(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    tp = float(np.sum(pred & true))
    fp = float(np.sum(pred & ~true))
    fn = float(np.sum(~pred & true))
    p = tp / (tp + fp) if tp + fp else float("nan")
    r = tp / (tp + fn) if tp + fn else float("nan")
    f = 2 * p * r / (p + r) if tp else 0.0
    return {"precision": p, "recall": r, "f1": f, "positives": tp + fn, "frames": float(true.size)}


def _auc(score: np.ndarray, true: np.ndarray) -> float:
    """Area under the ROC curve (ties count half; Mann-Whitney U), NaN with one class."""
    pos, neg = score[true], score[~true]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(pos, neg).statistic) / (pos.size * neg.size)


def score_people(
    features: FrameFeatures, truth: pd.DataFrame, *, steady_s: float = 0.4
) -> dict[str, pd.DataFrame]:
    """Who is who, id stability and who-looks-at-whom of ``features`` against ``truth``
    (a synthetic session's ``truth.csv``). See the module docstring for the tables."""
    matched = match_people(features, truth)
    at = _truth_at(truth, features.times)
    on_screen = {role: int((rows["visible"] >= 1).sum()) for role, rows in at.items()}
    people = features.people.set_index("person") if len(features.people) else pd.DataFrame()
    role_of: dict[int, str] = {}
    person_rows = []
    for person, rows in matched.groupby("person"):
        named = rows["role"][rows["role"] != ""]
        role = str(named.mode().iloc[0]) if len(named) else ""
        role_of[int(person)] = role
        guess = str(people.loc[person, "role_guess"]) if person in people.index else ""
        expected = "adult" if role in ADULT_ROLES else "child" if role else ""
        person_rows.append(
            {
                "person": int(person),
                "role": role,
                "frames": len(named),
                "swapped_share": float(np.mean(named != role)) if len(named) else float("nan"),
                "found_share": (
                    float(np.sum(named == role) / on_screen[role])
                    if on_screen.get(role)
                    else float("nan")
                ),
                "role_guess": guess,
                "guess_right": bool(guess == expected) if expected else False,
                "pair_role": str(people.loc[person, "pair_role"]) if person in people.index else "",
            }
        )
    times = features.times
    looks = features.looks
    look_rows = []
    by_role = {role: person for person, role in role_of.items() if role}
    for a, b in permutations(sorted(at), 2):
        if a not in by_role or b not in by_role:
            look_rows.append({"looker": a, "target": b, "found": False})
            continue
        mine = looks[(looks["person"] == by_role[a]) & (looks["target"] == by_role[b])]
        prob = mine.drop_duplicates("t").set_index("t")["looks_at"].reindex(times).to_numpy(float)
        target = at[a]["target"].astype(str).to_numpy()
        on = at[a]["visible"].to_numpy(float) >= 1
        change = np.flatnonzero(target[1:] != target[:-1])
        change_t = 0.5 * (times[change] + times[change + 1]) if change.size else np.zeros(0)
        far = np.ones(times.size, dtype=bool)
        for c in change_t:
            far &= np.abs(times - c) >= steady_s
        pred = np.nan_to_num(prob, nan=0.0) >= 0.5
        true = target == b
        row: dict[str, object] = {"looker": a, "target": b, "found": True}
        for name, sel in (("all", on), ("steady", on & far)):
            for key, value in _f1(pred[sel], true[sel]).items():
                row[f"{name}_{key}"] = value
            row[f"{name}_auc"] = _auc(np.nan_to_num(prob[sel], nan=0.0), true[sel])
        look_rows.append(row)
    return {"people": pd.DataFrame(person_rows), "looks": pd.DataFrame(look_rows)}
