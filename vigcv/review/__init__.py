"""The guider's review: a local web app over an OUT folder and its durable decisions.

- :func:`make_server` (``vigcv review``): pages on 127.0.0.1 to play, keep, set aside, trim and
  annotate the suggested moments of each session; see :mod:`vigcv.review.server`.
- :class:`ReviewStore` / :func:`open_store`: ``OUT/reviews.sqlite`` (current state plus an
  append-only history), decisions attached to re-scored moments by temporal IoU.
- :func:`list_sessions`, :func:`load_session`, :func:`reviewed_moments`: read OUT.
"""

from __future__ import annotations

from vigcv.review.server import ReviewServer, ReviewSettings, make_server
from vigcv.review.sessions import (
    Session,
    list_sessions,
    load_session,
    orphaned_decisions,
    reviewed_moments,
    timeline_data,
)
from vigcv.review.store import Decision, ReviewStore, StoreError, match_decisions, open_store

__all__ = [
    "Decision",
    "ReviewServer",
    "ReviewSettings",
    "ReviewStore",
    "Session",
    "StoreError",
    "list_sessions",
    "load_session",
    "make_server",
    "match_decisions",
    "open_store",
    "orphaned_decisions",
    "reviewed_moments",
    "timeline_data",
]
