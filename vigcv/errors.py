"""Errors a user can cause. Each carries a one-line message that names the file or key and says
what to do; the CLI prints it without a traceback (unless ``--debug``)."""

from __future__ import annotations


class VigcvError(Exception):
    """Base class of every error vigcv explains to the user in one line."""


class MediaError(VigcvError):
    """A media file that cannot be read (missing, empty, not media, truncated, no streams)."""


class ConfigError(VigcvError):
    """A bad configuration key or value."""


class ModelError(VigcvError):
    """A model file that is missing or does not match its checksum."""


class OutputError(VigcvError):
    """An output folder that cannot be written (permissions, full disk)."""
