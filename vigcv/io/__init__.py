"""Media ingest and the result store."""

from vigcv.io.media import (
    AUDIO_EXTENSIONS,
    MEDIA_EXTENSIONS,
    VIDEO_EXTENSIONS,
    AudioBlock,
    MediaInfo,
    VideoFrame,
    iter_audio,
    iter_frames,
    load_audio,
    probe,
)

__all__ = [
    "AUDIO_EXTENSIONS",
    "MEDIA_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "AudioBlock",
    "MediaInfo",
    "VideoFrame",
    "iter_audio",
    "iter_frames",
    "load_audio",
    "probe",
]
