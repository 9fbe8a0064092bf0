"""Cut a moment out of a recording into its own mp4 (H.264 video, AAC audio) with PyAV.

The input is decoded from shortly before ``start``; frames whose presentation time lies in
``[start, end)`` are re-encoded with times counted from the clip's start (variable frame rate is
kept: each frame keeps its own time, in milliseconds). Audio samples in the same interval are
re-encoded as AAC. An optional small caption shows the time in the original recording. The
writer is :func:`vigcv.privacy.film.write_film`, the one ``vigcv blur`` uses: faces of people
who may not be shown are blurred when a plan is given, and no metadata of the recording (GPS
location, camera, creation time) is copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vigcv.clock import clock
from vigcv.config import default_config
from vigcv.errors import MediaError
from vigcv.privacy.blur import BlurPlan
from vigcv.privacy.film import draw_caption, write_film


@dataclass(frozen=True)
class ClipResult:
    """What :func:`write_clip` wrote."""

    path: Path
    frames: int  # video frames written
    audio_samples: int  # audio samples written (per channel)
    duration: float  # seconds


def write_clip(
    source: str | Path,
    dest: str | Path,
    *,
    start: float,
    end: float,
    caption: bool | None = None,
    crf: int | None = None,
    max_side: int | None = None,
    audio_bitrate: int | None = None,
    blur: BlurPlan | None = None,
) -> ClipResult:
    """Write ``[start, end)`` seconds of ``source`` to ``dest`` as an mp4 (H.264 + AAC).

    Parameters
    ----------
    source, dest : path
        The recording and the clip to write (written to a temporary name, then renamed).
    start, end : float
        Seconds in the recording.
    caption : bool
        Draw the time in the recording (``mm:ss``) small in a corner.
    crf : int
        x264 constant rate factor (lower = better quality, bigger file; 18-28 is usual).
    max_side : int
        Longest side of the clip in pixels (scaled down when larger; 0 = never).
    audio_bitrate : int
        AAC bit rate in bits per second.
    blur : BlurPlan, optional
        The faces to blur (:func:`vigcv.privacy.blur_plan`); None blurs nothing.

    Settings left out take their ``[export]`` values from ``configs/default.toml``.
    """
    defaults = default_config()["export"]
    caption = bool(defaults["caption"] if caption is None else caption)
    crf = int(defaults["crf"] if crf is None else crf)
    max_side = int(defaults["max_side"] if max_side is None else max_side)
    audio_bitrate = int(defaults["audio_bitrate"] if audio_bitrate is None else audio_bitrate)
    source, dest = Path(source), Path(dest)
    if not end > start:
        raise MediaError(f"{source}: clip end {end:.2f} s is not after its start {start:.2f} s")
    made = write_film(
        source,
        dest,
        start=start,
        end=end,
        caption=caption,
        crf=crf,
        max_side=max_side,
        audio_bitrate=audio_bitrate,
        blur=blur,
    )
    return ClipResult(
        path=dest, frames=made.frames, audio_samples=made.audio_samples, duration=end - start
    )


__all__ = ["ClipResult", "clock", "draw_caption", "write_clip"]
