"""Per-person smile and looking-at signals from the landmarker's sparse measurements.

Both are logistic models with few parameters (in ``[vision]`` of the config), applied to each
person over the whole session so that a person's own baseline can be used:

- smile: the logit of the mean mouthSmile blendshape, averaged over neighbouring
  measurements (crops alternate with their mirror image), corrected for head turn (the
  blendshape drops on side views), optionally relative to the person's own low percentile (their
  resting face), then logistic. Frames with no measurement nearby get the person's mean smile
  probability over the session, or NaN.
- smile, second cue: the expression classifier's happy-to-neutral ratio (also on turned faces),
  combined with the first on the logit scale (:func:`combine_smile`).
- looking at the other: head yaw plus eye rotation towards the side where the other person is,
  logistic, then a running median.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
from scipy.special import expit

from vigcv.checks import require_probability


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function in float64 (:func:`scipy.special.expit`): NaN stays NaN, -inf gives 0
    and +inf 1, without overflow warnings. The callers check the result where it decides
    (:func:`vigcv.checks.require_probability`)."""
    return np.asarray(expit(np.asarray(x, dtype=float)), dtype=float)


def running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Centred running mean over ``window`` frames of the non-NaN values (NaN where none)."""
    s = pd.Series(values, dtype=float)
    if window <= 1:
        return s.to_numpy()
    return s.rolling(window, center=True, min_periods=1).mean().to_numpy()


def running_median(values: np.ndarray, window: int) -> np.ndarray:
    """Centred running median over ``window`` frames (NaN frames stay NaN)."""
    if window <= 1:
        return np.asarray(values, dtype=float)
    s = pd.Series(values, dtype=float)
    out = s.rolling(window, center=True, min_periods=1).median().to_numpy()
    return np.where(np.isnan(values), np.nan, out)


def hold(values: np.ndarray, max_frames: int) -> np.ndarray:
    """Fill NaNs within ``max_frames`` of a valid value (linear inside, held at the ends)."""
    s = pd.Series(values, dtype=float)
    if max_frames <= 0 or s.notna().sum() == 0:
        return s.to_numpy()
    return s.interpolate(limit=max_frames, limit_direction="both").to_numpy()


def smile_log_score(
    smile: np.ndarray,
    yaw: np.ndarray,
    *,
    smooth_frames: int,
    yaw_gain: float,
    yaw_max_deg: float = 60.0,
) -> np.ndarray:
    """Head-turn-corrected logit of the smile blendshape, averaged over nearby measurements.

    The logit equals the logarithm for the small values of webcam faces (0.001-0.3) and still
    separates values near 1 (rendered faces read ~0.75 at rest), so a person's own baseline can
    be subtracted in either case.

    Parameters
    ----------
    smile : ndarray, shape (n,)
        Mean mouthSmile blendshape 0..1 per analysed frame, NaN where not measured.
    yaw : ndarray, shape (n,)
        Head yaw in degrees at those frames (NaN counts as 0).
    smooth_frames : int
        Centred window (frames) of the mean over measurements.
    yaw_gain : float
        Natural-log units added per degree of ``|yaw|`` (up to ``yaw_max_deg``): the blendshape
        reads lower on turned faces.

    Returns
    -------
    ndarray, shape (n,)
        NaN where no measurement lies within the window.
    """
    smile = require_probability(smile, what="mouthSmile blendshape", allow_nan=True)
    s = np.clip(smile, 1e-4, 1.0 - 1e-4)
    log_s = np.log(s / (1.0 - s))  # logit: the log at webcam-face values, room above 0.5
    turn = np.minimum(np.abs(np.nan_to_num(np.asarray(yaw, dtype=float))), yaw_max_deg)
    return running_mean(log_s + yaw_gain * turn, smooth_frames)


def person_baseline(
    score: np.ndarray, *, quantile: float, prior: float, prior_frames: float
) -> float:
    """A person's resting smile level: a low quantile of their scores, shrunk to a prior.

    With ``k`` measured frames the result is ``(k * q + prior_frames * prior) / (k +
    prior_frames)``, so short sessions lean on the prior and long ones on the person.
    """
    valid = np.asarray(score, dtype=float)
    valid = valid[~np.isnan(valid)]
    if valid.size == 0:
        return prior
    q = float(np.quantile(valid, quantile))
    return (valid.size * q + prior_frames * prior) / (valid.size + prior_frames)


def smile_probability_series(
    score: np.ndarray,
    present: np.ndarray,
    *,
    threshold: float,
    log_scale: float,
    baseline: float,
    prior_baseline: float,
    relative: float,
    hold_frames: int,
    fill_with_rate: bool,
) -> np.ndarray:
    """Smile probability per frame from :func:`smile_log_score`.

    ``p = sigmoid((score - relative * (baseline - prior_baseline) - log(threshold)) /
    log_scale)``: with ``relative = 0`` the threshold is absolute; with 1 it moves with the
    person's own baseline (a face that reads high at rest, like rendered faces, or low, like a
    baby's). Gaps up to ``hold_frames`` are bridged; beyond them a present face gets the
    person's mean probability over the session when ``fill_with_rate`` (a best guess where the
    mouth cannot be measured, e.g. profiles), else NaN. Absent faces are NaN.
    """
    z = (score - relative * (baseline - prior_baseline) - np.log(threshold)) / log_scale
    p = hold(sigmoid(z), hold_frames)
    if fill_with_rate and np.any(~np.isnan(p)):
        rate = float(np.nanmean(sigmoid(z))) if np.any(~np.isnan(z)) else np.nan
        p = np.where(np.isnan(p), rate, p)
    return np.where(present, p, np.nan)


def happy_score(happy: np.ndarray, neutral: np.ndarray, *, smooth_frames: int) -> np.ndarray:
    """The expression classifier's ``log(happy / neutral)``, averaged over nearby frames.

    Happy against neutral, not against all other classes: the classifier's fear, surprise and
    anger also rise on a mouth opened to talk or to play "nom nom", which is no reason to doubt
    a smile (on the real clips the parent smile AUC of the 1.5 s mean is 0.85-0.88 for the ratio,
    0.81-0.82 for the logit of happy).

    Parameters
    ----------
    happy, neutral : ndarray, shape (n,)
        The two class probabilities 0..1 per analysed frame, NaN where not measured.
    smooth_frames : int
        Centred window (frames) of the mean over measurements.

    Returns
    -------
    ndarray, shape (n,)
        NaN where no measurement lies within the window.
    """
    happy = require_probability(happy, what="expression happy probability", allow_nan=True)
    neutral = require_probability(neutral, what="expression neutral probability", allow_nan=True)
    h = np.clip(happy, 1e-4, 1.0)
    n = np.clip(neutral, 1e-4, 1.0)
    return running_mean(np.log(h / n), smooth_frames)


def combine_smile(
    landmark_p: np.ndarray,
    happy: np.ndarray,
    present: np.ndarray,
    *,
    happy_weight: float,
    happy_ratio: float,
    landmark_weight: float,
    clip: float = 7.0,
) -> np.ndarray:
    """Smile probability from the landmarker's smile and the expression classifier's cue.

    ``p = sigmoid(happy_weight * (happy - log(happy_ratio)) + landmark_weight *
    clip(logit(landmark_p)))`` where ``happy`` (:func:`happy_score`) is measured (a missing
    landmarker smile adds 0), else ``landmark_p`` unchanged. ``happy_weight`` 0 keeps
    ``landmark_p`` everywhere. Absent faces are NaN.
    """
    landmark_p = require_probability(landmark_p, what="landmark smile probability", allow_nan=True)
    if happy_weight <= 0:
        return landmark_p
    lp = np.clip(landmark_p, 1e-6, 1.0 - 1e-6)
    landmark_logit = np.nan_to_num(np.clip(np.log(lp / (1.0 - lp)), -clip, clip))
    cue = happy_weight * (np.asarray(happy, dtype=float) - np.log(happy_ratio))
    z = cue + landmark_weight * landmark_logit
    p = np.where(np.isnan(z), landmark_p, sigmoid(z))
    return np.where(present, p, np.nan)


def looks_towards(gaze_yaw: np.ndarray, own_x: np.ndarray, other_x: np.ndarray) -> np.ndarray:
    """Degrees the gaze turns towards the other person's side of the image (negative: away).

    Parameters
    ----------
    gaze_yaw : ndarray, shape (n,)
        Gaze yaw in degrees (> 0 towards image left).
    own_x, other_x : ndarray, shape (n,)
        Horizontal head positions (any unit, same for both); NaN gives NaN.
    """
    side = np.sign(np.asarray(other_x, dtype=float) - np.asarray(own_x, dtype=float))
    # A head turned past 90 deg (the back towards the camera, from a full-range head pose) turns
    # sideways by as much as its mirror image in front: 170 deg is 10 deg to the left.
    sideways = np.degrees(np.arcsin(np.sin(np.radians(np.asarray(gaze_yaw, dtype=float)))))
    return -sideways * np.where(side == 0, 1.0, side)


def elevation_to(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Degrees above the horizontal (image up > 0) of the line to a point ``dx``, ``dy`` away
    in the image (pixels, y down); NaN gives NaN."""
    dx = np.abs(np.asarray(dx, dtype=float))
    return np.degrees(np.arctan2(-np.asarray(dy, dtype=float), dx))


def below_usual(
    pitch_below: np.ndarray,
    looks: np.ndarray,
    *,
    margin_deg: float,
    scale_deg: float = 2.0,
    min_frames: int = 25,
) -> np.ndarray:
    """Per frame, a factor 0..1 for a looks-at probability: near 0 where the gaze points more
    than ``margin_deg`` lower, relative to the other's face, than the person's own usual look at
    them, 1 elsewhere.

    ``pitch_below`` is the gaze pitch minus the elevation of the other's face (degrees, up > 0);
    the usual look is its median over the frames where ``looks`` is 0.5 or more. Each person and
    session has its own offset (head-pose bias, camera height), so only the difference from the
    person's own usual look is used. 1 where the pitch is unknown, with ``margin_deg`` <= 0, or
    with fewer than ``min_frames`` looks to take the usual one from.
    """
    d = np.asarray(pitch_below, dtype=float)
    ones = np.ones_like(d)
    if margin_deg <= 0:
        return ones
    with np.errstate(invalid="ignore"):
        usual = d[(np.asarray(looks, dtype=float) >= 0.5) & ~np.isnan(d)]
    if usual.size < min_frames:
        return ones
    cut = float(np.median(usual)) - margin_deg
    return np.where(np.isnan(d), 1.0, sigmoid((d - cut) / scale_deg))


def wider_than_usual(
    width: np.ndarray,
    detected: np.ndarray,
    *,
    ratio: float,
    scale: float = 0.02,
    min_frames: int = 25,
) -> np.ndarray:
    """Per frame, a factor 0..1 for a looks-at probability: near 0 where the person's face box
    is more than ``ratio`` times as wide as their own median over the frames where it was
    detected, 1 elsewhere.

    A face box narrows as the head turns from the camera and widens as it turns to it; relative
    to the person's own median it does not depend on their face size or distance. A face much
    wider than usual is turned to the camera (or brought up to it), not to someone beside it.
    1 where the width is unknown, with ``ratio`` <= 0, or with fewer than ``min_frames``
    detected frames to take the median from.
    """
    w = np.asarray(width, dtype=float)
    ones = np.ones_like(w)
    if ratio <= 0:
        return ones
    seen = w[(np.asarray(detected, dtype=float) >= 1.0) & np.isfinite(w) & (w > 0)]
    if seen.size < min_frames:
        return ones
    rel = w / float(np.median(seen))
    return np.where(np.isfinite(rel), sigmoid((ratio - rel) / scale), 1.0)


def mixture_cut(values: np.ndarray) -> float:
    """Where a two-group Gaussian mixture of ``values`` (scikit-learn) changes its mind: the
    value between the two means at which the upper group's posterior reaches 0.5. Unlike
    isodata's midpoint it follows the groups' spreads: a tight group of looks elsewhere and a
    wide one of looks at someone cut near the tight group's edge. NaN where no cut lies between.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)].reshape(-1, 1)
    if v.shape[0] < 2 or float(np.ptp(v)) == 0.0:
        return float("nan")
    start = np.quantile(v, [0.25, 0.75]).reshape(-1, 1)
    gm = GaussianMixture(2, means_init=start, reg_covar=1.0, max_iter=50, random_state=0)
    with warnings.catch_warnings():  # 50 EM steps place the cut well enough
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(v)
    means = gm.means_.ravel()
    hi = int(np.argmax(means))
    grid = np.linspace(means.min(), means.max(), 256)
    above = gm.predict_proba(grid.reshape(-1, 1))[:, hi] >= 0.5
    return float(grid[int(np.argmax(above))]) if above.any() and not above[0] else float("nan")


def session_threshold(
    values: np.ndarray,
    *,
    low: float,
    high: float,
    fallback: float,
    min_frames: int = 10,
    method: str = "isodata",
) -> float:
    """A person's own split of one measure over the session, kept within ``low..high``.

    ``method`` "isodata": the isodata threshold of its values (Ridler and Calvard: the cut midway
    between the means of the two groups it makes, looking at someone and looking elsewhere;
    Otsu's cut lands at the edge of a gap instead); "mixture": :func:`mixture_cut`; "lower":
    the lower of the two. ``fallback`` with fewer than ``min_frames`` values or no spread, or
    where no cut is found (most values equal and a few far off:
    ``skimage.filters.threshold_isodata`` then finds no threshold and raises IndexError).
    """
    from skimage.filters import threshold_isodata

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < min_frames or float(np.ptp(v)) == 0.0:
        return float(fallback)
    cuts = []
    if method in ("isodata", "lower"):
        with contextlib.suppress(IndexError):  # isodata found no cut
            cuts.append(float(threshold_isodata(v)))
    if method in ("mixture", "lower"):
        cuts.append(mixture_cut(v))
    cuts = [c for c in cuts if not np.isnan(c)]
    return float(np.clip(min(cuts), low, high)) if cuts else float(fallback)


def rolling_split(
    values: np.ndarray,
    *,
    window: int,
    step: int,
    low: float,
    high: float,
    fallback: float,
    min_frames: int = 10,
    method: str = "isodata",
) -> np.ndarray:
    """A person's own split (:func:`session_threshold`) over a sliding window, per frame.

    The cut is computed every ``step`` frames over the ``window`` frames centred there (the
    whole series where it is shorter) and interpolated between; NaN values are left out of
    each split. A film whose stretches differ (a game of looks, then a long look at a book)
    gets the cut of the stretch, not of the whole session.
    """
    v = np.asarray(values, dtype=float)
    n = v.size
    if n == 0:
        return np.zeros(0)
    half = max(1, int(window)) // 2
    if n <= 2 * half + 1:
        cut = session_threshold(
            v, low=low, high=high, fallback=fallback, min_frames=min_frames, method=method
        )
        return np.full(n, cut)
    centres = np.unique(np.r_[np.arange(0, n, max(1, int(step))), n - 1])
    cuts = [
        session_threshold(
            v[max(0, c - half) : c + half + 1],
            low=low,
            high=high,
            fallback=fallback,
            min_frames=min_frames,
            method=method,
        )
        for c in centres
    ]
    return np.interp(np.arange(n), centres, cuts)


def person_neutral(score: np.ndarray, *, quantile: float) -> tuple[float, int]:
    """A person's neutral level of one smile cue over the session, and how many frames it rests on.

    The ``quantile`` (0..1) of the person's measured values (0.5: the median, as OpenFace takes
    a person's neutral face to be the typical one). NaN and 0 where nothing was measured.
    """
    valid = np.asarray(score, dtype=float)
    valid = valid[~np.isnan(valid)]
    if valid.size == 0:
        return float("nan"), 0
    return float(np.quantile(valid, quantile)), int(valid.size)


def relative_to_neutral(
    score: np.ndarray, neutral: float, frames: int, *, prior: float, prior_frames: float
) -> np.ndarray:
    """``score`` minus the person's own neutral level, that level shrunk to ``prior``.

    The subtracted level is ``prior + w * (neutral - prior)`` with ``w = frames / (frames +
    prior_frames)``: ``prior_frames`` 0 makes the score fully relative to the person, infinity
    leaves it absolute (minus the constant prior); between, short sessions lean on the prior.
    """
    score = np.asarray(score, dtype=float)
    if np.isnan(neutral) or frames <= 0:
        return score - prior
    w = 0.0 if np.isinf(prior_frames) else frames / (frames + max(0.0, prior_frames))
    return score - (prior + w * (neutral - prior))


def calibrated_smile(
    smile_rel: np.ndarray,
    happy_rel: np.ndarray,
    present: np.ndarray,
    *,
    coef: list[float] | tuple[float, ...],
) -> np.ndarray:
    """Smile probability from the two person-relative cues through a fitted logistic.

    ``coef = (a_s, d_s, a_h, d_h, c)``: ``z = c + (a_s * smile_rel or d_s where it is not
    measured) + (a_h * happy_rel or d_h where not measured)``, ``p = sigmoid(z)``; NaN where
    neither cue is measured or the face is absent. The coefficients come from
    :func:`fit_logistic` on coded frames of other families (scripts/bench_vision.py).
    """
    a_s, d_s, a_h, d_h, c = (float(v) for v in coef)
    s = np.asarray(smile_rel, dtype=float)
    h = np.asarray(happy_rel, dtype=float)
    z = c + np.where(np.isnan(s), d_s, a_s * s) + np.where(np.isnan(h), d_h, a_h * h)
    z = np.where(np.isnan(s) & np.isnan(h), np.nan, z)
    return np.where(present, sigmoid(z), np.nan)


def smile_design(smile_rel: np.ndarray, happy_rel: np.ndarray) -> np.ndarray:
    """The columns :func:`calibrated_smile` weighs, in its ``coef`` order (without ``c``):
    each cue (0 where not measured) and its not-measured indicator."""
    cols = []
    for v in (np.asarray(smile_rel, dtype=float), np.asarray(happy_rel, dtype=float)):
        cols += [np.nan_to_num(v, nan=0.0), np.isnan(v).astype(float)]
    return np.stack(cols, axis=1)


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, iters: int = 50) -> np.ndarray:
    """Logistic regression by Newton's method with an L2 penalty on the weights (not the
    intercept). Returns the weights followed by the intercept."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xa = np.hstack([x, np.ones((x.shape[0], 1))])
    w = np.zeros(xa.shape[1])
    pen = np.full(xa.shape[1], l2)
    pen[-1] = 0.0
    for _ in range(iters):
        p = sigmoid(xa @ w)
        grad = xa.T @ (p - y) + pen * w
        hess = (xa * (p * (1 - p))[:, None]).T @ xa + np.diag(pen + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w


def reliability_bins(p: np.ndarray, y: np.ndarray, *, bins: int = 10) -> pd.DataFrame:
    """Per equal-width probability bin that holds frames: ``lo``, ``hi`` (the bin's edges),
    ``mean_p`` (the mean probability said), ``rate`` (the share of those frames coded yes) and
    ``n``: a reliability diagram's points. Frames without a probability or a code are left out.
    """
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = ~np.isnan(p) & ~np.isnan(y)
    p, y = p[keep], y[keep]
    b = np.minimum((p * bins).astype(int), bins - 1)
    rows = [
        {
            "lo": i / bins,
            "hi": (i + 1) / bins,
            "mean_p": float(p[b == i].mean()),
            "rate": float(y[b == i].mean()),
            "n": int(np.sum(b == i)),
        }
        for i in range(bins)
        if np.any(b == i)
    ]
    return pd.DataFrame(rows, columns=["lo", "hi", "mean_p", "rate", "n"])


def expected_calibration_error(p: np.ndarray, y: np.ndarray, *, bins: int = 10) -> float:
    """Expected calibration error over ``bins`` equal-width probability bins: the frame-weighted
    mean of |mean probability - observed rate| per bin (:func:`reliability_bins`). Frames
    without a probability are left out; NaN when none is left."""
    table = reliability_bins(p, y, bins=bins)
    if table.empty:
        return float("nan")
    gap = np.abs(table["mean_p"] - table["rate"])
    return float(np.sum(table["n"] * gap) / table["n"].sum())
