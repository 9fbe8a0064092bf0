"""The progress callback every stage takes, defined once.

``hook(step, artifact, *, completed=None, total=None)``, the shape of pyannote.audio's pipeline
hooks:

- when a step finishes, ``hook("moments", moments)``: ``artifact`` is what it made, for a notebook
  or a test to capture without changing any return value;
- while a long step runs, ``hook("vision", None, completed=12.0, total=300.0)``: how far it is,
  in units of the step's own choosing (frames, seconds), for a progress bar.

A hook never changes what a stage returns; a stage calls it with keyword arguments only, so a
callback may ignore what it does not need by accepting ``**kwargs``.
"""

from __future__ import annotations

from typing import Any, Protocol


class Hook(Protocol):
    """``hook(step, artifact, *, completed=None, total=None)``: see the module's docstring."""

    def __call__(
        self,
        step: str,
        artifact: Any = None,
        *,
        completed: float | None = None,
        total: float | None = None,
    ) -> None: ...


def no_hook(
    step: str,
    artifact: Any = None,
    *,
    completed: float | None = None,
    total: float | None = None,
) -> None:
    """The hook used when none is given: does nothing."""
    return None


def is_progress(completed: float | None, total: float | None) -> bool:
    """Whether a call carries progress (both counts given), rather than a finished step."""
    return completed is not None and total is not None
