"""The guider's review: a local web app over an OUT folder and its durable decisions.

- :func:`make_server` (``vigcv review``): pages on 127.0.0.1 to play, keep, set aside, trim and
  annotate the suggested moments of each session; see :mod:`vigcv.review.server`.

The decisions it saves (``OUT/reviews.sqlite``) and the sessions it shows are read and written
through :mod:`vigcv.results` (:mod:`vigcv.results.decisions`, :mod:`vigcv.results.sessions`),
which the exports use too.
"""

from __future__ import annotations

from vigcv.review.server import ReviewServer, ReviewSettings, make_server

__all__ = ["ReviewServer", "ReviewSettings", "make_server"]
