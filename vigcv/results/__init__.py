"""Everything vigcv leaves on disk, read and written in one place.

- :mod:`vigcv.results.folder`: the OUT folder and its session folders: file names, listing the
  sessions, ``run.json``, ``moments.json`` (as :class:`vigcv.types.Moment`), timelines, speech,
  ``summary.csv``.
- :mod:`vigcv.results.decisions`: the guider's decisions, ``OUT/reviews.sqlite``.
- :mod:`vigcv.results.sessions`: a session read for display (the review page, the exports):
  its moments with their decisions attached, and the curves of its timeline.

Export and review both read OUT through here, never through each other.
"""

from __future__ import annotations

from vigcv.results.folder import (
    CACHE_FOLDER,
    EXPORTS_FOLDER,
    FEATURES_FILE,
    MOMENTS_CSV,
    MOMENTS_JSON,
    OVERLAY_FILE,
    ROLES_FILE,
    RUN_FILE,
    SPEECH_FILE,
    SUMMARY_FILE,
    TIMELINE_FILE,
    TURNS_FILE,
    WINDOWS_FILE,
    SessionResult,
    failed_sessions,
    is_session,
    known_inputs,
    list_sessions,
    make_session_dir,
    read_features,
    read_moments,
    read_moments_document,
    read_run,
    read_speech,
    read_summary,
    read_timeline,
    read_turns,
    recording,
    roles_swapped,
    session_dirs,
    write_features,
    write_moments,
    write_roles,
    write_run,
    write_speech,
    write_summary,
    write_timeline,
)

__all__ = [
    "CACHE_FOLDER",
    "EXPORTS_FOLDER",
    "FEATURES_FILE",
    "MOMENTS_CSV",
    "MOMENTS_JSON",
    "OVERLAY_FILE",
    "ROLES_FILE",
    "RUN_FILE",
    "SPEECH_FILE",
    "SUMMARY_FILE",
    "TIMELINE_FILE",
    "TURNS_FILE",
    "WINDOWS_FILE",
    "SessionResult",
    "failed_sessions",
    "is_session",
    "known_inputs",
    "list_sessions",
    "make_session_dir",
    "read_features",
    "read_moments",
    "read_moments_document",
    "read_run",
    "read_speech",
    "read_summary",
    "read_timeline",
    "read_turns",
    "recording",
    "roles_swapped",
    "session_dirs",
    "write_features",
    "write_moments",
    "write_roles",
    "write_run",
    "write_speech",
    "write_summary",
    "write_timeline",
]
