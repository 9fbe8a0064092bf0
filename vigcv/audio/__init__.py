"""Audio stage: voice activity, speaker attribution, turns and contingency.

``extract_audio`` is the slow, cacheable part (models); the rest are cheap pure functions.
"""

from vigcv.audio.attribution import attribute_speakers, mouth_scores
from vigcv.audio.extract import AUDIO_VERSION, extract_audio
from vigcv.audio.turns import (
    conversational_turn_count,
    find_turns,
    floor_switches,
    floor_turns,
    speaking_timeline,
)
from vigcv.audio.vad import hysteresis_segments, stream_vad

__all__ = [
    "AUDIO_VERSION",
    "attribute_speakers",
    "conversational_turn_count",
    "extract_audio",
    "find_turns",
    "floor_switches",
    "floor_turns",
    "hysteresis_segments",
    "mouth_scores",
    "speaking_timeline",
    "stream_vad",
]
