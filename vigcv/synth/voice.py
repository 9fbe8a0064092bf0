"""Speech synthesis with espeak-ng, driven through ctypes, into memory.

The ``espeakng-loader`` wheel ships ``libespeak-ng.so`` and its voice data, so nothing is needed
from the system. espeak-ng keeps global state, so every call holds one process-wide lock.

espeak-ng's adult voices vary from run to run: its random seed is set from the clock, and state
that no call resets carries from one phrase to the next (measured: the same phrase said twice in
one process, or once in each of two processes, gave different samples). The session generator
therefore says a session's phrases with :func:`synthesize_fresh`: in a new process, its seed
fixed, the phrases in the script's order, so that a script and seed always give the same audio,
whatever the process said before (a test worker that generated other scenes first).

Two voices are defined in :data:`VOICES`: an adult woman (espeak variant ``f3``, base pitch about
240 Hz) and a child (variant ``f4`` with a high base pitch, then resampled so that pitch and
formants rise by a further 25 % and the speech is 25 % faster, as children's are; about 310 Hz).
Higher child voices were tried: Silero VAD stops finding their short syllables ("ba ba!").
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import soxr

from vigcv.errors import VigcvError

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_RATE, _ESPEAK_VOLUME, _ESPEAK_PITCH, _ESPEAK_RANGE = 1, 2, 3, 4

_LOCK = threading.Lock()
_CALLBACK_TYPE = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class VoiceError(VigcvError):
    """espeak-ng could not be loaded or could not speak a phrase."""


@dataclass(frozen=True)
class Voice:
    """How one role speaks.

    Attributes
    ----------
    name : str
        espeak-ng voice name with variant, e.g. ``"en-us+f3"``.
    rate : int
        Words per minute given to espeak-ng.
    pitch : int
        espeak-ng base pitch, 0..100.
    pitch_range : int
        espeak-ng pitch range (intonation), 0..100.
    shift : float
        Factor by which the output is sped up by resampling; raises pitch and formants by the
        same factor (1.0 = unchanged).
    """

    name: str
    rate: int
    pitch: int
    pitch_range: int
    shift: float = 1.0


VOICES: dict[str, Voice] = {
    "adult": Voice(name="en-us+f3", rate=150, pitch=55, pitch_range=70),
    "adult_male": Voice(name="en-us+m3", rate=150, pitch=40, pitch_range=60),
    "child": Voice(name="en-us+f4", rate=140, pitch=80, pitch_range=70, shift=1.25),
}


class _Engine:
    """The loaded library with its synthesis callback (one per process)."""

    def __init__(self) -> None:
        import espeakng_loader

        try:
            self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except OSError as exc:  # pragma: no cover - the wheel always ships it
            raise VoiceError(f"cannot load libespeak-ng from espeakng-loader: {exc}") from exc
        data = espeakng_loader.get_data_path().encode()
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        self.rate = int(self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0))
        if self.rate <= 0:
            raise VoiceError("espeak-ng failed to initialise with the data of espeakng-loader")
        self._chunks: list[np.ndarray] = []

        def collect(wav: ctypes._Pointer[ctypes.c_short], n: int, _events: int) -> int:
            if n > 0 and wav:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        self._callback = _CALLBACK_TYPE(collect)  # keep a reference: ctypes does not
        self.lib.espeak_SetSynthCallback(self._callback)
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]

    def speak(self, text: str, voice: Voice) -> np.ndarray:
        """int16 samples at :attr:`rate` of ``text`` said by ``voice``."""
        if self.lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise VoiceError(f"espeak-ng has no voice {voice.name!r}")
        self.lib.espeak_SetParameter(_ESPEAK_RATE, int(voice.rate), 0)
        self.lib.espeak_SetParameter(_ESPEAK_PITCH, int(voice.pitch), 0)
        self.lib.espeak_SetParameter(_ESPEAK_RANGE, int(voice.pitch_range), 0)
        self.lib.espeak_SetParameter(_ESPEAK_VOLUME, 100, 0)
        self._chunks = []
        raw = text.encode("utf-8") + b"\0"
        err = self.lib.espeak_Synth(
            raw, len(raw), 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None
        )
        self.lib.espeak_Synchronize()
        if err != 0:
            raise VoiceError(f"espeak-ng could not say {text!r} (error {err})")
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)


@lru_cache(maxsize=1)
def _engine() -> _Engine:
    return _Engine()


@lru_cache(maxsize=256)
def _speak_cached(text: str, voice: Voice, rate: int) -> np.ndarray:
    with _LOCK:
        engine = _engine()
        pcm = engine.speak(text, voice)
        native = engine.rate
    wave = pcm.astype(np.float32) / 32768.0
    # Speeding up by `shift` = resampling as if recorded at native * shift.
    wave = soxr.resample(wave, native * voice.shift, rate).astype(np.float32)
    wave.setflags(write=False)
    return wave


def _say_in_order(items: list[tuple[str, str | Voice]], rate: int, seed: int) -> list[np.ndarray]:
    """Say ``items`` in order in this process after fixing espeak-ng's random seed."""
    lib = _engine().lib
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    with _LOCK:
        lib.espeak_ng_SetRandSeed(int(seed))
    return [np.asarray(synthesize(text, voice=voice, rate=rate)) for text, voice in items]


def synthesize_fresh(
    items: list[tuple[str, str | Voice]], *, rate: int, seed: int = 0
) -> list[np.ndarray]:
    """Say each ``(text, voice)`` of ``items`` as :func:`synthesize` does, but reproducibly: in
    a new Python process (``python -m vigcv.synth.voice``, so that no earlier phrase's state
    carries over and no caller's main module is re-imported) with espeak-ng's random seed fixed
    to ``seed``."""
    import json
    import subprocess
    import sys
    import tempfile
    from dataclasses import asdict
    from pathlib import Path

    items = list(items)
    if not items:
        return []
    spec = [[text, voice if isinstance(voice, str) else asdict(voice)] for text, voice in items]
    with tempfile.TemporaryDirectory(prefix="vigcv-voice-") as tmp:
        out = Path(tmp) / "waves.npz"
        job = {"items": spec, "rate": int(rate), "seed": int(seed), "out": str(out)}
        done = subprocess.run(
            [sys.executable, "-m", "vigcv.synth.voice"],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not out.is_file():
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise VoiceError(f"espeak-ng could not say the session's phrases: {last}")
        with np.load(out) as data:
            return [data[f"w{i}"].astype(np.float32) for i in range(len(items))]


def _main() -> None:
    """``python -m vigcv.synth.voice``: the job of :func:`synthesize_fresh` on stdin."""
    import json
    import sys

    job = json.load(sys.stdin)
    items = [
        (text, voice if isinstance(voice, str) else Voice(**voice)) for text, voice in job["items"]
    ]
    waves = _say_in_order(items, job["rate"], job["seed"])
    np.savez(job["out"], **{f"w{i}": w for i, w in enumerate(waves)})


def synthesize(text: str, *, voice: str | Voice, rate: int) -> np.ndarray:
    """Say ``text`` with one of :data:`VOICES` (or a :class:`Voice`).

    Parameters
    ----------
    text : str
        What to say (English).
    voice : str or Voice
        A key of :data:`VOICES` or a custom voice.
    rate : int
        Output sample rate in Hz.

    Returns
    -------
    ndarray, shape (n,), float32
        Mono samples in -1..1 at ``rate``, with espeak-ng's own short leading and trailing
        silence. Read-only (results are cached).
    """
    if isinstance(voice, str):
        if voice not in VOICES:
            raise VoiceError(f"unknown voice {voice!r}; known: {', '.join(sorted(VOICES))}")
        voice = VOICES[voice]
    return _speak_cached(text, voice, int(rate))


if __name__ == "__main__":
    _main()
