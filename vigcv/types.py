"""The central types of vigcv: small, frozen, documented.

Times are seconds (float) from the start of the media everywhere; frame indices appear only inside
ingest and extract. Tables are pandas DataFrames wrapped (not subclassed) by frozen dataclasses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

ROLES = ("parent", "child")
SPEAKERS = ("parent", "child", "other", "unknown")


@dataclass(frozen=True, order=True)
class Segment:
    """A time interval ``[start, end)`` in seconds (pyannote.core style)."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise ValueError(f"Segment bounds must be finite, got {self.start}, {self.end}")
        if self.end < self.start:
            raise ValueError(f"Segment end {self.end} is before its start {self.start}")

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def middle(self) -> float:
        return 0.5 * (self.start + self.end)

    def __bool__(self) -> bool:
        return self.end > self.start

    def __contains__(self, other: object) -> bool:
        if isinstance(other, Segment):
            return self.start <= other.start and other.end <= self.end
        if isinstance(other, int | float):
            return self.start <= other < self.end
        return False

    def __and__(self, other: Segment) -> Segment:
        """Intersection (empty Segment at ``start`` if they do not meet)."""
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Segment(start, max(start, end))

    def __or__(self, other: Segment) -> Segment:
        """The smallest Segment covering both."""
        return Segment(min(self.start, other.start), max(self.end, other.end))

    def overlap(self, other: Segment) -> float:
        """Seconds shared with ``other``."""
        return max(0.0, min(self.end, other.end) - max(self.start, other.start))

    def iou(self, other: Segment) -> float:
        """Temporal intersection over union."""
        inter = self.overlap(other)
        union = self.duration + other.duration - inter
        return inter / union if union > 0 else 0.0

    def shifted(self, seconds: float) -> Segment:
        return Segment(self.start + seconds, self.end + seconds)


def frames_to_time(frames: Any, *, fps: float) -> Any:
    """Frame indices to seconds (librosa naming): ``frames / fps``."""
    return np.asarray(frames, dtype=float) / float(fps)


def time_to_frames(times: Any, *, fps: float) -> Any:
    """Seconds to the index of the frame that contains them: ``floor(t * fps)``."""
    return np.floor(np.asarray(times, dtype=float) * float(fps) + 1e-9).astype(int)


# Columns of FrameFeatures.table (one row per analysed frame per person).
PERSON_COLUMNS = (
    "t",  # seconds from the start of the media
    "person",  # track id, stable across the session (int)
    "role",  # "parent" | "child" | "unknown"
    "visible",  # 0..1, is the face found in this frame
    "x", "y", "w", "h",  # face box, pixels of the original frame (top-left, size)
    # head orientation, degrees: yaw > 0 turns towards image left, pitch > 0 looks up,
    # roll > 0 tilts the top of the head towards image right
    "yaw", "pitch", "roll",
    "gaze_x", "gaze_y", "gaze_z",  # unit gaze direction in camera coordinates (x right, y down)
    "looks_at_other",  # 0..1 probability that this person looks at the other's head
    "smile",  # 0..1 smile intensity
    "mouth_open",  # 0..1 mouth opening (jawOpen)
    # 0..1 how well this face can be measured (face-mesh presence, eyes and nose in frame, size,
    # head turn, detection score, sharpness); below [vision] quality_min looks_at_other and smile
    # are NaN (unknown)
    "quality",
)  # fmt: skip

# Columns of FrameFeatures.dyad (one row per analysed frame); the contract of timeline.csv.
DYAD_COLUMNS = (
    "t",
    "parent_visible",
    "child_visible",
    "parent_looks_at_child",
    "child_looks_at_parent",
    "mutual_gaze",
    "parent_smile",
    "child_smile",
    "head_distance",  # centre distance in mean head widths (NaN when a face is missing)
    "parent_quality",  # 0..1 how well each face can be measured (PERSON_COLUMNS "quality"); 0
    "child_quality",  # where the face is not found, NaN where unknown
)


# Columns of FrameFeatures.people (one row per person found in the session).
PEOPLE_COLUMNS = (
    "person",  # id, as in the `person` column of FrameFeatures.table
    "role_guess",  # "adult" | "child" | "unknown" (vigcv.vision.people)
    "confidence",  # 0.5 .. 1, of role_guess
    "seconds_visible",  # seconds in which the face was detected
    "pair_role",  # "parent" | "child" for the pair scored by default, else ""
    "childness",  # evidence for "child" (logit units; > 0 child)
    "lower_face",  # median face-proportion ratio (NaN: not measured)
    "face_measures",  # frames that ratio rests on
    "size_px",  # median face size, pixels
    "thumb_t", "thumb_x", "thumb_y", "thumb_w", "thumb_h",  # the face's best view: time, box
    "embedding",  # mean face-identity descriptor (list of floats) or None
)  # fmt: skip

# Columns of FrameFeatures.looks (one row per analysed frame per ordered pair of people).
LOOKS_COLUMNS = ("t", "person", "target", "looks_at")


def empty_people() -> pd.DataFrame:
    """A people table with no row."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in PEOPLE_COLUMNS})


def empty_looks() -> pd.DataFrame:
    """A looks table with no row."""
    return pd.DataFrame({c: pd.Series(dtype=float) for c in LOOKS_COLUMNS})


@dataclass(frozen=True)
class FrameFeatures:
    """What vision extracted from one video.

    Attributes
    ----------
    table : DataFrame
        Long table, one row per analysed frame per person, columns :data:`PERSON_COLUMNS` (more
        may follow).
    dyad : DataFrame
        One row per analysed frame, columns :data:`DYAD_COLUMNS` (more may follow).
    fps : float
        Analysis rate in frames per second.
    video_id : str
        sha256 of the media file.
    width, height : int
        Frame size in pixels after rotation.
    provenance : dict
        Model names and versions, config hash, role assignment and its confidence, etc.
    people : DataFrame
        One row per person, columns :data:`PEOPLE_COLUMNS` (empty for features made before
        people were recorded).
    looks : DataFrame
        Who looks at whom, columns :data:`LOOKS_COLUMNS`: every ordered pair of people.
    """

    table: pd.DataFrame
    dyad: pd.DataFrame
    fps: float
    video_id: str
    width: int = 0
    height: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)
    people: pd.DataFrame = field(default_factory=empty_people)
    looks: pd.DataFrame = field(default_factory=empty_looks)

    @property
    def times(self) -> np.ndarray:
        return self.dyad["t"].to_numpy(dtype=float)

    def person(self, role: str) -> pd.DataFrame:
        """Rows of one role, ordered by time."""
        return self.table[self.table["role"] == role].sort_values("t")

    def swap_roles(self) -> FrameFeatures:
        """Parent becomes child and child becomes parent (the review page's role swap)."""
        table = self.table.copy()
        table["role"] = table["role"].map({"parent": "child", "child": "parent"}).fillna("unknown")
        dyad = self.dyad.copy()
        pairs = [
            ("parent_visible", "child_visible"),
            ("parent_looks_at_child", "child_looks_at_parent"),
            ("parent_smile", "child_smile"),
        ]
        for a, b in pairs:
            if a in dyad and b in dyad:
                dyad[a], dyad[b] = self.dyad[b].to_numpy(), self.dyad[a].to_numpy()
        prov = dict(self.provenance, roles_swapped=not self.provenance.get("roles_swapped", False))
        people = self.people.copy()
        if "pair_role" in people:
            people["pair_role"] = (
                people["pair_role"].map({"parent": "child", "child": "parent"}).fillna("")
            )
        return FrameFeatures(
            table, dyad, self.fps, self.video_id, self.width, self.height, prov, people, self.looks
        )

    @classmethod
    def empty(cls, *, video_id: str = "", fps: float = 0.0) -> FrameFeatures:
        """No video or no faces: empty tables with the contract's columns."""
        return cls(
            table=pd.DataFrame({c: pd.Series(dtype=float) for c in PERSON_COLUMNS}),
            dyad=pd.DataFrame({c: pd.Series(dtype=float) for c in DYAD_COLUMNS}),
            fps=fps,
            video_id=video_id,
        )


SEGMENT_COLUMNS = ("start", "end", "speaker", "confidence")
TURN_COLUMNS = ("time", "from", "to", "latency_s", "kind", "contingent")


@dataclass(frozen=True)
class SpeechTrack:
    """What audio extracted from one recording.

    Attributes
    ----------
    times : ndarray, shape (n,)
        Centre time in seconds of each voice-activity frame (every 32 ms).
    vad : ndarray, shape (n,)
        Speech probability 0..1 at ``times``.
    segments : DataFrame
        Speech segments, columns :data:`SEGMENT_COLUMNS` (+ e.g. ``laughter``, ``pitch_hz``);
        ``speaker`` is one of :data:`SPEAKERS` (or ``A``, ``B``, … for audio-only input).
    turns : DataFrame
        Switches and responses, columns :data:`TURN_COLUMNS`.
    provenance : dict
        Model names and versions, config hash, etc.
    """

    times: np.ndarray
    vad: np.ndarray
    segments: pd.DataFrame
    turns: pd.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> SpeechTrack:
        """No audio track: no frames, no segments."""
        return cls(
            times=np.zeros(0),
            vad=np.zeros(0),
            segments=pd.DataFrame({c: pd.Series(dtype=object) for c in SEGMENT_COLUMNS}),
            turns=pd.DataFrame({c: pd.Series(dtype=object) for c in TURN_COLUMNS}),
        )

    def swap_roles(self) -> SpeechTrack:
        """Parent speech becomes child speech and vice versa."""
        swap = {"parent": "child", "child": "parent"}
        seg = self.segments.copy()
        seg["speaker"] = seg["speaker"].map(lambda s: swap.get(s, s))
        turns = self.turns.copy()
        for col in ("from", "to"):
            if col in turns:
                turns[col] = turns[col].map(lambda s: swap.get(s, s))
        prov = dict(self.provenance, roles_swapped=not self.provenance.get("roles_swapped", False))
        return SpeechTrack(self.times, self.vad, seg, turns, prov)


@dataclass(frozen=True)
class Moment:
    """A candidate micro-moment suggested to the guider."""

    segment: Segment
    rank: int
    score: float
    components: dict[str, float]
    principles: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "start": round(self.segment.start, 3),
            "end": round(self.segment.end, 3),
            "score": round(float(self.score), 4),
            "components": {k: round(float(v), 4) for k, v in self.components.items()},
            "principles": list(self.principles),
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Moment:
        return cls(
            segment=Segment(float(d["start"]), float(d["end"])),
            rank=int(d["rank"]),
            score=float(d["score"]),
            components={k: float(v) for k, v in d.get("components", {}).items()},
            principles=tuple(d.get("principles", ())),
            reasons=tuple(d.get("reasons", ())),
        )
