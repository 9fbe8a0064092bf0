"""Speech metrics: voice activity F1, diarization error rate, speaker-change F1, switch latency.

All functions take "who speaks when" tables with columns ``start``, ``end`` (seconds) and
``speaker`` (any hashable label), e.g. from :func:`read_rttm` or ``SpeechTrack.segments``.

Definitions
-----------
- **VAD F1**: speech/non-speech on 10 ms frames (frame ``k`` covers ``[k, k+1) * 0.01`` s and is
  speech when its centre lies inside any segment); F1 of the speech class.
- **DER** (standard, no collar, overlap counted): ``(missed + false alarm + confusion) / total
  reference speech``, and **JER** (Jaccard error rate), both computed by pyannote.metrics
  (``DiarizationErrorRate``, ``JaccardErrorRate`` with ``collar=0``, ``skip_overlap=False``, over
  ``[0, last end)``); speakers are mapped one-to-one to maximise the time both are active.
  pyannote.metrics is imported inside the functions (about 1.5 s), so importing this module
  stays cheap.
- **Switches**: :func:`vigcv.audio.floor_switches` (back-channels inside another speaker's
  segment are not turns; a switch is at the start of the new speaker's turn, with latency
  ``start_new - end_previous``, negative for overlap), the same function the pipeline uses.
- **Speaker-change F1**: switches of hypothesis and reference matched one-to-one within a collar
  (default 0.25 s).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from vigcv.audio.turns import floor_switches
from vigcv.errors import VigcvError

if TYPE_CHECKING:
    from pyannote.core import Annotation

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


def to_annotation(table: pd.DataFrame, *, uri: str = "recording") -> Annotation:
    """A "who speaks when" table as a :class:`pyannote.core.Annotation` (one track per row).

    Rows of zero or negative duration are left out; labels become strings.
    """
    from pyannote.core import Annotation
    from pyannote.core import Segment as PSegment

    annotation = Annotation(uri=uri)
    rows = zip(table["start"], table["end"], table["speaker"], strict=True)
    for k, (start, end, speaker) in enumerate(rows):
        if float(end) > float(start):
            annotation[PSegment(float(start), float(end)), k] = str(speaker)
    return annotation


def _pair(reference: pd.DataFrame, hypothesis: pd.DataFrame) -> tuple[Any, Any, Any]:
    """Both tables as annotations and the scored extent ``[0, last end)`` as a UEM timeline."""
    from pyannote.core import Segment as PSegment
    from pyannote.core import Timeline

    if len(reference) == 0:
        raise ValueError("reference has no speech; the error rate is undefined")
    ends = [float(t["end"].max()) for t in (reference, hypothesis) if len(t)]
    uem = Timeline([PSegment(0.0, max(ends))], uri="recording")
    return to_annotation(reference), to_annotation(hypothesis), uem


def diarization_error_rate(reference: pd.DataFrame, hypothesis: pd.DataFrame) -> dict[str, float]:
    """Standard DER (no collar, overlap counted) and its parts, by pyannote.metrics.

    Returns
    -------
    dict
        ``der``, ``missed``, ``false_alarm``, ``confusion`` (seconds), ``total`` (seconds of
        reference speech, counting each overlapping speaker). :func:`speaker_mapping` gives
        the speaker mapping.
    """
    from pyannote.metrics.diarization import DiarizationErrorRate

    ref, hyp, uem = _pair(reference, hypothesis)
    got = DiarizationErrorRate(collar=0.0, skip_overlap=False)(ref, hyp, uem=uem, detailed=True)
    return {
        "der": float(got["diarization error rate"]),
        "missed": float(got["missed detection"]),
        "false_alarm": float(got["false alarm"]),
        "confusion": float(got["confusion"]),
        "total": float(got["total"]),
    }


def jaccard_error_rate(reference: pd.DataFrame, hypothesis: pd.DataFrame) -> float:
    """Jaccard error rate (DIHARD II; no collar, overlap counted), by pyannote.metrics.

    The mean over reference speakers of ``1 - |ref ∩ hyp| / |ref ∪ hyp|`` with the speakers
    mapped one-to-one; a reference speaker left unmapped counts 1.
    """
    from pyannote.metrics.diarization import JaccardErrorRate

    ref, hyp, uem = _pair(reference, hypothesis)
    return float(JaccardErrorRate(collar=0.0, skip_overlap=False)(ref, hyp, uem=uem))


def speaker_mapping(reference: pd.DataFrame, hypothesis: pd.DataFrame) -> dict[str, str]:
    """The optimal one-to-one map ``{hypothesis label: reference label}`` (pyannote.metrics)."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    ref, hyp, _ = _pair(reference, hypothesis)
    mapping = DiarizationErrorRate().optimal_mapping(ref, hyp)
    return {str(h): str(r) for h, r in mapping.items()}


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
    wrong (pyannote.metrics' identification error rate, its ``correct`` / ``total``).
    """
    from pyannote.metrics.identification import IdentificationErrorRate

    if len(reference) == 0:
        return 0.0
    ref, hyp, uem = _pair(reference, hypothesis)
    got = IdentificationErrorRate(collar=0.0, skip_overlap=False)(ref, hyp, uem=uem, detailed=True)
    return float(got["correct"]) / float(got["total"]) if got["total"] else 0.0


# -- sessions of an OUT folder against RTTM files -------------------------------------------------

SPEECH_EVALUATION_FILE = "speech_evaluation.csv"
SPEECH_METRICS = ("vad_f1", "der", "jer", "change_f1")


def rttm_files(folder: str | Path) -> dict[str, Path]:
    """``{name: path}`` of the ``.rttm`` files of ``folder`` (not searched recursively); the name
    is the file name without ``.rttm`` and without a trailing ``.session``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RttmError(f"{folder}: folder not found; give the folder of .rttm files")
    files = {}
    for path in sorted(folder.glob("*.rttm")):
        name = path.name[: -len(".rttm")]
        files[name.removesuffix(".session")] = path
    return files


def score_speech(
    reference: pd.DataFrame, hypothesis: pd.DataFrame, *, collar: float = 0.25
) -> dict[str, float]:
    """VAD F1 (10 ms), DER and JER (no collar, overlap counted), speaker-change F1 (``collar``).

    The figures of ``vigcv evaluate --rttm`` and ``scripts/bench_audio.py``.
    """
    der = diarization_error_rate(reference, hypothesis)
    return {
        "vad_f1": vad_f1(reference, hypothesis)["f1"],
        "der": der["der"],
        "missed": der["missed"] / der["total"],
        "false_alarm": der["false_alarm"] / der["total"],
        "confusion": der["confusion"] / der["total"],
        "jer": jaccard_error_rate(reference, hypothesis),
        "change_f1": change_f1(reference, hypothesis, collar=collar)["f1"],
        "ref_speakers": float(reference["speaker"].nunique()),
        "hyp_speakers": float(hypothesis["speaker"].nunique()),
        "ref_speech_s": float(
            speech_frames(reference, n_frames=_frames(reference)).sum() * FRAME_S
        ),
    }


def _frames(table: pd.DataFrame) -> int:
    return round(float(table["end"].max()) / FRAME_S) if len(table) else 0


def evaluate_speech(out: str | Path, rttm_dir: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """Score each session's ``speech.csv`` against ``<session>.rttm`` of ``rttm_dir``.

    Returns
    -------
    table : DataFrame
        One row per session with a reference: ``session`` and the columns of
        :func:`score_speech`; a last row ``all`` holds the mean over sessions.
    unmatched : list of str
        Sessions without an RTTM file.
    """
    from vigcv import results

    files = rttm_files(rttm_dir)
    rows, unmatched = [], []
    for folder in results.session_dirs(Path(out)):
        path = files.get(folder.name)
        if path is None:
            unmatched.append(folder.name)
            continue
        reference = read_rttm(path)
        if len(reference) == 0:
            raise RttmError(f"{path}: no SPEAKER lines; a reference needs some speech")
        try:
            hypothesis = results.read_speech(folder)
        except FileNotFoundError:
            raise RttmError(f"{folder}: no speech.csv; run `vigcv run` on it again") from None
        rows.append({"session": folder.name, **score_speech(reference, hypothesis)})
    if not rows:
        raise RttmError(
            f"no session of {out} has an RTTM file in {rttm_dir} (<session>.rttm); check the names"
        )
    table = pd.DataFrame(rows)
    mean = {"session": "all", **table.drop(columns="session").mean().to_dict()}
    return pd.concat([table, pd.DataFrame([mean])], ignore_index=True), unmatched
