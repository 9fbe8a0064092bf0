"""Who speaks when, from the sound alone: clustering of spectral features, then resegmentation.

1. Speech frames (20 ms) get mean/variance-normalised MFCCs (c1-c19; c0, the loudness, is left
   out so that distance to the microphone does not split a speaker).
2. Sliding windows inside each speech segment are summarised by the mean and standard deviation
   of those MFCCs and clustered agglomeratively (average linkage, cosine distance, cut at a
   threshold), so the number of speakers is found, not given.
3. Each cluster gets a full-covariance Gaussian over frame MFCCs; frame log-likelihoods are
   smoothed and decoded with a Viterbi pass per speech segment that pays a penalty for each
   speaker change. This is the sliding-window change detection: boundaries land where the
   likelihood ratio of two speakers' models crosses over, at frame precision. Clusters are then
   merged while the Bayesian information criterion prefers one speaker, except two whose voices
   differ: the mean cosine between their speaker-embedding windows (step 4's) falls more than
   ``voice_merge_margin`` below the mean within each. The BIC over 19-dimensional full-covariance
   MFCC models pays a penalty that a few seconds of a voice cannot outweigh, so it merged short
   turns of different people (six broadcast voices of 3-5 s each into two); the voice check is
   relative to the recording's own spread of one voice, not an absolute similarity (a telephone
   line makes two people's windows 0.84 alike, two broadcast voices 0.6).
4. Turns too short for MFCC statistics (a 0.8 s reply inside a stretch of talk) are found by a
   speaker-embedding model (:mod:`vigcv.audio.voice_encoder`): short windows (``embed_window_s``,
   every ``embed_hop_s``) inside speech become d-vectors, centred on the recording's mean; each
   speaker's centroid comes from the windows that lie within that speaker's MFCC turns; every
   frame scores ``embed_scale`` x the cosine of the window centred on it with each centroid, plus
   ``embed_mfcc_weight`` x the Gaussians' log-likelihood, and a last Viterbi pass (penalty
   ``embed_change_penalty``) draws the final turns. The number of speakers stays the one found
   by the MFCC clustering, which is steadier than thresholds on embedding distances.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.ndimage import uniform_filter1d

from vigcv.audio import campplus, voice_encoder
from vigcv.audio.features import HOP_S, AcousticFrames
from vigcv.types import Segment

LABELS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def speech_mask(segments: list[Segment], *, n: int, hop_s: float = HOP_S) -> np.ndarray:
    """Segment index of each frame (``-1`` outside speech), shape (n,)."""
    owner = np.full(n, -1, dtype=int)
    centres = np.arange(n) * hop_s
    for k, seg in enumerate(segments):
        lo, hi = np.searchsorted(centres, [seg.start, seg.end])
        owner[lo:hi] = k
    return owner


def _windows(owner: np.ndarray, *, win: int, hop: int, min_len: int) -> list[np.ndarray]:
    """Frame index arrays of sliding windows inside each segment."""
    out = []
    for k in np.unique(owner[owner >= 0]):
        idx = np.flatnonzero(owner == k)
        if idx.size < min_len:
            continue
        if idx.size <= win:
            out.append(idx)
            continue
        starts = list(range(0, idx.size - win + 1, hop))
        if starts[-1] + win < idx.size:
            starts.append(idx.size - win)
        out.extend(idx[s : s + win] for s in starts)
    return out


class _Gaussian:
    """A full-covariance Gaussian with a little diagonal loading."""

    def __init__(self, x: np.ndarray) -> None:
        self.mean = x.mean(axis=0)
        cov = np.cov(x, rowvar=False) + 0.05 * np.eye(x.shape[1])
        self.inv = np.linalg.inv(cov)
        self.logdet = float(np.linalg.slogdet(cov)[1])

    def loglik(self, x: np.ndarray) -> np.ndarray:
        d = x - self.mean
        return -0.5 * (np.einsum("ij,jk,ik->i", d, self.inv, d) + self.logdet)


def _viterbi(loglik: np.ndarray, *, penalty: float) -> np.ndarray:
    """Best state path, shape (n,), for (n, k) log-likelihoods and a per-switch penalty."""
    n, k = loglik.shape
    score = loglik[0].copy()
    back = np.zeros((n, k), dtype=int)
    for t in range(1, n):
        best = int(np.argmax(score))
        stay = score
        move = score[best] - penalty
        back[t] = np.where(stay >= move, np.arange(k), best)
        score = np.maximum(stay, move) + loglik[t]
    path = np.zeros(n, dtype=int)
    path[-1] = int(np.argmax(score))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def cluster_speakers(
    frames: AcousticFrames,
    segments: list[Segment],
    *,
    config: dict[str, Any],
    cluster_on: str | None = None,
) -> pd.DataFrame:
    """Speaker-homogeneous segments with anonymous cluster labels.

    Parameters
    ----------
    frames : AcousticFrames
        Features on the 20 ms grid.
    segments : list of Segment
        Speech segments (voice activity).
    config : dict
        The ``[audio]`` section: ``window_s``, ``window_hop_s``, ``cluster_threshold``,
        ``max_speakers``, ``min_cluster_s``, ``change_penalty``, ``smooth_s``, ``bic_weight``,
        ``cluster_ceps``, ``model_ceps``, ``resegment_passes``.
    cluster_on : {"mfcc", "ge2e", "campplus"}, optional
        What summarises each clustering window: its MFCC means and standard deviations, its
        GE2E voice-encoder d-vector or its CAM++ embedding (:mod:`vigcv.audio.campplus`), both
        centred on the recording's mean ("embeddings" is an old name of "ge2e"). Default: the
        config's ``cluster_on`` (measured leave-one-recording-out by
        ``scripts/bench_speakers.py``; docs/benchmarks.md).

    Returns
    -------
    DataFrame
        Columns ``start``, ``end`` (s), ``cluster`` (``A``, ``B``, … by decreasing speech time),
        ``confidence`` (0..1, mean posterior of the chosen cluster over the segment's frames).
    """
    columns = ["start", "end", "cluster", "confidence"]
    n = frames.mfcc.shape[0]
    owner = speech_mask(segments, n=n)
    if not np.any(owner >= 0):
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    sp = owner >= 0
    x = _normalised(frames.mfcc[:, 1 : 1 + int(config["model_ceps"])], sp)
    xc = _normalised(frames.mfcc[:, 1 : 1 + int(config["cluster_ceps"])], sp)
    win = max(2, round(config["window_s"] / HOP_S))
    hop = max(1, round(config["window_hop_s"] / HOP_S))
    windows = _windows(owner, win=win, hop=hop, min_len=max(5, win // 3))
    on = str(config["cluster_on"] if cluster_on is None else cluster_on)
    if on in ("embeddings", "ge2e"):
        summary = _window_dvectors(frames, windows, owner)
    elif on == "campplus":
        summary = _window_campplus(frames, windows)
    elif on != "mfcc":
        raise ValueError(f"cluster_on must be 'mfcc', 'ge2e' or 'campplus', not {on!r}")
    else:
        summary = _window_mfcc_stats(xc, windows)
    labels = _cluster_windows(summary, windows, config=config)
    # frame labels for training the speaker models (first window wins)
    frame_label = np.full(n, -1, dtype=int)
    for idx, lab in zip(windows, labels, strict=True):
        free = frame_label[idx] < 0
        frame_label[idx[free]] = lab
    k = int(labels.max()) + 1 if labels.size else 1
    if labels.size == 0:
        frame_label[sp] = 0
    models = [_Gaussian(x[frame_label == j]) for j in range(k) if np.sum(frame_label == j) > 20]
    if not models:
        models = [_Gaussian(x[sp])]
    smooth = max(1, round(config["smooth_s"] / HOP_S))
    for _ in range(int(config["resegment_passes"])):
        path = _resegment(x, owner, models, smooth=smooth, penalty=config["change_penalty"])
        models = [_Gaussian(x[path == j]) for j in range(len(models)) if np.sum(path == j) > 20]
        if not models:  # too little speech to keep any speaker apart: one speaker
            models = [_Gaussian(x[sp])]
    path = _resegment(x, owner, models, smooth=smooth, penalty=config["change_penalty"])
    voices = None
    if config["speaker_embeddings"] and len(models) > 1:
        voices = _voice_windows(frames, segments, owner, config=config)
    for _ in range(len(models)):  # merge the closest pair while the BIC prefers one speaker
        kept = [j for j in range(int(path.max()) + 1) if np.sum(path == j) > 20]
        groups = [x[path == j] for j in kept]
        apart = None
        if voices is not None and voices[0].shape[0] >= 2:
            apart = _voices_apart(voices, path, kept, margin=config["voice_merge_margin"])
        pair = _closest_pair(groups, weight=config["bic_weight"], apart=apart)
        if pair is None:
            models = [_Gaussian(g) for g in groups] or [_Gaussian(x[sp])]
            break
        a, b = pair
        merged = np.concatenate([groups[a], groups[b]])
        groups = [g for i, g in enumerate(groups) if i not in pair] + [merged]
        models = [_Gaussian(g) for g in groups]
        path = _resegment(x, owner, models, smooth=smooth, penalty=config["change_penalty"])
    path = _resegment(x, owner, models, smooth=smooth, penalty=config["change_penalty"])
    ll = uniform_filter1d(
        np.stack([m.loglik(x) for m in models], axis=1), size=smooth, axis=0, mode="nearest"
    )
    if voices is not None and len(models) > 1:
        emb = _embedding_scores(voices, path, purity=config["embed_purity"])
        ll = config["embed_scale"] * emb + config["embed_mfcc_weight"] * (
            ll - ll.max(axis=1, keepdims=True)
        )
        path = np.full(n, -1, dtype=int)
        for s in np.unique(owner[owner >= 0]):
            idx = np.flatnonzero(owner == s)
            path[idx] = _viterbi(ll[idx], penalty=config["embed_change_penalty"])
    prob = np.exp(ll - ll.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    post = prob[np.arange(n), np.maximum(path, 0)]
    return _runs_to_segments(path, post, owner, segments)


def embedding_windows(segments: list[Segment], *, window_s: float, hop_s: float) -> np.ndarray:
    """``[start, stop)`` mel-frame spans of windows inside speech, shape (k, 2), int.

    Window centres step by ``hop_s`` through each segment; a segment shorter than ``window_s``
    is one window of its own length (at least 5 frames).
    """
    step = voice_encoder.MEL_HOP_S
    length = max(5, round(window_s / step))
    spans = []
    for seg in segments:
        lo, hi = round(seg.start / step), round(seg.end / step)
        if hi - lo <= length:
            spans.append((lo, max(hi, lo + 5)))
            continue
        starts = np.arange(lo, hi - length + 1, max(1, round(hop_s / step)))
        spans.extend((int(a), int(a) + length) for a in starts)
    return np.array(spans, dtype=int).reshape(-1, 2)


def _embedding_scores(
    voices: tuple[np.ndarray, np.ndarray], path: np.ndarray, *, purity: float
) -> np.ndarray:
    """Cosine of each frame's d-vector with each speaker's centroid, shape (n, k).

    The window d-vectors (:func:`_voice_windows`) are centred on the recording's mean; each
    speaker's centroid comes from the windows at least ``purity`` of whose frames the path gives
    that speaker; each frame takes the cosines of the windows around it, interpolated."""
    n, k = path.size, int(path.max()) + 1
    vectors, spans = voices
    if vectors.shape[0] < 2:
        return np.zeros((n, k))
    vectors = vectors - vectors.mean(axis=0)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
    lo, hi = _grid_spans(spans, n)
    centroids = np.zeros((k, vectors.shape[1]))
    for j in range(k):
        inside = _window_share(path, j, lo, hi) >= purity
        if inside.any():
            c = vectors[inside].mean(axis=0)
            centroids[j] = c / (np.linalg.norm(c) + 1e-9)
    sim = vectors @ centroids.T
    centres = spans.mean(axis=1) * voice_encoder.MEL_HOP_S
    t = np.arange(n) * HOP_S
    return np.stack([np.interp(t, centres, sim[:, j]) for j in range(k)], axis=1)


def _voice_windows(
    frames: AcousticFrames, segments: list[Segment], owner: np.ndarray, *, config: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Unit d-vectors of short windows inside speech (``embed_window_s``, every
    ``embed_hop_s``) and their ``[start, stop)`` mel-frame spans, shapes (m, 256), (m, 2)."""
    mel = frames.log_mel
    spans = embedding_windows(
        segments, window_s=config["embed_window_s"], hop_s=config["embed_hop_s"]
    )
    spans = spans[spans[:, 1] <= mel.shape[0]]
    if spans.shape[0] < 2:
        return np.zeros((0, voice_encoder.HIDDEN)), np.zeros((0, 2), dtype=int)
    gain = _speech_gain(frames, owner)
    vectors = voice_encoder.embed(mel, spans, gain=gain).astype(np.float64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
    return vectors, spans


def _speech_gain(frames: AcousticFrames, owner: np.ndarray) -> float:
    """The voice encoder's loudness gain for this recording's speech frames (``owner >= 0``)."""
    speech_power = 10 ** (frames.db[owner >= 0].astype(np.float64) / 10)
    return voice_encoder.loudness_gain(float(speech_power.mean()))


def _grid_spans(spans: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mel-frame (10 ms) ``[start, stop)`` spans as ``lo``, ``hi`` on the n-frame 20 ms grid."""
    ratio = round(HOP_S / voice_encoder.MEL_HOP_S)
    lo = np.minimum(spans[:, 0] // ratio, n - 1)
    return lo, np.clip(spans[:, 1] // ratio, lo + 1, n)


def _window_share(path: np.ndarray, cluster: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The share of each window's grid frames ``[lo, hi)`` that ``path`` gives ``cluster``."""
    counts = np.concatenate([[0], np.cumsum(path == cluster)])
    return (counts[hi] - counts[lo]) / (hi - lo)


def _voices_apart(
    voices: tuple[np.ndarray, np.ndarray], path: np.ndarray, kept: list[int], *, margin: float
) -> np.ndarray:
    """Which pairs of clusters (indices into ``kept``) sound like two people, (k, k) bool.

    Each window belongs to the cluster holding at least 80% of its frames. Two clusters are two
    voices when the mean cosine between their windows falls more than ``margin`` below the mean
    cosine among each one's own windows: a comparison with the recording's own spread of one
    voice, not an absolute similarity (a telephone line makes two people 0.84 alike, two
    broadcast voices 0.6). A cluster without two windows of its own is never apart.
    """
    vectors, spans = voices
    lo, hi = _grid_spans(spans, path.size)
    owner = np.full(len(spans), -1)
    for j, c in enumerate(kept):
        owner[_window_share(path, c, lo, hi) >= 0.8] = j
    # mean cosines of unit vectors from their sums (no window-by-window matrix: a long film has
    # thousands of windows): within a cluster of m, (|sum|^2 - m) / (m (m - 1)) over its pairs
    count = np.array([np.sum(owner == j) for j in range(len(kept))], dtype=float)
    total = np.stack([vectors[owner == j].sum(axis=0) for j in range(len(kept))])
    enough = count > 1
    within = np.full(len(kept), np.nan)
    within[enough] = (np.sum(total[enough] ** 2, axis=1) - count[enough]) / (
        count[enough] * (count[enough] - 1)
    )
    between = (total @ total.T) / np.maximum(np.outer(count, count), 1.0)
    apart = between < (within[:, None] + within[None, :]) / 2 - margin
    apart &= np.outer(enough, enough)
    np.fill_diagonal(apart, False)
    return apart


def _normalised(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``x`` as float64 with zero mean and unit variance over ``rows``."""
    x = x.astype(np.float64)
    return (x - x[rows].mean(axis=0)) / (x[rows].std(axis=0) + 1e-6)


def _resegment(
    x: np.ndarray, owner: np.ndarray, models: list[_Gaussian], *, smooth: int, penalty: float
) -> np.ndarray:
    """Viterbi speaker path per speech segment (``-1`` outside speech), shape (n,)."""
    ll = np.stack([m.loglik(x) for m in models], axis=1)
    ll = uniform_filter1d(ll, size=smooth, axis=0, mode="nearest")
    path = np.full(x.shape[0], -1, dtype=int)
    for s in np.unique(owner[owner >= 0]):
        idx = np.flatnonzero(owner == s)
        path[idx] = _viterbi(ll[idx], penalty=penalty)
    return path


def _delta_bic(a: np.ndarray, b: np.ndarray, *, weight: float) -> float:
    """BIC gain of modelling two frame sets as two speakers rather than one (< 0: one)."""
    both = np.concatenate([a, b])
    d = both.shape[1]
    n, na, nb = both.shape[0], a.shape[0], b.shape[0]

    def logdet(v: np.ndarray) -> float:
        return float(np.linalg.slogdet(np.cov(v, rowvar=False) + 1e-3 * np.eye(d))[1])

    gain = 0.5 * (n * logdet(both) - na * logdet(a) - nb * logdet(b))
    params = d + d * (d + 1) / 2
    return gain - weight * 0.5 * params * np.log(n)


def _closest_pair(
    groups: list[np.ndarray], *, weight: float, apart: np.ndarray | None = None
) -> tuple[int, int] | None:
    """The pair of clusters with the lowest BIC gain, if it is below zero (pairs marked in
    ``apart`` left out)."""
    best, pair = 0.0, None
    for i in range(len(groups)):
        for j in range(i + 1, len(groups)):
            if apart is not None and apart[i, j]:
                continue
            gain = _delta_bic(groups[i], groups[j], weight=weight)
            if gain < best:
                best, pair = gain, (i, j)
    return pair


def _window_mfcc_stats(x: np.ndarray, windows: list[np.ndarray]) -> np.ndarray:
    """Each window's MFCC mean and standard deviation, standardised over windows, (k, 2d)."""
    if not windows:
        return np.zeros((0, 2 * x.shape[1]))
    emb = np.stack([np.concatenate([x[i].mean(axis=0), x[i].std(axis=0)]) for i in windows])
    return (emb - emb.mean(axis=0)) / (emb.std(axis=0) + 1e-6)


def _window_dvectors(
    frames: AcousticFrames, windows: list[np.ndarray], owner: np.ndarray
) -> np.ndarray:
    """Each window's voice-encoder d-vector, centred on the recording's mean, shape (k, 256)."""
    if not windows:
        return np.zeros((0, voice_encoder.HIDDEN))
    spans = _window_spans(windows, voice_encoder.MEL_HOP_S, frames.log_mel.shape[0])
    gain = _speech_gain(frames, owner)
    vectors = voice_encoder.embed(frames.log_mel, spans, gain=gain).astype(np.float64)
    return vectors - vectors.mean(axis=0)


def _window_spans(windows: list[np.ndarray], hop_s: float, n: int) -> np.ndarray:
    """Each clustering window's ``[start, stop)`` rows on a finer grid of ``n`` rows ``hop_s``
    apart (the embedding models' 10 ms features), kept inside the grid."""
    ratio = round(HOP_S / hop_s)
    return np.array(
        [(min(int(i[0]) * ratio, n - 1), min((int(i[-1]) + 1) * ratio, n)) for i in windows]
    )


def _window_campplus(frames: AcousticFrames, windows: list[np.ndarray]) -> np.ndarray:
    """Each window's CAM++ embedding, centred on the recording's mean, shape (k, 192)."""
    if not windows:
        return np.zeros((0, campplus.DIM))
    if frames.fbank.shape[0] == 0:
        raise ValueError(
            "these acoustic frames have no filter bank: extract them with "
            "[audio] cluster_on = 'campplus' (acoustic_frames(with_fbank=True))"
        )
    spans = _window_spans(windows, campplus.HOP_S, frames.fbank.shape[0])
    vectors = campplus.embed(frames.fbank, spans).astype(np.float64)
    return vectors - vectors.mean(axis=0)


def _cluster_windows(
    emb: np.ndarray, windows: list[np.ndarray], *, config: dict[str, Any]
) -> np.ndarray:
    """Cluster index of each window (rows of ``emb``), ``0..k-1``."""
    if len(windows) < 2:
        return np.zeros(len(windows), dtype=int)
    tree = linkage(emb, method="average", metric="cosine")
    labels = fcluster(tree, t=config["cluster_threshold"], criterion="distance") - 1
    max_k = int(config["max_speakers"])
    if labels.max() + 1 > max_k:
        labels = fcluster(tree, t=max_k, criterion="maxclust") - 1
    # fold clusters with too little speech into the nearest big one
    size = np.array(
        [sum(windows[i].size for i in np.flatnonzero(labels == j)) for j in range(labels.max() + 1)]
    )
    big = np.flatnonzero(size * HOP_S >= config["min_cluster_s"])
    if big.size == 0:
        big = np.array([int(np.argmax(size))])
    centres = np.stack([emb[labels == j].mean(axis=0) for j in big])
    for i in np.flatnonzero(~np.isin(labels, big)):
        sim = centres @ emb[i] / (np.linalg.norm(centres, axis=1) * np.linalg.norm(emb[i]) + 1e-9)
        labels[i] = big[int(np.argmax(sim))]
    remap = {int(j): r for r, j in enumerate(big)}
    return np.array([remap[int(v)] for v in labels])


def _runs_to_segments(
    path: np.ndarray, post: np.ndarray, owner: np.ndarray, segments: list[Segment]
) -> pd.DataFrame:
    """Runs of one cluster inside one speech segment, labelled A, B, … by speech time."""
    rows = []
    for s, seg in enumerate(segments):
        idx = np.flatnonzero(owner == s)
        if idx.size == 0:
            continue
        p = path[idx]
        cuts = np.flatnonzero(np.diff(p)) + 1
        bounds = [0, *cuts.tolist(), idx.size]
        for a, b in itertools.pairwise(bounds):
            start = seg.start if a == 0 else float(idx[a]) * HOP_S
            end = seg.end if b == idx.size else float(idx[b]) * HOP_S
            rows.append((start, end, int(p[a]), float(np.mean(post[idx[a:b]]))))
    table = pd.DataFrame(rows, columns=["start", "end", "cluster", "confidence"])
    totals = (table["end"] - table["start"]).groupby(table["cluster"]).sum()
    order = totals.sort_values(ascending=False, kind="stable").index
    names = {int(c): LABELS[i % len(LABELS)] for i, c in enumerate(order)}
    table["cluster"] = table["cluster"].map(names)
    return table
