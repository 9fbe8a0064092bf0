"""The session's audio: scripted phrases placed in time, mixed with low room noise.

Each phrase is synthesised (:mod:`vigcv.synth.voice`), cut to its voiced extent and placed so that
the voice starts at the event's start; answers start a scripted delay after the end of the latest
utterance listed before them by someone else (with two people: the other person's). Everyone's
voices are mixed into one track. The result also gives the ground truth of who speaks when
(voiced stretches per person, split at pauses of 0.15 s or more) and a per-person loudness
envelope that opens the speaker's mouth.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import lfilter

from vigcv.intervals import true_runs
from vigcv.synth.script import Event, Script
from vigcv.synth.voice import synthesize_fresh
from vigcv.types import Segment

_HOP_S = 0.01  # envelope hop, seconds
_SILENCE_DB = -30.0  # below the phrase's peak envelope = silence
_MIN_PAUSE_S = 0.15  # pauses at least this long split an utterance in the RTTM
_NOISE_RMS = 0.0025  # room noise level (about -52 dBFS)
_GAIN = {"parent": 0.55, "child": 0.5, "sibling": 0.5, "parent2": 0.55}


@dataclass(frozen=True)
class Soundtrack:
    """Mixed audio and the speech truth.

    Attributes
    ----------
    audio : ndarray, shape (n,), float32
        Mono mix in -1..1 at ``rate``.
    rate : int
        Sample rate, Hz.
    events : tuple of Event
        The script's events with every ``say`` resolved (start and end of its voiced extent).
    speech : dict of str to list of Segment
        Voiced stretches per role (what the RTTM says).
    envelope : dict of str to ndarray
        Per role, loudness 0..1 every 10 ms (``_HOP_S``), normalised per phrase.
    """

    audio: np.ndarray
    rate: int
    events: tuple[Event, ...]
    speech: dict[str, list[Segment]]
    envelope: dict[str, np.ndarray]

    def mouth_open(self, role: str, times: np.ndarray) -> np.ndarray:
        """Jaw opening 0..0.5 of ``role`` at ``times`` (seconds) from its speech envelope."""
        env = self.envelope[role]
        idx = np.clip(np.round(np.asarray(times) / _HOP_S).astype(int), 0, len(env) - 1)
        return np.clip(0.5 * env[idx] ** 0.7, 0.0, 0.5)


def _frame_db(wave: np.ndarray, hop: int) -> np.ndarray:
    n = len(wave) // hop
    rms = np.sqrt((wave[: n * hop].reshape(n, hop).astype(np.float64) ** 2).mean(axis=1) + 1e-12)
    return 20 * np.log10(rms / max(rms.max(), 1e-9))


def _voiced_runs(db: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) hop indices of runs above the silence level, merged over short pauses."""
    on = db > _SILENCE_DB
    runs = true_runs(on)
    merged: list[tuple[int, int]] = []
    min_pause = round(_MIN_PAUSE_S / _HOP_S)
    for a, b in runs:
        if merged and a - merged[-1][1] < min_pause:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return [(a, b) for a, b in merged if b - a >= 3]


def room_noise(n: int, *, rng: np.random.Generator) -> np.ndarray:
    """Low, slightly coloured (pinkish) noise: float32, RMS about ``_NOISE_RMS``."""
    white = rng.standard_normal(n)
    pink = lfilter(
        [0.049922, -0.095993, 0.050612, -0.004408], [1, -2.494956, 2.017265, -0.522189], white
    )
    pink *= _NOISE_RMS / max(float(np.std(pink)), 1e-12)
    return pink.astype(np.float32)


def build_soundtrack(script: Script, *, rate: int, rng: np.random.Generator) -> Soundtrack:
    """Synthesise and mix every ``say`` of ``script`` (already jittered).

    Parameters
    ----------
    script : Script
        The session script; ``say`` events are resolved in the order they are listed.
    rate : int
        Output sample rate, Hz.
    rng : Generator
        For the room noise.
    """
    n = round(script.duration * rate)
    hop = round(_HOP_S * rate)
    n_hops = n // hop + 1
    audio = room_noise(n, rng=rng)
    speech: dict[str, list[Segment]] = {r: [] for r in script.roles}
    envelope = {r: np.zeros(n_hops, np.float32) for r in script.roles}
    said: list[tuple[str, float]] = []  # (who, end) of every utterance so far, in listed order
    resolved: list[Event] = []
    # Every phrase said up front, in a fresh process (the same audio for the same script,
    # whatever this process said before: vigcv.synth.voice).
    says = [ev for ev in script.events if ev.action == "say"]
    waves = iter(
        synthesize_fresh([(ev.text, script.person(ev.who).voice) for ev in says], rate=rate)
    )
    for ev in script.events:
        if ev.action != "say":
            resolved.append(ev)
            continue
        # An answer follows the latest utterance listed before it by anyone else.
        start = ev.start
        if ev.is_answer:
            start = next((end for who, end in reversed(said) if who != ev.who), 0.0) + ev.after
        wave = next(waves)
        db = _frame_db(wave, hop)
        runs = _voiced_runs(db)
        if not runs:
            resolved.append(replace(ev, start=start, end=start))
            continue
        first, last = runs[0][0], runs[-1][1]
        voiced = wave[first * hop : last * hop] * _GAIN[ev.who]
        i0 = round(start * rate)
        i1 = min(n, i0 + len(voiced))
        if i1 <= i0:
            resolved.append(replace(ev, start=start, end=start))
            continue
        audio[i0:i1] += voiced[: i1 - i0]
        end = i1 / rate
        said.append((ev.who, end))
        resolved.append(replace(ev, start=start, end=end))
        for a, b in runs:
            seg = Segment(start + (a - first) * _HOP_S, min(end, start + (b - first) * _HOP_S))
            if seg:
                speech[ev.who].append(seg)
        # Envelope: loudness normalised to the phrase's 95th percentile, smoothed over 50 ms.
        lin = 10 ** (db[first:last] / 20)
        lin = uniform_filter1d(lin / max(np.percentile(lin, 95), 1e-6), 5)
        h0 = round(start / _HOP_S)
        h1 = min(n_hops, h0 + len(lin))
        envelope[ev.who][h0:h1] = np.maximum(envelope[ev.who][h0:h1], lin[: h1 - h0])
    for role in speech:
        speech[role].sort()
    np.clip(audio, -1.0, 1.0, out=audio)
    return Soundtrack(
        audio=audio.astype(np.float32),
        rate=rate,
        events=tuple(resolved),
        speech=speech,
        envelope={k: np.clip(v, 0.0, 1.0) for k, v in envelope.items()},
    )
