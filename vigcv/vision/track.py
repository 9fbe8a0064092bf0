"""Online face tracking (greedy or Hungarian matching on position and size), identities after.

:class:`FaceTracker` gives each detection a track id frame by frame; a track survives misses for
``max_lost_s`` seconds, with a matching gate that widens with the time since it was last seen, so a
face that is covered or leaves briefly comes back with its id. :func:`link_identities` then chains
tracks that never co-occur into the two main people of the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from vigcv.config import CHOICES, default_config
from vigcv.errors import ConfigError

_BIG = 1e6
MATCHINGS = CHOICES["vision.track_matching"]


def _setting(value: Any, key: str) -> Any:
    """``value``, or ``[vision] key`` of ``configs/default.toml`` when it is ``None``."""
    return default_config()["vision"][key] if value is None else value


def _centre_size(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b = np.asarray(boxes, dtype=float).reshape(-1, 4)
    centre = 0.5 * (b[:, :2] + b[:, 2:])
    size = np.sqrt(np.maximum(b[:, 2] - b[:, 0], 1.0) * np.maximum(b[:, 3] - b[:, 1], 1.0))
    return centre, size


def match_cost(
    track_boxes: np.ndarray, det_boxes: np.ndarray, *, size_weight: float | None = None
) -> np.ndarray:
    """Cost of linking each track box to each detection box, shape (n_tracks, n_dets).

    Centre distance in units of the mean face size plus ``size_weight`` times the absolute log
    ratio of sizes (``None``: ``[vision] track_size_weight`` of ``configs/default.toml``).
    """
    size_weight = float(_setting(size_weight, "track_size_weight"))
    tc, ts = _centre_size(track_boxes)
    dc, ds = _centre_size(det_boxes)
    dist = np.linalg.norm(tc[:, None, :] - dc[None, :, :], axis=2)
    mean = 0.5 * (ts[:, None] + ds[None, :])
    return dist / mean + size_weight * np.abs(np.log(ts[:, None] / ds[None, :]))


def containment(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over the smaller area of ``box`` (4,) with each of ``boxes`` (n, 4)."""
    w = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return w * h / np.maximum(np.minimum(area, areas), 1e-9)


def _greedy_pairs(cost: np.ndarray, allowed: np.ndarray) -> list[tuple[int, int]]:
    """(row, column) pairs taken cheapest first among the allowed ones, each row/column once."""
    rows, cols = np.nonzero(allowed)
    used_r: set[int] = set()
    used_c: set[int] = set()
    pairs = []
    for k in np.argsort(cost[rows, cols], kind="stable"):
        r, c = int(rows[k]), int(cols[k])
        if r not in used_r and c not in used_c:
            pairs.append((r, c))
            used_r.add(r)
            used_c.add(c)
    return pairs


@dataclass
class _Track:
    id: int
    box: np.ndarray
    last_t: float
    hits: int = 1


class FaceTracker:
    """Frame-by-frame track ids for face boxes.

    Each setting left out (``None``) takes its ``[vision] track_*`` value from
    ``configs/default.toml`` (``gate``: ``track_gate``, ``matching``: ``track_matching``, ...).

    Parameters
    ----------
    gate : float
        Largest matching cost (see :func:`match_cost`) for a track seen in the previous frame.
    gate_growth : float
        Added to the gate per second since the track was last seen (people move while hidden).
    max_gate : float
        Upper bound of the widened gate.
    max_lost_s : float
        Seconds a track is kept without a detection before it ends.
    size_weight : float
        Weight of the size term in :func:`match_cost` (a parent's face and a child's differ
        in size; a larger weight keeps a track from jumping to the other person's face).
    matching : {"greedy", "hungarian"}
        How tracks and boxes are paired within the gates: ``"greedy"`` takes the cheapest pair
        first (each face goes to the track nearest to it); ``"hungarian"`` minimises the total
        cost of the largest set of pairs, which can force a bad pair: when the parent's face is
        missed in a hug, her track takes the child's face and the child's track a stray box.
    """

    def __init__(
        self,
        *,
        gate: float | None = None,
        gate_growth: float | None = None,
        max_gate: float | None = None,
        max_lost_s: float | None = None,
        size_weight: float | None = None,
        matching: str | None = None,
    ) -> None:
        self.gate = float(_setting(gate, "track_gate"))
        self.gate_growth = float(_setting(gate_growth, "track_gate_growth"))
        self.max_gate = float(_setting(max_gate, "track_max_gate"))
        self.max_lost_s = float(_setting(max_lost_s, "track_max_lost_s"))
        self.size_weight = float(_setting(size_weight, "track_size_weight"))
        self.matching = str(_setting(matching, "track_matching"))
        self._tracks: list[_Track] = []
        self._next_id = 0
        if self.matching not in MATCHINGS:
            raise ConfigError(
                f"[vision] track_matching must be one of {', '.join(MATCHINGS)}, "
                f"got {self.matching!r}"
            )

    def active(self, t: float) -> list[tuple[int, np.ndarray, float, int]]:
        """Tracks alive at time ``t``: (id, last box, seconds since seen, hits)."""
        return [(k.id, k.box.copy(), t - k.last_t, k.hits) for k in self._tracks]

    def update(self, t: float, boxes: np.ndarray) -> np.ndarray:
        """Assign track ids to this frame's boxes (shape (n, 4)); returns ids, shape (n,)."""
        self._tracks = [k for k in self._tracks if t - k.last_t <= self.max_lost_s]
        boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
        ids = np.full(len(boxes), -1, dtype=int)
        if self._tracks and len(boxes):
            cost = match_cost(
                np.stack([k.box for k in self._tracks]), boxes, size_weight=self.size_weight
            )
            gates = np.array(
                [
                    min(self.max_gate, self.gate + self.gate_growth * (t - k.last_t))
                    for k in self._tracks
                ]
            )
            allowed = cost <= gates[:, None]
            if self.matching == "greedy":
                pairs = _greedy_pairs(cost, allowed)
            else:
                rows, cols = linear_sum_assignment(np.where(allowed, cost, _BIG))
                pairs = [(r, c) for r, c in zip(rows, cols, strict=True) if allowed[r, c]]
            for r, c in pairs:
                track = self._tracks[r]
                track.box, track.last_t, track.hits = boxes[c].copy(), t, track.hits + 1
                ids[c] = track.id
        for c in np.nonzero(ids < 0)[0]:
            self._tracks.append(_Track(self._next_id, boxes[c].copy(), t))
            ids[c] = self._next_id
            self._next_id += 1
        return ids


@dataclass(frozen=True)
class TrackSummary:
    """One track over the session: its analysed-frame indices and median centre/size."""

    id: int
    frames: frozenset[int]
    first: int
    last: int
    cx: float
    cy: float
    size: float


def summarise_tracks(
    frame_index: np.ndarray, track_id: np.ndarray, boxes: np.ndarray
) -> list[TrackSummary]:
    """Per-track summaries from parallel per-detection arrays, most frames first."""
    centre, size = _centre_size(boxes)
    out = []
    for tid in np.unique(track_id):
        sel = track_id == tid
        frames = frame_index[sel]
        out.append(
            TrackSummary(
                id=int(tid),
                frames=frozenset(int(f) for f in frames),
                first=int(frames.min()),
                last=int(frames.max()),
                cx=float(np.median(centre[sel, 0])),
                cy=float(np.median(centre[sel, 1])),
                size=float(np.median(size[sel])),
            )
        )
    return sorted(out, key=lambda s: (-len(s.frames), s.id))


def _clash(s: TrackSummary, group: list[TrackSummary], max_overlap: float) -> bool:
    shared = sum(len(s.frames & m.frames) for m in group)
    return shared > max_overlap * len(s.frames)


def link_identities(
    summaries: list[TrackSummary],
    *,
    max_people: int = 2,
    min_frames: int | None = None,
    max_overlap: float | None = None,
    max_size_ratio: float | None = None,
) -> dict[int, int]:
    """Chain tracks into at most ``max_people`` identities.

    The longest tracks seed the identities; every other track (longest first) joins the identity
    it does not co-occur with (in more than ``max_overlap`` of its frames) and whose median
    position/size it is closest to; a track that co-occurs with every identity (a third face, a
    picture, a false detection) is dropped. Where tracks of one identity share a frame, the
    caller keeps the better detection. A track whose median face size differs from an
    identity's by more than ``max_size_ratio`` never joins it. Left out (``None``),
    ``min_frames``, ``max_overlap`` and ``max_size_ratio`` take ``[vision] min_track_frames``,
    ``link_max_overlap`` and ``stray_max_size_ratio`` of ``configs/default.toml``.

    Returns
    -------
    dict
        ``{track id: identity 0..max_people-1}`` for the kept tracks.
    """
    min_frames = int(_setting(min_frames, "min_track_frames"))
    max_overlap = float(_setting(max_overlap, "link_max_overlap"))
    max_size_ratio = float(_setting(max_size_ratio, "stray_max_size_ratio"))
    members: list[list[TrackSummary]] = []
    out: dict[int, int] = {}
    for s in summaries:
        if len(s.frames) < min_frames:
            continue
        if len(members) < max_people and all(_clash(s, g, max_overlap) for g in members):
            members.append([s])
            out[s.id] = len(members) - 1
            continue
        best, best_cost = -1, np.inf
        for k, group in enumerate(members):
            if _clash(s, group, max_overlap):
                continue
            frames = sum(len(m.frames) for m in group)
            cx = sum(m.cx * len(m.frames) for m in group) / frames
            cy = sum(m.cy * len(m.frames) for m in group) / frames
            size = sum(m.size * len(m.frames) for m in group) / frames
            log_ratio = abs(np.log(s.size / size))
            if log_ratio > np.log(max_size_ratio):
                continue
            cost = np.hypot(s.cx - cx, s.cy - cy) / size + log_ratio
            if cost < best_cost:
                best, best_cost = k, cost
        if best >= 0:
            members[best].append(s)
            out[s.id] = best
    return out
