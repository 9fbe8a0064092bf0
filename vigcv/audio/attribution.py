"""Who is speaking: the visible person whose mouth moves with the speech, else the voice.

Audio-visual evidence, per speech segment and visible role: how far the person's mouth opening
during the segment stands above their own silent baseline, and how much more it moves, both in
units of the person's own variability (a z-score; a talking mouth opens and moves, a listening
mouth does not), plus the correlation of mouth opening with voice activity over the segment and a
second of context on each side. The role with the highest score is the speaker when the score is
at least ``av_min_score``; the confidence grows with the margin over the other role. A narrow
decision (confidence below ``av_face_sure``) on a mouth that is not clearly talking (mean
activity below ``av_overlap_score``, see below) yields to the voice: when the segment's speaker
cluster was given to the other role by a clear majority of the faces' decisions elsewhere (a
share of at least ``av_face_sure``), that role speaks (a profile or turned-away face's mouth
is measured poorly).

Acoustic fallback (speech while the speaker's face is hidden or off screen): each speaker cluster
takes the role that the audio-visual decisions gave most of its time (at least
``av_cluster_share`` of at least ``av_cluster_min_s`` seconds), else the role its pitch suggests
(a child's voice is high); a second adult-sounding cluster is ``other``.

Faces, voice cluster and pitch together, on a segment that no mouth decided (a parent's
high-pitched baby talk sounds like a child, and a voice cluster can hold both voices): the
segment's faces still say something when one visible mouth is partly active (score at least
half of ``av_min_score``) while the other's stays like its silence (score below that): the mouth
*leans* to one person. A lean agrees with, or overrules, a role the cluster has from pitch
alone (pitch is the weakest evidence); it conflicts with a role the faces gave the cluster
elsewhere, and the segment is ``unknown``. Without a lean, the voice's role stands, except that
the segment is ``unknown`` when the person it names is seen still while the other is not seen
(the sound may well be the unseen one's), or when both are seen still and the role comes from
pitch alone. (Both mouths look like silence in many segments somebody visible speaks in: a
profile or a laugh moves the measured mouth little, so two still mouths do not overrule a voice
cluster that the faces named elsewhere.) ``unknown`` is said rather than a guess where the
evidence disagrees.

Overlapping speech (both talking at once) is seen, not heard: the voice track has one speaker at
a time, but when, inside a segment given to one visible person, the other visible person's
mouth is active too (per-frame activity, the same z-score as above smoothed over
``av_overlap_smooth_s``, at least ``av_overlap_score`` for both) for at least
``av_overlap_min_s``, the other person also speaks there. Such a stretch that reaches the
segment's edge next to the other person's own segment extends that segment (the floor changes
hands in overlap, so the switch latency becomes negative); one inside the segment becomes an
extra segment marked ``overlap`` (a back-channel or talking over, not a turn).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d

from vigcv.checks import require_probability
from vigcv.intervals import true_runs
from vigcv.types import ROLES, FrameFeatures, SpeechTrack


def _interp_vad(speech: SpeechTrack, t: np.ndarray) -> np.ndarray:
    if speech.times.size == 0:
        return np.zeros_like(t)
    vad = require_probability(speech.vad, what="voice activity deciding who is silent")
    return np.interp(t, speech.times, vad, left=0.0, right=0.0)


def _person_series(frames: FrameFeatures, role: str) -> tuple[np.ndarray, np.ndarray]:
    """Times and mouth opening of one role's visible frames (one row per time)."""
    rows = frames.person(role)
    if rows.empty or "mouth_open" not in rows:
        return np.zeros(0), np.zeros(0)
    visible = rows["visible"].to_numpy(float) >= 0.5 if "visible" in rows else True
    rows = rows[visible & np.isfinite(rows["mouth_open"].to_numpy(float))]
    rows = rows.groupby("t", as_index=False)["mouth_open"].mean()
    return rows["t"].to_numpy(float), rows["mouth_open"].to_numpy(float)


def _mouth_z(
    speech: SpeechTrack, frames: FrameFeatures, role: str, *, off: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A role's visible frame times, mouth opening and per-frame speaking z-score.

    ``z = 0.5 * (z_open + z_move)``: mouth opening and its frame-to-frame motion above the
    person's own median during silence (voice activity below ``off``), each in units of its
    standard deviation. Empty arrays when the role has fewer than 5 visible frames.
    """
    t, mouth = _person_series(frames, role)
    if t.size < 5:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    motion = np.abs(np.diff(mouth, prepend=mouth[0]))
    silent = _interp_vad(speech, t) < off
    base = mouth[silent] if silent.sum() >= 5 else mouth
    base_motion = motion[silent] if silent.sum() >= 5 else motion
    z_open = (mouth - np.median(base)) / max(float(np.std(mouth)), 0.02)
    z_move = (motion - np.median(base_motion)) / max(float(np.std(motion)), 0.01)
    return t, mouth, 0.5 * (z_open + z_move)


def mouth_scores(
    speech: SpeechTrack, frames: FrameFeatures, *, off: float, context_s: float
) -> dict[str, np.ndarray]:
    """Audio-visual speaking score of each role for each segment (NaN: not enough frames).

    Parameters
    ----------
    speech : SpeechTrack
        Voice activity and segments.
    frames : FrameFeatures
        ``table`` with ``t``, ``role``, ``visible``, ``mouth_open``.
    off : float
        Voice activity below this is silence (the mouths' baseline).
    context_s : float
        Seconds each side of a segment over which mouth opening is correlated with the voice.

    Returns
    -------
    dict
        ``{role: ndarray, shape (n_segments,)}`` in z units (0 = like the person's silence):
        the mean of the per-frame z over the segment plus the mouth-voice correlation.
    """
    seg = speech.segments
    out = {}
    for role in ROLES:
        t, mouth, z = _mouth_z(speech, frames, role, off=off)
        scores = np.full(len(seg), np.nan)
        out[role] = scores
        if t.size == 0:
            continue
        vad = _interp_vad(speech, t)
        for k, (start, end) in enumerate(zip(seg["start"], seg["end"], strict=True)):
            inside = (t >= start) & (t < end)
            if inside.sum() < 2:
                continue
            around = (t >= start - context_s) & (t < end + context_s)
            corr = 0.0
            if around.sum() >= 5 and np.std(vad[around]) > 1e-3 and np.std(mouth[around]) > 1e-6:
                corr = float(np.corrcoef(vad[around], mouth[around])[0, 1])
            scores[k] = float(z[inside].mean()) + corr
    return out


def mouth_activity(
    speech: SpeechTrack, frames: FrameFeatures, role: str, *, off: float, smooth_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame audio-visual speaking activity of one role (z units, 0 = like their silence).

    Returns
    -------
    t, activity : ndarray, shape (n,)
        The role's visible frame times and the speaking z-score of :func:`mouth_scores`
        averaged over ``smooth_s``; empty when the role has fewer than 5 visible frames.
    """
    t, _, z = _mouth_z(speech, frames, role, off=off)
    if t.size == 0:
        return t, z
    step = float(np.median(np.diff(t))) if t.size > 1 else 0.1
    size = max(1, round(smooth_s / max(step, 1e-3)))
    return t, uniform_filter1d(z, size=size, mode="nearest")


Activity = dict[str, tuple[np.ndarray, np.ndarray]]


def _overlaps(seg: pd.DataFrame, act: Activity, cfg: dict[str, Any]) -> pd.DataFrame:
    """``seg`` with overlapping speech added (see the module notes); column ``overlap``."""
    seg = seg.sort_values("start", kind="stable").reset_index(drop=True)
    seg["overlap"] = False
    if any(act[r][0].size == 0 for r in ROLES):
        return seg
    grid = np.union1d(act[ROLES[0]][0], act[ROLES[1]][0])
    both = {r: np.interp(grid, *act[r], left=np.nan, right=np.nan) for r in ROLES}
    level = cfg["av_overlap_score"]
    added = []
    for k in range(len(seg)):
        host = str(seg.at[k, "speaker"])
        if host not in ROLES or seg.at[k, "evidence"] != "face":
            continue
        guest = ROLES[1 - ROLES.index(host)]
        start, end = float(seg.at[k, "start"]), float(seg.at[k, "end"])
        inside = (grid >= start) & (grid < end)
        active = inside & (both[host] >= level) & (both[guest] >= level)
        for lo, hi in true_runs(active):
            a, b = float(grid[lo]), min(end, float(grid[hi - 1]) + float(np.median(np.diff(grid))))
            if b - a < cfg["av_overlap_min_s"]:
                continue
            margin = float(np.nanmean(both[guest][lo:hi])) - level
            conf = float(1.0 / (1.0 + np.exp(-2.0 * margin)))
            near = 2 * cfg["av_overlap_smooth_s"]
            nxt = k + 1 < len(seg) and seg.at[k + 1, "speaker"] == guest
            prv = k > 0 and seg.at[k - 1, "speaker"] == guest
            if nxt and end - b <= near and float(seg.at[k + 1, "start"]) - end <= near:
                seg.at[k + 1, "start"] = min(float(seg.at[k + 1, "start"]), a)
            elif prv and a - start <= near and start - float(seg.at[k - 1, "end"]) <= near:
                seg.at[k - 1, "end"] = max(float(seg.at[k - 1, "end"]), b)
            else:
                row = seg.loc[k].copy()
                row["start"], row["end"], row["speaker"] = a, b, guest
                row["confidence"], row["overlap"] = conf, True
                if "cluster" in row:
                    row["cluster"] = ""  # seen, not heard apart: no voice cluster of its own
                added.append(row)
    if added:
        seg = pd.concat([seg, pd.DataFrame(added)], ignore_index=True)
    return seg.sort_values(["start", "end"], kind="stable").reset_index(drop=True)


def attribute_speakers(
    speech: SpeechTrack, frames: FrameFeatures | None, *, config: dict[str, Any]
) -> SpeechTrack:
    """Name each speech segment's speaker and find the turns.

    Parameters
    ----------
    speech : SpeechTrack
        From :func:`vigcv.audio.extract_audio` (segments with ``cluster`` and ``role_guess``).
    frames : FrameFeatures or None
        Vision features (``table`` with ``t``, ``role``, ``visible``, ``mouth_open``). ``None``
        means an audio-only recording: speakers keep their cluster labels ``A``, ``B``, ….
    config : dict
        The whole config (``[audio]`` is read).

    Returns
    -------
    SpeechTrack
        With video: ``speaker`` in ``parent``/``child``/``other``/``unknown``, ``confidence``
        0..1 and ``evidence`` (``face``, ``voice`` or ``none``). Turns from
        :func:`vigcv.audio.find_turns` in both cases.
    """
    from vigcv.audio.turns import fill_pauses, find_turns

    cfg = config["audio"]
    seg = speech.segments.copy()
    if frames is not None and len(seg):
        smooth = cfg["av_overlap_smooth_s"]
        activity = {
            r: mouth_activity(speech, frames, r, off=cfg["vad_off"], smooth_s=smooth) for r in ROLES
        }
        seg = _attribute(speech, frames, seg, activity, cfg)
        seg = _overlaps(seg, activity, cfg)
    seg = fill_pauses(seg, max_gap_s=float(cfg["fill_pause_s"]))
    attributed = SpeechTrack(speech.times, speech.vad, seg, speech.turns, dict(speech.provenance))
    turns = find_turns(attributed, frames, config=config)
    prov = dict(speech.provenance, attributed="audio-visual" if frames is not None else "audio")
    return SpeechTrack(speech.times, speech.vad, seg, turns, prov)


def _attribute(
    speech: SpeechTrack,
    frames: FrameFeatures,
    seg: pd.DataFrame,
    activity: Activity,
    cfg: dict[str, Any],
) -> pd.DataFrame:
    scores = mouth_scores(speech, frames, off=cfg["vad_off"], context_s=cfg["av_context_s"])
    n = len(seg)
    speaker = np.array(["unknown"] * n, dtype=object)
    confidence = np.zeros(n)
    evidence = np.array(["none"] * n, dtype=object)
    stacked = np.stack([scores[r] for r in ROLES], axis=1)  # (n, 2)
    for k in range(n):
        row = stacked[k]
        if np.all(np.isnan(row)):
            continue
        best = int(np.nanargmax(row))
        if row[best] < cfg["av_min_score"]:
            continue
        other = row[1 - best]
        margin = row[best] - (other if np.isfinite(other) else 0.0)
        speaker[k] = ROLES[best]
        confidence[k] = float(1.0 / (1.0 + np.exp(-2.0 * margin)))
        evidence[k] = "face"
    cluster_role = _cluster_roles(seg, speaker, evidence, cfg)
    half = 0.5 * cfg["av_min_score"]
    for k in range(n):
        if evidence[k] != "face":
            # the faces, the voice cluster and pitch together (see the module notes)
            role, conf, source = cluster_role.get(seg["cluster"].iloc[k], ("unknown", 0.0, ""))
            verdict = _combine(stacked[k], role, source, half=half)
            if verdict is not None:
                speaker[k], evidence[k] = verdict
                confidence[k] = 0.5 if verdict[0] in ROLES else 0.0
                continue
        if evidence[k] == "face":
            # a narrow face decision on a mouth that barely moves yields to a voice cluster
            # that the faces clearly named elsewhere
            role, conf, _ = cluster_role.get(seg["cluster"].iloc[k], ("unknown", 0.0, ""))
            narrow = confidence[k] < cfg["av_face_sure"] and conf >= cfg["av_face_sure"]
            t, act = activity[str(speaker[k])]
            inside = (t >= seg["start"].iloc[k]) & (t < seg["end"].iloc[k])
            quiet = not inside.any() or float(np.mean(act[inside])) < cfg["av_overlap_score"]
            if not (narrow and quiet and role in ROLES and role != speaker[k]):
                continue
        role, conf, _ = cluster_role.get(seg["cluster"].iloc[k], ("unknown", 0.0, ""))
        speaker[k], confidence[k] = role, conf * float(seg["confidence"].iloc[k])
        evidence[k] = "voice" if role != "unknown" else "none"
    seg["speaker"] = speaker
    seg["confidence"] = confidence
    seg["evidence"] = evidence
    return seg


def _combine(scores: np.ndarray, role: str, source: str, *, half: float) -> tuple[str, str] | None:
    """Speaker and evidence of a segment no mouth decided, or None to keep the voice's role.

    ``scores``: the mouths' audio-visual scores (parent, child; NaN = not measured); ``role``
    and ``source`` (``face`` or ``pitch``): what the segment's voice cluster says and why.
    """
    seen = np.isfinite(scores)
    still = seen & (scores < half)
    lean = None
    if seen.all() and still.sum() == 1:
        lean = ROLES[int(np.flatnonzero(~still)[0])]
    if lean is not None:
        if role == lean or role not in ROLES or source == "pitch":
            return lean, "face"
        return "unknown", "none"  # the faces here and the faces elsewhere disagree
    if role in ROLES:
        named = ROLES.index(role)
        if still[named] and not seen[1 - named]:
            return "unknown", "none"  # the voice names someone seen silent; the other is unseen
        if still.all() and source == "pitch":
            return "unknown", "none"  # nobody is seen speaking, and pitch alone does not decide
    return None


def _cluster_roles(
    seg: pd.DataFrame, speaker: np.ndarray, evidence: np.ndarray, cfg: dict[str, Any]
) -> dict[str, tuple[str, float, str]]:
    """Role, its confidence and its source (``face`` or ``pitch``) for each cluster."""
    duration = (seg["end"] - seg["start"]).to_numpy(float)
    clusters = seg["cluster"].to_numpy()
    roles: dict[str, tuple[str, float, str]] = {}
    for c in pd.unique(clusters):
        mine = (clusters == c) & (evidence == "face")
        total = duration[mine].sum()
        if total >= cfg["av_cluster_min_s"]:
            shares = {r: duration[mine & (speaker == r)].sum() / total for r in ROLES}
            role = max(shares, key=lambda r: shares[r])
            if shares[role] >= cfg["av_cluster_share"]:
                roles[str(c)] = (role, float(shares[role]), "face")
    taken = {r for r, _, _ in roles.values()}
    trusted = pitch_tells_roles(seg, speaker, evidence, cfg)
    by_time = seg.assign(d=duration).groupby("cluster")["d"].sum().sort_values(ascending=False)
    for c in by_time.index:
        if str(c) in roles:
            continue
        guess = str(seg.loc[seg["cluster"] == c, "role_guess"].iloc[0])
        role = {"adult": "parent", "child": "child"}.get(guess, "unknown") if trusted else "unknown"
        if role in taken:
            role = "other" if role == "parent" else role
        roles[str(c)] = (role, 0.6 if role != "unknown" else 0.0, "pitch")
        if role in ROLES:
            taken.add(role)
    return roles


def pitch_tells_roles(
    seg: pd.DataFrame, speaker: np.ndarray, evidence: np.ndarray, cfg: dict[str, Any]
) -> bool:
    """Whether pitch may name a voice cluster's role in this session.

    Checked against the session's own speech that moving mouths attributed (at least
    ``pitch_check_min_s`` seconds with a pitch for a person to count): where the parent was seen
    speaking at a median pitch at or above ``child_pitch_hz`` (baby talk; the development mothers
    speak higher than their toddlers), the child below it, or the parent no lower than the
    child, a high voice is no sign of the child here, and a cluster's role from pitch alone is
    ``unknown``. True where the faces show nothing either way.
    """
    if "pitch_hz" not in seg:
        return True
    pitch = seg["pitch_hz"].to_numpy(float)
    duration = (seg["end"] - seg["start"]).to_numpy(float)
    limit = float(cfg["child_pitch_hz"])
    seen: dict[str, float] = {}
    for role in ROLES:
        mine = (evidence == "face") & (speaker == role) & np.isfinite(pitch)
        if duration[mine].sum() >= float(cfg["pitch_check_min_s"]):
            seen[role] = float(np.median(pitch[mine]))
    parent, child = seen.get("parent"), seen.get("child")
    if parent is not None and parent >= limit:
        return False  # the parent speaks in a child's range
    if child is not None and child < limit:
        return False  # the child speaks in an adult's range
    return parent is None or child is None or parent < child
