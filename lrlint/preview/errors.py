"""The one error the preview reports to the user instead of drawing a curve."""

from __future__ import annotations


class PreviewError(Exception):
    """The preview cannot replay or draw what it was given: one sentence that says why, and, where
    a command-line option supplies what is missing, which one."""
