"""The one exception-handler map: every error becomes `{"error": {code, message, details}}`.

Input problems are 4xx with a stable code; a database that cannot be reached is 503
with Retry-After; only a bug is a 500, and its details stay in the log.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from application.errors import (
    ApplicationError,
    Conflict,
    LeaseLost,
    NotFound,
    PermissionDenied,
    SchemaOutOfDate,
    StaleExecution,
    StorageError,
    Unauthenticated,
    UnstorableValue,
)
from application.input_errors import InvalidCursor, InvalidInput
from application.triggers.rate_limits import TooManyRequests
from application.triggers.requests import BodyTooLarge, InputTemplateFailed, InvalidBody
from application.triggers.signatures import InvalidSignature, SignatureExpired
from application.use_cases.secrets import SecretsUnavailable
from domain.errors import DomainError, IllegalTransition, InvalidDefinition

log = logging.getLogger("treadle.api")

RETRY_AFTER_SECONDS = 5
STORAGE_UNAVAILABLE_MESSAGE = "the database is unavailable; retry after Retry-After seconds"

_APPLICATION_STATUS: dict[type[ApplicationError], int] = {
    NotFound: 404,
    Conflict: 409,
    StaleExecution: 409,
    LeaseLost: 409,
    PermissionDenied: 403,
    Unauthenticated: 401,
    InvalidInput: 422,
    InvalidCursor: 400,
    UnstorableValue: 422,
    StorageError: 503,
    SchemaOutOfDate: 503,
    SecretsUnavailable: 503,
    InvalidSignature: 401,
    SignatureExpired: 401,
    BodyTooLarge: 413,
    TooManyRequests: 429,
    InvalidBody: 400,
    InputTemplateFailed: 422,
}

_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return Response(body, status_code=status, headers=headers)


def status_of(error: ApplicationError) -> int:
    """The HTTP status an application error is answered with."""
    for kind in type(error).__mro__:
        if kind in _APPLICATION_STATUS:
            return _APPLICATION_STATUS[kind]
    return 400


def application_error(_: Request[Any, Any, Any], error: ApplicationError) -> Response[Any]:
    status = status_of(error)
    headers: dict[str, str] = {}
    message = error.message
    if isinstance(error, UnstorableValue):
        log.info("refused a value the database cannot hold: %s", error.__cause__ or error)
    elif isinstance(error, StorageError):
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        # The driver's text names the database's host and port: it goes to the log only.
        log.warning("storage unavailable: %s", error)
        message = STORAGE_UNAVAILABLE_MESSAGE
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    return error_response(status, error.code, message, error.details, headers)


def domain_error(_: Request[Any, Any, Any], error: DomainError) -> Response[Any]:
    if isinstance(error, InvalidDefinition):
        details = [_problem(p) for p in error.problems]
        return error_response(422, error.code, error.message, details)
    status = 409 if isinstance(error, IllegalTransition) else 422
    return error_response(status, error.code, error.message)


def _problem(problem: object) -> Any:
    as_dict = getattr(problem, "as_dict", None)
    return as_dict() if callable(as_dict) else {"message": str(problem)}


def validation_error(_: Request[Any, Any, Any], error: ValidationException) -> Response[Any]:
    details = error.extra if isinstance(error.extra, list) else []
    return error_response(400, "invalid_request", _one_line(error.detail), details)


def http_error(_: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    status = error.status_code
    code = _HTTP_CODES.get(status, "http_error" if status < 500 else "internal_error")
    headers = dict(error.headers or {})
    return error_response(status, code, _one_line(error.detail), headers=headers)


def unexpected_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return error_response(500, "internal_error", "an unexpected error occurred; see the server log")


def _one_line(text: str) -> str:
    return " ".join(str(text).split()) or "bad request"


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ApplicationError: application_error,
    DomainError: domain_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
