"""Errors services raise; views, the API and the CLI turn them into clear answers."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


class ConflictError(Exception):
    """The record changed since the caller read it; nothing was written."""

    def __init__(
        self,
        message: str = "This record was changed by someone else since you opened it. "
        "Reload it and make your change again.",
        *,
        current_version: int | None = None,
    ):
        super().__init__(message)
        self.current_version = current_version


class ReauthenticationRequired(PermissionDenied):
    """A grave action needs the password typed again recently."""
