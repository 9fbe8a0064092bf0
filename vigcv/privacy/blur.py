"""Faces made unrecognisable in pictures: the tracked people who may not be shown, and any face
the detector finds that is not a kept person's.

Two sources of faces, so that neither alone decides who is seen:

- **tracks**: each person's face box from ``features.parquet`` (10 analysed frames a second),
  interpolated linearly to each video frame between two sightings at most ``bridge_s`` apart
  (a face turned away for a moment, lost by the tracker and found again), and held for
  ``hold_s`` before the first and after the last sighting of a stretch. Every box of a person
  not kept is blurred; a kept person's box lets the detector's face there be shown.
- **the detector**: CenterFace (:mod:`vigcv.vision.detect`) runs on every ``detect_every``-th
  video frame, at ``detect_width`` pixels wide, with a threshold lower than the analysis's. A
  face it finds is blurred unless it overlaps a kept person's tracked box at that time (IoU at
  least ``match_iou``) more than any other person's. So a bystander never tracked, or a face in a
  frame the analysis missed, is blurred too. The frames between two detector runs get the boxes
  of both runs and of the runs within ``hold_s`` before (:class:`FrameBlurrer` holds those few
  frames back until the next run): a face that appears, moves or is missed once is still
  covered.

Speed and safety: the detector dominates the cost (about 55 ms per 640x480 frame at 640 wide on
one core); every third frame of a 25 fps film is about 8 runs a second, while a face is covered
by the runs on both sides of it and the box margin. Set ``[export] blur_detect_every = 1`` for
the slowest and safest.

A box is enlarged by ``margin`` of its size on every side (hair, ears, a turned head), shrunk to
``cells`` samples along its longer side (area averaging) and scaled back up bilinearly: a smooth
patch of colour that keeps no feature of the face.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import pandas as pd

from vigcv.config import section_values
from vigcv.errors import ConfigError

BOX_COLUMNS = ("t", "person", "x", "y", "w", "h")


@dataclass(frozen=True)
class BlurSettings:
    """The ``blur_*`` keys of ``[export]`` (configs/default.toml), typed."""

    margin: float = 0.3
    hold_s: float = 0.5
    bridge_s: float = 2.0
    detect_every: int = 3
    detect_width: int = 640
    detect_threshold: float = 0.2
    match_iou: float = 0.3
    cells: int = 8
    threads: int = 1

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> BlurSettings:
        """The settings of ``config``; the keys it lacks (all, for None) from the default file."""
        names = [f"blur_{name}" for name in cls.__dataclass_fields__]
        values = section_values(config, "export", names)
        settings = cls(**{k.removeprefix("blur_"): v for k, v in values.items()})
        for key in ("margin", "hold_s", "bridge_s"):
            if getattr(settings, key) < 0:
                raise ConfigError(
                    f"config: 'export.blur_{key}' must be 0 or more, got {getattr(settings, key)!r}"
                )
        return settings


def _xyxy(x: np.ndarray, y: np.ndarray, w: np.ndarray, h: np.ndarray) -> np.ndarray:
    return np.stack([x, y, x + w, y + h], axis=-1)


class FaceTracks:
    """Each person's face box at any time, from a table with columns ``t, person, x, y, w, h``
    (``features.parquet``; boxes in pixels of the upright original frame).

    A row whose box is missing (NaN, or no width) is not a sighting. ``at(t)`` gives the box of
    every person whose face is near ``t``: interpolated between two sightings at most
    ``bridge_s`` apart (at least ``2 * hold_s``), else the nearest sighting within ``hold_s``.
    """

    def __init__(self, table: pd.DataFrame | None, *, hold_s: float, bridge_s: float = 0.0) -> None:
        self.hold_s = float(hold_s)
        self.bridge_s = max(float(bridge_s), 2 * self.hold_s)
        self._times: dict[int, np.ndarray] = {}
        self._boxes: dict[int, np.ndarray] = {}
        if table is None or not len(table):
            return
        missing = [c for c in BOX_COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"face tracks need the columns {', '.join(missing)}")
        rows = table.loc[:, list(BOX_COLUMNS)].dropna()
        rows = rows[(rows["w"] > 0) & (rows["h"] > 0)]
        for person, group in rows.groupby("person", sort=True):
            group = group.sort_values("t").drop_duplicates("t")
            self._times[int(person)] = group["t"].to_numpy(float)
            self._boxes[int(person)] = _xyxy(
                *(group[c].to_numpy(float) for c in ("x", "y", "w", "h"))
            )

    @property
    def people(self) -> list[int]:
        return sorted(self._times)

    def at(self, t: float) -> dict[int, np.ndarray]:
        """``{person: [x0, y0, x1, y1]}`` of the faces near ``t`` seconds."""
        found: dict[int, np.ndarray] = {}
        for person, times in self._times.items():
            box = self._box(times, self._boxes[person], float(t))
            if box is not None:
                found[person] = box
        return found

    def _box(self, times: np.ndarray, boxes: np.ndarray, t: float) -> np.ndarray | None:
        i = int(np.searchsorted(times, t))
        before = i - 1 if i > 0 else None
        after = i if i < len(times) else None
        if after is not None and abs(times[after] - t) < 1e-9:
            return boxes[after]
        if before is not None and after is not None:
            gap = times[after] - times[before]
            if gap <= self.bridge_s + 1e-9:
                a = (t - times[before]) / gap
                return (1 - a) * boxes[before] + a * boxes[after]
        near = [
            (abs(t - times[j]), j)
            for j in (before, after)
            if j is not None and abs(t - times[j]) <= self.hold_s + 1e-9
        ]
        return boxes[min(near)[1]] if near else None


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes ``a`` (n, 4) and ``b`` (m, 4), shape (n, m)."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def blur_boxes(
    rgb: np.ndarray, boxes: np.ndarray | list[np.ndarray], *, margin: float, cells: int
) -> np.ndarray:
    """Make the faces in ``boxes`` (``x0, y0, x1, y1`` pixels of ``rgb``) unrecognisable, in
    place: each box, enlarged by ``margin`` of its size on every side, becomes ``cells`` area-
    averaged samples along its longer side, scaled back up bilinearly. Returns ``rgb``."""
    h, w = rgb.shape[:2]
    for box in np.asarray(boxes, float).reshape(-1, 4):
        bw, bh = box[2] - box[0], box[3] - box[1]
        if not (np.isfinite(box).all() and bw > 0 and bh > 0):
            continue
        x0 = max(0, int(np.floor(box[0] - margin * bw)))
        y0 = max(0, int(np.floor(box[1] - margin * bh)))
        x1 = min(w, int(np.ceil(box[2] + margin * bw)))
        y1 = min(h, int(np.ceil(box[3] + margin * bh)))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        region = rgb[y0:y1, x0:x1]
        long_side = max(x1 - x0, y1 - y0)
        nx = max(2, round(cells * (x1 - x0) / long_side))
        ny = max(2, round(cells * (y1 - y0) / long_side))
        small = cv2.resize(region, (nx, ny), interpolation=cv2.INTER_AREA)
        rgb[y0:y1, x0:x1] = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    return rgb


@dataclass(frozen=True)
class BlurPlan:
    """Whose faces a picture or film shows: every tracked person in ``keep``; every other face,
    tracked or only detected, blurred. ``tracks`` is None when the session has no face boxes
    (then every face the detector finds is blurred)."""

    tracks: FaceTracks | None
    keep: frozenset[int]
    settings: BlurSettings = field(default_factory=BlurSettings)

    def tracked(self, t: float, *, scale: float = 1.0) -> tuple[list[np.ndarray], dict[int, Any]]:
        """The boxes to blur at ``t`` (of the people not kept) and every tracked box, both in
        pixels of a frame ``scale`` times the original's size."""
        boxes = {} if self.tracks is None else self.tracks.at(t)
        scaled = {p: b * scale for p, b in boxes.items()}
        return [b for p, b in scaled.items() if p not in self.keep], scaled

    def unkept_detections(self, rgb: np.ndarray, t: float, *, scale: float) -> np.ndarray:
        """The faces CenterFace finds in ``rgb`` (a frame ``scale`` times the original size, at
        ``t`` s) that are not a kept person's: (n, 4) boxes in pixels of ``rgb``."""
        from vigcv.vision.detect import detect_faces

        s = self.settings
        width = min(int(s.detect_width), rgb.shape[1])
        found = detect_faces(rgb, width=width, threshold=s.detect_threshold, threads=s.threads)
        if not len(found):
            return np.zeros((0, 4))
        _, tracked = self.tracked(t, scale=scale)
        if not tracked:
            return np.asarray(found.boxes, float)
        people = list(tracked)
        overlap = iou(found.boxes, np.stack([tracked[p] for p in people]))
        best = np.argmax(overlap, axis=1)
        kept = np.array(
            [overlap[i, j] >= s.match_iou and people[j] in self.keep for i, j in enumerate(best)]
        )
        return np.asarray(found.boxes, float)[~kept]

    def blur_picture(self, rgb: np.ndarray, t: float, *, scale: float) -> np.ndarray:
        """One picture (a still) at ``t`` s, blurred in place: tracked and detected faces."""
        boxes, _ = self.tracked(t, scale=scale)
        boxes = [*boxes, *self.unkept_detections(rgb, t, scale=scale)]
        return blur_boxes(rgb, boxes, margin=self.settings.margin, cells=self.settings.cells)


@dataclass
class BlurStats:
    """What a :class:`FrameBlurrer` did."""

    frames: int = 0
    detector_runs: int = 0
    tracked_boxes: int = 0  # boxes of people not kept, blurred (summed over frames)
    detected_boxes: int = 0  # boxes of faces found only by the detector, blurred


class FrameBlurrer:
    """Blur a film's frames in order, holding back the few frames between two detector runs.

    ``feed(t, rgb)`` takes the next frame (times increasing, ``rgb`` ``scale`` times the original
    size) and yields the frames now ready, in order, blurred; ``flush()`` yields the rest at the
    end. Frame ``n`` runs the detector when ``n % detect_every == 0``; a frame between runs gets
    the unkept faces of the run before it, the run after it and the runs within ``hold_s`` before
    it, besides the tracked boxes of the people not kept.
    """

    def __init__(self, plan: BlurPlan, *, scale: float) -> None:
        self.plan, self.scale = plan, float(scale)
        self.stats = BlurStats()
        self._pending: list[tuple[float, Any, np.ndarray]] = []
        self._runs: deque[tuple[float, np.ndarray]] = deque()  # (time, unkept boxes) per run
        self._count = 0

    def _detect(self, t: float, rgb: np.ndarray) -> None:
        self._runs.append((t, self.plan.unkept_detections(rgb, t, scale=self.scale)))
        self.stats.detector_runs += 1

    def _release(self, upto: float) -> Iterator[tuple[float, Any, np.ndarray]]:
        s = self.plan.settings
        for t, extra, rgb in self._pending:
            boxes, _ = self.plan.tracked(t, scale=self.scale)
            detected = [
                b
                for rt, found in self._runs
                if t - s.hold_s - 1e-9 <= rt <= upto + 1e-9
                for b in found
            ]
            self.stats.tracked_boxes += len(boxes)
            self.stats.detected_boxes += len(detected)
            self.stats.frames += 1
            yield t, extra, blur_boxes(rgb, [*boxes, *detected], margin=s.margin, cells=s.cells)
        self._pending = []
        if self._runs:  # forget runs too old to matter to any later frame
            newest = self._runs[-1][0]
            while self._runs and self._runs[0][0] < newest - s.hold_s - 1e-9:
                self._runs.popleft()

    def feed(
        self, t: float, rgb: np.ndarray, extra: Any = None
    ) -> Iterator[tuple[float, Any, np.ndarray]]:
        """Take frame ``rgb`` at ``t`` s (``extra`` travels with it); yield ``(t, extra, rgb)``
        of the frames now ready, blurred in place."""
        every = max(1, int(self.plan.settings.detect_every))
        index = self._count
        self._count += 1
        if index % every:
            self._pending.append((t, extra, rgb))
            return
        self._detect(t, rgb)
        yield from self._release(upto=t)  # the frames since the last run
        self._pending.append((t, extra, rgb))
        yield from self._release(upto=t)  # this frame: this run and the ones before

    def flush(self) -> Iterator[tuple[float, Any, np.ndarray]]:
        """The frames still held back (the detector runs once more, on the last of them)."""
        if self._pending:
            t, _, rgb = self._pending[-1]
            self._detect(t, rgb)
            yield from self._release(upto=t)
