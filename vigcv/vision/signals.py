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
    return -np.asarray(gaze_yaw, dtype=float) * np.where(side == 0, 1.0, side)
