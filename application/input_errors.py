"""Errors about a request's own values (beyond what the transport's schema checks)."""

from __future__ import annotations

from application.errors import ApplicationError


class InvalidInput(ApplicationError):
    """A value in the request is not acceptable."""

    code = "invalid_input"

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message, [{"path": path, "message": message}])


class InvalidCursor(ApplicationError):
    """The pagination cursor is not one this server handed out: start from the first page."""

    code = "invalid_cursor"
