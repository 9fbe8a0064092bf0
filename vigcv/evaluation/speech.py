"""Speech metrics: voice activity F1, diarization error rate, speaker-change F1, switch latency.

All functions take "who speaks when" tables with columns ``start``, ``end`` (seconds) and
``speaker`` (any hashable label), e.g. from :func:`read_rttm` or ``SpeechTrack.segments``.

Definitions
-----------
- **VAD F1**: speech/non-speech on 10 ms frames (frame ``k`` covers ``[k, k+1) * 0.01`` s and is
  speech when its centre lies inside any segment); F1 of the speech class.
- **DER** (standard, no collar, overlap counted): ``(missed + false alarm + confusion) / total
  reference speech``, computed exactly on the elementary intervals between all boundaries. Per
  interval with ``n_ref`` reference and ``n_hyp`` hypothesis speakers: missed ``max(0, n_ref -
  n_hyp)``, false alarm ``max(0, n_hyp - n_ref)``, confusion ``min(n_ref, n_hyp) - n_correct``,
  each times the interval's duration; speakers are mapped one-to-one by the Hungarian algorithm
  to maximise the time both are active.
- **Switches**: :func:`vigcv.audio.floor_switches` (back-channels inside another speaker's
  segment are not turns; a switch is at the start of the new speaker's turn, with latency
  ``start_new - end_previous``, negative for overlap), the same function the pipeline uses.
- **Speaker-change F1**: switches of hypothesis and reference matched one-to-one within a collar
  (default 0.25 s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from vigcv.audio.turns import floor_switches
from vigcv.errors import VigcvError

FRAME_S = 0.01


class RttmError(VigcvError):
    """An RTTM file that cannot be read."""


def read_rttm(path: str | Path) -> pd.DataFrame:
    """Read an RTTM file into a table with columns ``file``, ``start``, ``end``, ``speaker``.

    Lines are ``SPEAKER <file> <chan> <start> <duration> <NA> <NA> <speaker> <NA> <NA>``; other
    line types and blank lines are skipped. Rows are sorted by start.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise RttmError(f"{path}: cannot read RTTM ({exc.strerror}); check the path") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts or parts[0] != "SPEAKER":
            continue
        try:
            start, duration = float(parts[3]), float(parts[4])
            rows.append((parts[1], start, start + duration, parts[7]))
        except (IndexError, ValueError):
            raise RttmError(f"{path}:{number}: not an RTTM SPEAKER line; fix the file") from None
    table = pd.DataFrame(rows, columns=["file", "start", "end", "speaker"])
    return table.sort_values("start", kind="stable").reset_index(drop=True)


def speech_frames(segments: pd.DataFrame, *, n_frames: int, frame_s: float = FRAME_S) -> np.ndarray:
    """Boolean speech mask, shape (n_frames,), of frames whose centre lies in a segment."""
    mask = np.zeros(n_frames, dtype=bool)
    centres = (np.arange(n_frames) + 0.5) * frame_s
    for start, end in zip(segments["start"], segments["end"], strict=True):
        lo, hi = np.searchsorted(centres, [start, end], side="left")
        mask[lo:hi] = True
    return mask


def vad_f1(
    reference: pd.DataFrame,
    hypothesis: pd.DataFrame,
    *,
    duration: float | None = None,
    frame_s: float = FRAME_S,
) -> dict[str, float]:
    """Precision, recall and F1 of speech on ``frame_s`` frames over ``[0, duration)`` seconds.

    ``duration`` defaults to the last end of either table.
    """
    if duration is None:
        ends = [float(t["end"].max()) for t in (reference, hypothesis) if len(t)]
        duration = max(ends) if ends else 0.0
    n = round(duration / frame_s)
    ref = speech_frames(reference, n_frames=n, frame_s=frame_s)
    hyp = speech_frames(hypothesis, n_frames=n, frame_s=frame_s)
    tp = float(np.sum(ref & hyp))
    precision = tp / hyp.sum() if hyp.sum() else 0.0
    recall = tp / ref.sum() if ref.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _intervals(ref: pd.DataFrame, hyp: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elementary intervals and who is active in each.

    Returns durations (n,), reference activity (n, n_ref) and hypothesis activity (n, n_hyp).
    """
    bounds = np.unique(np.concatenate([ref["start"], ref["end"], hyp["start"], hyp["end"]]))
    starts, ends = bounds[:-1], bounds[1:]
    mids = 0.5 * (starts + ends)

    def activity(table: pd.DataFrame) -> np.ndarray:
        labels = sorted(table["speaker"].astype(str).unique())
        act = np.zeros((mids.size, len(labels)), dtype=bool)
        for j, label in enumerate(labels):
            rows = table[table["speaker"].astype(str) == label]
            for s, e in zip(rows["start"], rows["end"], strict=True):
                act[:, j] |= (mids >= s) & (mids < e)
        return act

    return ends - starts, activity(ref), activity(hyp)


def diarization_error_rate(reference: pd.DataFrame, hypothesis: pd.DataFrame) -> dict[str, float]:
    """Standard DER (no collar, overlap counted) and its parts, in seconds and as a rate.

    Returns
    -------
    dict
        ``der``, ``missed``, ``false_alarm``, ``confusion`` (seconds), ``total`` (seconds of
        reference speech, counting each overlapping speaker). :func:`speaker_mapping` gives
        the speaker mapping.
    """
    if len(reference) == 0:
        raise ValueError("reference has no speech; DER is undefined")
    dur, ref, hyp = _intervals(reference, hypothesis)
    overlap = (ref[:, :, None] & hyp[:, None, :]) * dur[:, None, None]
    cost = overlap.sum(axis=0)  # (n_ref, n_hyp) seconds both active
    rows, cols = linear_sum_assignment(-cost) if cost.size else (np.zeros(0, int),) * 2
    n_ref, n_hyp = ref.sum(axis=1), hyp.sum(axis=1)
    correct = np.zeros(dur.size)
    for i, j in zip(rows, cols, strict=True):
        correct += ref[:, i] & hyp[:, j]
    missed = float(np.sum(np.maximum(0, n_ref - n_hyp) * dur))
    false_alarm = float(np.sum(np.maximum(0, n_hyp - n_ref) * dur))
    confusion = float(np.sum((np.minimum(n_ref, n_hyp) - correct) * dur))
    total = float(np.sum(n_ref * dur))
    der = (missed + false_alarm + confusion) / total
    return {
        "der": der,
        "missed": missed,
        "false_alarm": false_alarm,
        "confusion": confusion,
        "total": total,
    }


def speaker_mapping(reference: pd.DataFrame, hypothesis: pd.DataFrame) -> dict[str, str]:
    """The optimal one-to-one map ``{hypothesis label: reference label}`` (Hungarian)."""
    dur, ref, hyp = _intervals(reference, hypothesis)
    cost = ((ref[:, :, None] & hyp[:, None, :]) * dur[:, None, None]).sum(axis=0)
    ref_labels = sorted(reference["speaker"].astype(str).unique())
    hyp_labels = sorted(hypothesis["speaker"].astype(str).unique())
    rows, cols = linear_sum_assignment(-cost)
    return {hyp_labels[j]: ref_labels[i] for i, j in zip(rows, cols, strict=True)}


def _match(ref_times: np.ndarray, hyp_times: np.ndarray, *, collar: float) -> list[tuple[int, int]]:
    """One-to-one matching of time points within ``collar`` seconds, nearest first."""
    if ref_times.size == 0 or hyp_times.size == 0:
        return []
    dist = np.abs(ref_times[:, None] - hyp_times[None, :])
    big = 1e6
    cost = np.where(dist <= collar, dist, big)
    rows, cols = linear_sum_assignment(cost)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if cost[i, j] < big]


def change_f1(
    reference: pd.DataFrame, hypothesis: pd.DataFrame, *, collar: float = 0.25
) -> dict[str, float]:
    """Precision, recall and F1 of speaker-change points (switches) within ``collar`` seconds."""
    ref = floor_switches(reference)["time"].to_numpy(float)
    hyp = floor_switches(hypothesis)["time"].to_numpy(float)
    hits = len(_match(ref, hyp, collar=collar))
    precision = hits / hyp.size if hyp.size else 0.0
    recall = hits / ref.size if ref.size else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "n_ref": float(ref.size)}


def latency_errors(
    reference: pd.DataFrame, hypothesis: pd.DataFrame, *, tolerance: float = 1.0
) -> pd.DataFrame:
    """Switch-latency errors for reference switches matched to a hypothesis switch.

    Switches are matched one-to-one by time within ``tolerance`` seconds.

    Returns
    -------
    DataFrame
        One row per matched reference switch: ``time``, ``ref_latency_s``, ``hyp_latency_s``,
        ``error_s`` (hypothesis minus reference).
    """
    ref = floor_switches(reference)
    hyp = floor_switches(hypothesis)
    pairs = _match(ref["time"].to_numpy(float), hyp["time"].to_numpy(float), collar=tolerance)
    rows = []
    for i, j in sorted(pairs):
        r, h = float(ref["latency_s"].iloc[i]), float(hyp["latency_s"].iloc[j])
        rows.append((float(ref["time"].iloc[i]), r, h, h - r))
    return pd.DataFrame(rows, columns=["time", "ref_latency_s", "hyp_latency_s", "error_s"])


def attribution_accuracy(reference: pd.DataFrame, hypothesis: pd.DataFrame) -> float:
    """Share of reference speech time whose speaker the hypothesis names exactly (no mapping).

    Overlapping reference speakers each count; time the hypothesis leaves silent counts as
    wrong.
    """
    dur, ref, hyp = _intervals(reference, hypothesis)
    ref_labels = sorted(reference["speaker"].astype(str).unique())
    hyp_labels = sorted(hypothesis["speaker"].astype(str).unique())
    total = float(np.sum(ref.sum(axis=1) * dur))
    right = 0.0
    for i, label in enumerate(ref_labels):
        if label in hyp_labels:
            right += float(np.sum((ref[:, i] & hyp[:, hyp_labels.index(label)]) * dur))
    return right / total if total else 0.0
