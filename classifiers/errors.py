"""Errors callers catch without loading what raises them (skops, scikit-learn: seconds)."""

from __future__ import annotations


class ModelLoadError(RuntimeError):
    """A model directory that cannot be used; the message names the file and the reason."""
