"""Application errors: each class's docstring is its default message, `code` is stable."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """The request could not be carried out."""

    code = "application_error"

    def __init__(self, message: str | None = None, details: list[Any] | None = None) -> None:
        super().__init__(message or (self.__doc__ or self.code).strip())
        self.details = details or []

    @property
    def message(self) -> str:
        return str(self)


class NotFound(ApplicationError):
    """No such resource in this workspace."""

    code = "not_found"


class Conflict(ApplicationError):
    """The resource is not in a state that allows this."""

    code = "conflict"


class LeaseLost(ApplicationError):
    """This worker no longer holds the execution's lease: its write was rejected."""

    code = "lease_lost"


class StaleExecution(ApplicationError):
    """Someone else changed the execution since it was read; read it again and retry."""

    code = "stale_execution"


class StorageError(ApplicationError):
    """The database could not be reached or refused the operation."""

    code = "storage_unavailable"


class UnstorableValue(StorageError):
    """A value in the request cannot be stored: a NUL character, or a number out of range."""

    # A StorageError, so code that retries or gives up on storage failures treats it as
    # before; but it is the request's fault, and the API answers 422, not 503.
    code = "invalid_input"


class SchemaOutOfDate(ApplicationError):
    """The database schema is older than this code: run `treadle migrate`."""

    code = "schema_out_of_date"


class PermissionDenied(ApplicationError):
    """This token's role may not do that."""

    code = "forbidden"


class Unauthenticated(ApplicationError):
    """A valid bearer token is required."""

    code = "unauthenticated"
