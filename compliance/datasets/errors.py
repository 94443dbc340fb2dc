"""The datasets layer's error type (its own module so every datasets module can raise it)."""

from __future__ import annotations


class SourceError(ValueError):
    """The source cannot be read: missing, unsupported, or malformed. Messages never quote cell values."""


__all__ = ["SourceError"]
