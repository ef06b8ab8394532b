"""Errors that cross module boundaries.

Domain errors carry a message id (an English source string marked for
translation) and its parameters, so the edge that catches them can render the
explanation in the user's language without the core knowing about languages.
"""

from __future__ import annotations

from typing import Any


class JobbotError(Exception):
    """An error that is shown to an operator as one line, never as a traceback."""


class SettingsError(JobbotError):
    """A missing or malformed setting."""


class DomainError(Exception):
    """A business rule refused an action. Nothing was changed."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


class NotAllowed(DomainError):
    """The actor may not do this (role or ownership)."""


class NotFound(DomainError):
    """The thing referred to does not exist, or the actor may not know it exists."""
