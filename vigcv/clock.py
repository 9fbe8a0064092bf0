"""Times as people read them: ``mm:ss``, or ``h:mm:ss`` from one hour on.

One formatter for the reasons, the command line, the exports and the API, so a moment reads the
same everywhere. Standard library only: the command line uses it before anything heavy loads.
"""

from __future__ import annotations

import math


def clock(seconds: float) -> str:
    """``mm:ss`` (``h:mm:ss`` from one hour on) for a time in seconds, rounded down to the
    second; negative times read as ``00:00``."""
    whole = max(0, math.floor(float(seconds) + 1e-6))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
