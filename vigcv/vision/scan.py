"""The streaming pass over a video: detect, track and measure faces frame by frame.

Decoding runs in a background thread (PyAV releases the GIL) while this thread runs the models,
so two cores overlap, unless the environment variable ``VIGCV_DECODE_AHEAD`` is ``0``: then
frames are decoded in this thread, one core in all. A batch worker allowed one thread sets it
(:func:`vigcv.executors.limit_threads`, ``[batch] decode_ahead``), so ``N`` workers use ``N``
cores instead of fighting for them. Only small per-face records are kept; frames are dropped as
soon as they are analysed, so memory does not grow with the length of the video beyond those
records.
"""

from __future__ import annotations

import math
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vigcv.hooks import Hook, no_hook
from vigcv.io import VideoFrame, iter_frames
from vigcv.vision.detect import Detections, detect_faces, detect_in_regions, whole_frame_width
from vigcv.vision.expression import HAPPY, NEUTRAL, expression_probabilities, face_input
from vigcv.vision.hands import hands_over_eyes
from vigcv.vision.headpose import head_angles
from vigcv.vision.identity import DIM as EMBEDDING_DIM
from vigcv.vision.identity import FaceIdentity
from vigcv.vision.landmarks import FaceMeasures, Landmarker
from vigcv.vision.pose import yaw_from_five_points
from vigcv.vision.track import FaceTracker, containment, match_cost

MEASURE_FIELDS = (
    "yaw", "pitch", "roll", "eye_x", "eye_y", "smile", "cheek", "jaw_open",
    "smile_lo", "mouth_width", "corner_lift", "iris_x", "iris_y", "lower_face",
)  # fmt: skip
EMBEDDING = "embedding"  # the one two-dimensional field of ScanResult.faces (n_faces, 128)


@dataclass(frozen=True)
class ScanResult:
    """Per-frame times and per-face records of one video.

    Attributes
    ----------
    times : ndarray, shape (n_frames,)
        Seconds of each analysed frame.
    faces : dict of str to ndarray, each shape (n_faces,)
        ``frame`` (analysed-frame index), ``track``, ``x0, y0, x1, y1`` (original pixels),
        ``score``, ``fp_yaw`` (five-point yaw fit, deg, before the gain), ``lm_tried`` (0/1),
        ``lm_ok`` (0/1), the landmarker's :data:`MEASURE_FIELDS` (NaN when not tried or
        failed), and ``happy``, ``neutral``: the expression classifier's probabilities of those
        two classes (NaN on frames it skipped, see ``[vision] expression_every``);
        ``presence``: the face mesh's face-presence probability 0..1 of the crop (NaN when the
        landmarker was not run on it, also below ``landmark_confidence``);
        ``reye_x, reye_y, leye_x, leye_y, nose_x, nose_y``: CenterFace's eye and nose points
        (original pixels; it places them on anything it calls a face, the back of a head too);
        ``sharpness``: variance of the Laplacian of the face box, grey, resized to
        :data:`SHARP_SIDE` pixels (low on a blurred face; compare within a person only);
        ``hp_yaw``, ``hp_pitch``: WHENet's head yaw (-180..180) and pitch in degrees
        (:mod:`vigcv.vision.headpose`) where the face mesh was tried on the face and failed
        (``[vision] head_pose_on_mesh_failures``) and on every ``head_pose_every``-th analysed
        frame (0: none), NaN elsewhere;
        ``hand_over_eyes``: the largest share 0..1 of one hand's landmarks over the face's eye
        band (:mod:`vigcv.vision.hands`), on every ``hands_every``-th analysed frame (0: none),
        NaN elsewhere.
        One field is two-dimensional: ``embedding``, shape (n_faces, 128) float32, each face's
        identity descriptor (:mod:`vigcv.vision.identity`) where it was computed: a track's
        face is described the first time the face mesh measures it once the track has lasted
        ``[vision] identity_after_s``, and then at most every
        ``[vision] identity_every_s`` seconds, again only where the mesh measured it (a face
        turned too far for the mesh gives a descriptor that says little); NaN rows elsewhere
        and for faces narrower than ``identity_min_face_px``.
    width, height : int
        Original frame size in pixels.
    """

    times: np.ndarray
    faces: dict[str, np.ndarray]
    width: int
    height: int

    @classmethod
    def empty(cls) -> ScanResult:
        """A scan that saw no frame."""
        faces = {k: np.zeros(0) for k in _FIELDS}
        faces[EMBEDDING] = np.zeros((0, EMBEDDING_DIM), np.float32)
        return cls(np.zeros(0), faces, 0, 0)


DECODE_AHEAD_ENV = "VIGCV_DECODE_AHEAD"  # "0": decode in the scanning thread, else ahead in one
DECODE_THREAD = "vigcv-decode"  # the name of the thread that decodes ahead


SHARP_SIDE = 64  # side in pixels of the grey face image whose Laplacian variance is taken
POINT_FIELDS = ("reye_x", "reye_y", "leye_x", "leye_y", "nose_x", "nose_y")


def sharpness(rgb: np.ndarray, box: np.ndarray) -> float:
    """Variance of the Laplacian of the face box, grey, resized to :data:`SHARP_SIDE` px.

    A standard focus measure: motion blur and defocus lower it. Its scale depends on the face's
    texture and light, so it is only compared with the same person's other frames. NaN for a
    box with no pixels inside the frame.
    """
    h, w = rgb.shape[:2]
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(w, math.ceil(box[2])), min(h, math.ceil(box[3]))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return math.nan
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (SHARP_SIDE, SHARP_SIDE), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(small.astype(np.float32), cv2.CV_32F).var())


def decode_ahead() -> bool:
    """Whether :func:`scan_video` decodes in a thread of its own (see the module docstring)."""
    return os.environ.get(DECODE_AHEAD_ENV, "1").strip() != "0"


def _prefetch(frames: Iterator[VideoFrame], depth: int = 4) -> Iterator[VideoFrame]:
    """Decode in a background thread, a few frames ahead."""
    box: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def worker() -> None:
        try:
            for frame in frames:
                if stop.is_set():
                    return
                box.put(frame)
        except BaseException as exc:  # handed to the consumer
            box.put(exc)
        box.put(done)

    thread = threading.Thread(target=worker, daemon=True, name=DECODE_THREAD)
    thread.start()
    try:
        while True:
            item = box.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                box.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


def _close(frames: Iterator[VideoFrame]) -> None:
    close = getattr(frames, "close", None)  # generators have one
    if close is not None:
        close()


def _roi_detections(
    rgb: np.ndarray,
    dets: Detections,
    tracker: FaceTracker,
    t: float,
    vc: dict[str, Any],
    *,
    full_frame: bool,
) -> Detections:
    """Look again, closer and with a lower threshold, around established tracks.

    After a whole-frame detection only tracks it left unmatched are looked at; on frames
    without one (``detect_every`` > 1) every established track is, so faces are followed
    between whole-frame detections. All regions go to the detector in one batch.
    """
    established = _relook_tracks(tracker, t, vc)
    min_hits = 3 if full_frame else 1
    wanted = []
    for _, box, lost, hits in established:
        if hits < min_hits or lost > vc["roi_max_lost_s"]:
            continue
        if len(dets) and (
            match_cost(box[None], dets.boxes, size_weight=tracker.size_weight).min() <= tracker.gate
        ):
            continue
        wanted.append(box)
    if not wanted:
        return dets
    found = detect_in_regions(
        rgb,
        np.stack(wanted),
        margin=vc["roi_margin"],
        width=int(vc["roi_width"]),
        threshold=vc["roi_threshold"],
        threads=int(vc["threads"]),
    )
    extra: list[Detections] = []
    for best in found:
        if not len(best):
            continue
        taken = Detections.concat([dets, *extra])
        if not len(taken) or containment(best.boxes[0], taken.boxes).max() < 0.3:
            extra.append(best)  # a face another track already holds is not a new one
    return Detections.concat([dets, *extra])


def _relook_tracks(
    tracker: FaceTracker, t: float, vc: dict[str, Any]
) -> list[tuple[int, np.ndarray, float, int]]:
    """The tracks to look again around: the ``roi_max_faces`` with most detections, and up to
    ``roi_extra_faces`` more that have at least ``roi_extra_share`` of the most-detected one's
    detections (a third person seen as steadily as the others, not a passing toy or hand)."""
    ranked = sorted(tracker.active(t), key=lambda a: -a[3])
    first = ranked[: int(vc["roi_max_faces"])]
    if not first:
        return []
    floor = float(vc["roi_extra_share"]) * first[0][3]
    extra = [a for a in ranked[len(first) :] if a[3] >= floor]
    return first + extra[: int(vc["roi_extra_faces"])]


def _followed(tracker: FaceTracker, t: float, vc: dict[str, Any]) -> int:
    """How many established faces the region search between whole-frame detections follows."""
    return sum(a[2] <= vc["roi_max_lost_s"] for a in _relook_tracks(tracker, t, vc))


def scan_video(
    path: Path,
    *,
    fps: float,
    max_side: int,
    vc: dict[str, Any],
    total: int,
    hook: Hook = no_hook,
    warnings: list[str] | None = None,
    start: float = 0.0,
    end: float | None = None,
) -> ScanResult:
    """Detect, track and measure the faces of every analysed frame (see :class:`ScanResult`).

    ``start`` and ``end`` (seconds) limit the scan to the frames in ``[start, end)`` (decoding
    seeks to ``start``); frame indices in the result then count from the first of them. Long
    recordings are scanned this way in chunks (:mod:`vigcv.chunks`).
    """
    tracker = FaceTracker(
        gate=vc["track_gate"],
        gate_growth=vc["track_gate_growth"],
        max_gate=vc["track_max_gate"],
        max_lost_s=vc["track_max_lost_s"],
        size_weight=vc["track_size_weight"],
        matching=vc["track_matching"],
    )
    landmarker = Landmarker(min_presence=vc["landmark_confidence"], margin=vc["crop_margin"])
    rows: dict[str, list[float]] = {k: [] for k in _FIELDS}
    times: list[float] = []
    last_measured: dict[int, int] = {}
    last_ok: dict[int, bool] = {}
    mirror_next: dict[int, bool] = {}
    mirror_every = bool(vc["landmark_mirror"])
    width = height = 0
    every = max(1, int(vc["detect_every"]))
    lm_every = max(1, int(vc["landmark_every"]))
    lm_every_failed = max(1, int(vc["landmark_every_failed"]))
    happy_every = int(vc["expression_every"])
    pose_every = int(vc["head_pose_every"])
    hands_every = int(vc["hands_every"])
    pose_on_failures = bool(vc["head_pose_on_mesh_failures"])
    id_every = float(vc["identity_every_s"])
    identity = FaceIdentity(min_face_px=vc["identity_min_face_px"]) if id_every > 0 else None
    id_slack = 0.5 / fps if fps > 0 else 0.0  # frame times jitter: due within half a frame
    last_id: dict[int, float] = {}  # per track: when its face was last described
    first_seen: dict[int, float] = {}  # per track: when it began
    id_after = float(vc["identity_after_s"])
    embeddings: list[np.ndarray] = []
    frames = iter_frames(path, fps=fps, max_side=max_side, start=start, end=end, warnings=warnings)
    source = _prefetch(frames) if decode_ahead() else frames
    try:
        for frame in source:
            rgb, i = frame.rgb, frame.index
            times.append(frame.t)
            if not width:
                height = round(float(rgb.shape[0] / frame.scale))
                width = round(float(rgb.shape[1] / frame.scale))
            if i % int(vc["progress_every"]) == 0:
                hook("vision", None, completed=i, total=max(total, i + 1))
            full_frame = i % every == 0
            dets = Detections.empty()
            if not full_frame:
                dets = _roi_detections(rgb, dets, tracker, frame.t, vc, full_frame=False)
                if len(dets) < _followed(tracker, frame.t, vc):
                    full_frame = True  # a face slipped out of its region: look everywhere
            if full_frame:
                dets = detect_faces(
                    rgb,
                    width=whole_frame_width(
                        rgb.shape[1],
                        width=int(vc["detect_width"]),
                        min_face_px=float(vc["detect_min_face_px"]),
                    ),
                    threshold=vc["detect_threshold"],
                    nms_iou=vc["nms_iou"],
                    threads=int(vc["threads"]),
                )
                if vc["roi_redetect"]:
                    dets = _roi_detections(rgb, dets, tracker, frame.t, vc, full_frame=True)
            ids = tracker.update(frame.t, dets.boxes)
            fp_yaw = yaw_from_five_points(dets.landmarks, dets.boxes)
            describe = []  # faces the face mesh measured whose track is due a descriptor
            mesh_failed = []  # faces the face mesh was tried on and could not measure
            for k in range(len(dets)):
                tid = int(ids[k])
                first_seen.setdefault(tid, frame.t)
                measures: FaceMeasures | None = None
                presence = math.nan
                wait = lm_every if last_ok.get(tid, True) else lm_every_failed
                tried = i - last_measured.get(tid, -(10**9)) >= wait
                if tried:
                    last_measured[tid] = i
                    mirror = mirror_next.get(tid, False)
                    measures, presence = landmarker.measure_presence(
                        rgb, dets.boxes[k], dets.landmarks[k, :2], mirror=mirror
                    )
                    mirror_next[tid] = mirror_every and not mirror
                    last_ok[tid] = measures is not None
                    if measures is None:
                        mesh_failed.append(k)
                    due = frame.t - last_id.get(tid, -math.inf) >= id_every - id_slack
                    # A track that lasts: most tracks are fragments of a second, which the
                    # linking joins by place and size alone.
                    due = due and frame.t - first_seen[tid] >= id_after - id_slack
                    if identity is not None and measures is not None and due:
                        describe.append(k)
                        last_id[tid] = frame.t
                box = dets.boxes[k] / frame.scale
                _append(rows, i, tid, box, float(dets.scores[k]), float(fp_yaw[k]), tried, measures)
                rows["presence"].append(presence)
                points = dets.landmarks[k, :3] / frame.scale
                for j, name in enumerate(POINT_FIELDS):
                    rows[name].append(float(points[j // 2, j % 2]))
                rows["sharpness"].append(sharpness(rgb, dets.boxes[k]))
            happy, neutral = _expression(rgb, dets.boxes, i, every=happy_every, vc=vc)
            rows["happy"].extend(happy)
            rows["neutral"].extend(neutral)
            hands = [math.nan] * len(dets)
            if hands_every > 0 and i % hands_every == 0 and len(dets):
                hands = hands_over_eyes(
                    rgb,
                    dets.boxes,
                    scale=float(vc["hands_region_scale"]),
                    palm_threshold=float(vc["hands_palm_threshold"]),
                    flag_threshold=float(vc["hands_presence_threshold"]),
                )
            rows["hand_over_eyes"].extend(hands)
            posed = [k for k in range(len(dets)) if pose_every > 0 and i % pose_every == 0]
            posed = posed or (mesh_failed if pose_on_failures else [])
            hp_yaw, hp_pitch = _head_pose(rgb, dets.boxes, posed)
            rows["hp_yaw"].extend(hp_yaw)
            rows["hp_pitch"].extend(hp_pitch)
            emb = np.full((len(dets), EMBEDDING_DIM), np.nan, np.float32)
            if identity is not None and describe:
                emb[describe] = identity.embed(rgb, dets.boxes[describe])
            embeddings.append(emb)
    finally:
        _close(source)  # an early exit stops the decoding thread and closes the file at once
        _close(frames)
        landmarker.close()
    hook("vision", None, completed=len(times), total=len(times))
    faces = {k: np.asarray(v, dtype=float) for k, v in rows.items()}
    faces[EMBEDDING] = (
        np.concatenate(embeddings) if embeddings else np.zeros((0, EMBEDDING_DIM), np.float32)
    )
    return ScanResult(np.asarray(times, dtype=float), faces, width, height)


_BASE_FIELDS = ("frame", "track", "x0", "y0", "x1", "y1", "score", "fp_yaw", "lm_tried", "lm_ok")
_FIELDS: tuple[str, ...] = (
    _BASE_FIELDS
    + MEASURE_FIELDS
    + ("happy", "neutral", "presence")
    + POINT_FIELDS
    + ("sharpness", "hp_yaw", "hp_pitch", "hand_over_eyes")
)


def _head_pose(
    rgb: np.ndarray, boxes: np.ndarray, due: list[int]
) -> tuple[list[float], list[float]]:
    """WHENet's head yaw and pitch of the faces ``due`` (indices into ``boxes``) in one frame;
    NaN for the others."""
    yaw = np.full(len(boxes), np.nan)
    pitch = np.full(len(boxes), np.nan)
    if due:
        yaw[due], pitch[due] = head_angles(rgb, boxes[due])
    return yaw.tolist(), pitch.tolist()


def _expression(
    rgb: np.ndarray, boxes: np.ndarray, index: int, *, every: int, vc: dict[str, Any]
) -> tuple[list[float], list[float]]:
    """The expression classifier's happy and neutral probabilities of each face in one frame.

    Runs on every ``every``-th analysed frame (NaN on the others, and for all with ``every`` 0);
    successive runs alternate the crops with their mirror image.
    """
    if every <= 0 or index % every or not len(boxes):
        return [math.nan] * len(boxes), [math.nan] * len(boxes)
    mirror = (index // every) % 2 == 1
    faces = np.stack(
        [face_input(rgb, b, margin=vc["expression_margin"], mirror=mirror) for b in boxes]
    )
    probs = expression_probabilities(faces).astype(float)
    return probs[:, HAPPY].tolist(), probs[:, NEUTRAL].tolist()


def _append(
    rows: dict[str, list[float]],
    frame: int,
    track: int,
    box: np.ndarray,
    score: float,
    fp_yaw: float,
    tried: bool,
    measures: FaceMeasures | None,
) -> None:
    values = [frame, track, *(float(v) for v in box), score, fp_yaw, float(tried)]
    values.append(float(measures is not None))
    for name, value in zip(_FIELDS, values, strict=False):
        rows[name].append(value)
    for name in MEASURE_FIELDS:
        rows[name].append(getattr(measures, name) if measures is not None else math.nan)
