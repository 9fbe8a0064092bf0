"""Online face tracking (greedy or Hungarian matching on position and size), identities after.

:class:`FaceTracker` gives each detection a track id frame by frame; a track survives misses for
``max_lost_s`` seconds, with a matching gate that widens with the time since it was last seen, so a
face that is covered or leaves briefly comes back with its id. :func:`split_by_identity` cuts a
track where its face-identity descriptors jump (the track moved onto another face, as in a hug),
and :func:`link_identities` then chains tracks that never co-occur into the session's people,
never joining two tracks whose descriptors say they are different people.
"""

from __future__ import annotations

from collections.abc import Callable
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
    """One track over the session: its analysed-frame indices and median centre/size, and the
    mean of its face-identity descriptors (``None`` when none was measured)."""

    id: int
    frames: frozenset[int]
    first: int
    last: int
    cx: float
    cy: float
    size: float
    embedding: np.ndarray | None = None


def _mean_rows(rows: np.ndarray) -> np.ndarray | None:
    """Mean of the rows without NaN, ``None`` when there is none."""
    if rows.ndim != 2 or rows.shape[0] == 0:
        return None
    good = ~np.isnan(rows).any(axis=1)
    return rows[good].mean(axis=0) if good.any() else None


def summarise_tracks(
    frame_index: np.ndarray,
    track_id: np.ndarray,
    boxes: np.ndarray,
    embeddings: np.ndarray | None = None,
) -> list[TrackSummary]:
    """Per-track summaries from parallel per-detection arrays, most frames first.

    ``embeddings`` (n_detections, d) are face-identity descriptors, NaN rows where none was
    measured.
    """
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
                embedding=None if embeddings is None else _mean_rows(embeddings[sel]),
            )
        )
    return sorted(out, key=lambda s: (-len(s.frames), s.id))


def split_by_identity(
    frame_index: np.ndarray,
    track_id: np.ndarray,
    embeddings: np.ndarray,
    *,
    max_distance: float,
    confirm: int = 2,
) -> np.ndarray:
    """New track ids, a track cut wherever its face-identity descriptors jump.

    Walking a track's measured descriptors in time, a cut is made before the first of
    ``confirm`` consecutive descriptors that all lie further than ``max_distance`` from the mean
    of the piece so far (one odd descriptor, a blurred or turned face, cuts nothing). The cut
    falls half-way between the last descriptor of the old piece and the first of the new one.

    Returns
    -------
    ndarray of int, shape (n_detections,)
        Track ids; pieces after a cut get ids above the largest input id.
    """
    out = np.array(track_id, dtype=int, copy=True)
    if embeddings.ndim != 2 or out.size == 0:
        return out
    next_id = int(out.max()) + 1
    measured = ~np.isnan(embeddings).any(axis=1)
    for tid in np.unique(track_id):
        rows = np.nonzero((track_id == tid) & measured)[0]
        if rows.size <= confirm:
            continue
        rows = rows[np.argsort(frame_index[rows], kind="stable")]
        cuts: list[int] = []  # frame index at which a new piece starts
        piece = [rows[0]]
        j = 1
        while j < rows.size:
            mean = embeddings[piece].mean(axis=0)
            ahead = rows[j : j + confirm]
            far = np.linalg.norm(embeddings[ahead] - mean, axis=1) > max_distance
            if ahead.size == confirm and far.all():
                last, first = int(frame_index[piece[-1]]), int(frame_index[rows[j]])
                cuts.append((last + first + 1) // 2)
                piece = [rows[j]]
            else:
                piece.append(rows[j])
            j += 1
        if not cuts:
            continue
        mine = np.nonzero(track_id == tid)[0]
        for cut in cuts:
            later = mine[frame_index[mine] >= cut]
            out[later] = next_id
            next_id += 1
    return out


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
    max_distance: float | None = None,
    apart: Callable[[TrackSummary, list[TrackSummary]], bool] | None = None,
    may_add: Callable[[TrackSummary], bool] | None = None,
) -> dict[int, int]:
    """Chain tracks into at most ``max_people`` identities.

    The longest tracks seed the identities; every other track (longest first) joins the identity
    it does not co-occur with (in more than ``max_overlap`` of its frames) and whose median
    position/size it is closest to; a track that co-occurs with every identity (a third face, a
    picture, a false detection) is dropped. Where tracks of one identity share a frame, the
    caller keeps the better detection. A track whose median face size differs from an
    identity's by more than ``max_size_ratio`` never joins it; nor does a track whose mean
    face-identity descriptor lies further than ``max_distance`` from the identity's (both
    measured): it seeds an identity of its own while there is room. Left out (``None``),
    ``min_frames``, ``max_overlap``, ``max_size_ratio`` and ``max_distance`` take ``[vision]
    min_track_frames``, ``link_max_overlap``, ``stray_max_size_ratio`` and
    ``identity_max_distance`` of ``configs/default.toml``. Beyond two identities, a track
    that shares frames with every identity seeds a new one only when its face descriptor
    differs from each identity's or ``apart(track, identity)`` says its boxes lie elsewhere in
    the frames they share (a duplicate box on a face already followed overlaps it), and
    ``may_add(track)`` allows it (e.g. it is clearly a face).

    Returns
    -------
    dict
        ``{track id: identity 0..max_people-1}`` for the kept tracks.
    """
    min_frames = int(_setting(min_frames, "min_track_frames"))
    max_overlap = float(_setting(max_overlap, "link_max_overlap"))
    max_size_ratio = float(_setting(max_size_ratio, "stray_max_size_ratio"))
    max_distance = float(_setting(max_distance, "identity_max_distance"))
    members: list[list[TrackSummary]] = []
    out: dict[int, int] = {}

    def distance(s: TrackSummary, group: list[TrackSummary]) -> float:
        """Descriptor distance of ``s`` to the group's frame-weighted mean, NaN if unmeasured."""
        known = [(m.embedding, len(m.frames)) for m in group if m.embedding is not None]
        if s.embedding is None or not known:
            return float("nan")
        weights = np.array([n for _, n in known], dtype=float)
        mean = np.average(np.stack([e for e, _ in known]), axis=0, weights=weights)
        return float(np.linalg.norm(s.embedding - mean))

    for s in summaries:
        if len(s.frames) < min_frames:
            continue
        # A track that shares frames with every person so far, or whose face differs from
        # theirs, is someone new. Beyond two people it must also be shown to be someone else
        # (its face descriptor differs, or its boxes lie elsewhere in the frames it shares): a
        # duplicate box on a face already followed shares its frames too.
        differs = [distance(s, g) > max_distance for g in members]
        stranger = all(
            _clash(s, g, max_overlap) or d for g, d in zip(members, differs, strict=True)
        )
        if len(members) >= 2:
            stranger = stranger and (may_add is None or may_add(s))
            stranger = stranger and all(
                d or (apart is not None and apart(s, g))
                for g, d in zip(members, differs, strict=True)
            )
        if len(members) < max_people and stranger:
            members.append([s])
            out[s.id] = len(members) - 1
            continue
        best, best_cost = -1, np.inf
        for k, group in enumerate(members):
            if _clash(s, group, max_overlap) or distance(s, group) > max_distance:
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
