"""The one place where errors become RFC 9457 ``application/problem+json`` responses."""

from __future__ import annotations

import re
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import SQLAlchemyError

from scheduler import errors, metrics
from scheduler.db.errors import translate
from scheduler.errors import FieldError, SchedulerError
from scheduler.logging import loggable_path

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:scheduler:problem:"
log = structlog.get_logger("scheduler.problems")

_BY_STATUS: dict[int, type[SchedulerError]] = {
    400: errors.MalformedRequest,
    401: errors.Unauthenticated,
    403: errors.Forbidden,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    406: errors.NotAcceptable,
    409: errors.Conflict,
    412: errors.PreconditionFailed,
    413: errors.PayloadTooLarge,
    415: errors.UnsupportedMediaType,
    429: errors.RateLimited,
    503: errors.ServiceUnavailable,
}


def problem_body(error: SchedulerError, request: Request[Any, Any, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        "instance": request.url.path,
    }
    request_id = request.scope.get("state", {}).get("request_id")
    if request_id:
        body["request_id"] = request_id
    body.update({key: value for key, value in error.extensions.items() if key not in body})
    return body


def problem_response(error: SchedulerError, request: Request[Any, Any, Any]) -> Response[Any]:
    headers: dict[str, str] = {}
    if isinstance(error, errors.Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="scheduler"'
    if isinstance(error, errors.RequestTimeout):
        headers["Connection"] = "close"  # the rest of the body may still be on its way
    retry_after = error.extensions.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Response(
        content=problem_body(error, request),
        status_code=error.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_UNKNOWN_FIELD = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


def _field_error(key: str, message: str) -> FieldError:
    """Name the offending field as a dotted path (``policy.granularity_minutes``)."""
    field = "" if key == "data" else key
    at_path = _AT_PATH.search(message)
    if at_path:
        message = message[: at_path.start()]
        nested = at_path.group(1).replace("[", ".").replace("]", "")
        field = f"{field}.{nested}" if field and nested else field or nested
    unknown = _UNKNOWN_FIELD.search(message)
    if unknown:
        field = f"{field}.{unknown.group(1)}" if field else unknown.group(1)
    return FieldError(field or "body", message)


def _field_errors(exc: ValidationException) -> list[FieldError]:
    return [
        _field_error(
            str(item.get("key") or item.get("source") or "data"),
            str(item.get("message", "invalid")),
        )
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]


def handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    fields = _field_errors(exc)
    detail = str(exc.detail)
    if not fields and ("JSON" in detail or "decod" in detail.lower()):
        return problem_response(errors.MalformedRequest(detail), request)
    if not fields:
        fields = [FieldError("body", detail)]
    return problem_response(errors.ValidationFailed(fields), request)


def handle_scheduler_error(request: Request[Any, Any, Any], exc: SchedulerError) -> Response[Any]:
    metrics.count_refusal(request, exc)
    return problem_response(exc, request)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    error_class = _BY_STATUS.get(exc.status_code)
    if error_class is None:
        if exc.status_code >= 500:
            return handle_unexpected(request, exc)
        error_class = errors.MalformedRequest
    detail = exc.detail if exc.detail and exc.detail != error_class.title else None
    error = error_class(detail)
    response = problem_response(error, request)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def handle_database_error(request: Request[Any, Any, Any], exc: SQLAlchemyError) -> Response[Any]:
    translated = translate(exc)
    if translated is None:
        return handle_unexpected(request, exc)
    log.warning("database_refusal", code=translated.code, error_type=type(exc).__name__)
    return problem_response(translated, request)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception(
        "unhandled_error", path=loggable_path(request.url.path), error_type=type(exc).__name__
    )
    return problem_response(errors.InternalError("An unexpected error occurred."), request)


exception_handlers: ExceptionHandlersMap = {
    SchedulerError: handle_scheduler_error,
    ValidationException: handle_validation,
    NotFoundException: handle_http_exception,
    MethodNotAllowedException: handle_http_exception,
    NotAuthorizedException: handle_http_exception,
    PermissionDeniedException: handle_http_exception,
    HTTPException: handle_http_exception,
    SQLAlchemyError: handle_database_error,
    Exception: handle_unexpected,
}

__all__ = ["PROBLEM_MEDIA_TYPE", "exception_handlers", "problem_body", "problem_response"]
