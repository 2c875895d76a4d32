"""Authentication and role guards.

Authentication runs as an app-wide guard rather than a middleware: guards run inside route
handling, so a 401 goes through the same problem renderer, request id and access log as every
other response. A route is public only when marked ``opt={"public": True}``; forgetting the
mark fails closed.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection, Request
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from scheduler.auth.tokens import Principal, VerifiedTokens
from scheduler.core.limits import MAX_JSON_DEPTH, nests_too_deep
from scheduler.errors import (
    FieldError,
    Forbidden,
    MalformedRequest,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationFailed,
)

PUBLIC = {"public": True}
OPENAPI_PATH = "/schema"


def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The caller named by ``Authorization: Bearer <JWT>``, verified once per request (and
    once per process while the token is valid: ``VerifiedTokens``)."""
    cached = connection.scope.get("user")
    if isinstance(cached, Principal):
        return cached
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthenticated("Send an 'Authorization: Bearer <token>' header.")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must use the Bearer scheme.")
    verified: VerifiedTokens = connection.app.state.verified_tokens
    principal = verified.principal(token.strip())
    connection.scope["user"] = principal
    return principal


async def require_authentication(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """App-wide guard: every route needs a valid token unless marked public."""
    if handler.opt.get("public") or connection.url.path.startswith(OPENAPI_PATH):
        return
    if is_automatic_options(handler):
        return  # ``Allow`` is no secret: a 405 states it to anyone too
    authenticate(connection)


def is_automatic_options(handler: BaseRouteHandler) -> bool:
    """Litestar's own ``OPTIONS`` answer for a path (no route of ours declares OPTIONS)."""
    methods: set[str] = set(getattr(handler, "http_methods", ()))
    return methods == {"OPTIONS"} and handler.handler_name == "options_handler"


JSON_METHODS = frozenset({"POST", "PUT", "PATCH"})


async def require_json_body(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """App-wide guard: a request body must be JSON (``application/json`` or ``+json``), may
    not contain NUL characters, which PostgreSQL cannot store (refused on every database, so
    SQLite and PostgreSQL behave alike), and may not nest deeper than ``MAX_JSON_DEPTH``
    (the decoder would exhaust the stack: a RecursionError, a 500)."""
    if connection.scope.get("method") not in JSON_METHODS or handler.opt.get("form"):
        return  # the console's HTML forms are form-encoded and CSRF-checked instead
    has_body = (
        connection.headers.get("content-length", "0") != "0"
        or "transfer-encoding" in connection.headers
    )
    media_type = connection.headers.get("content-type", "").split(";")[0].strip().lower()
    if has_body and not (media_type == "application/json" or media_type.endswith("+json")):
        raise UnsupportedMediaType(
            f"Send the body as application/json, not {media_type or 'untyped'}."
        )
    if not has_body:
        return
    body = await Request(connection.scope, connection.receive).body()
    if b"\\u0000" in body:
        raise ValidationFailed.one("body", "text may not contain NUL characters")
    if nests_too_deep(body):
        raise MalformedRequest(
            f"JSON nested deeper than {MAX_JSON_DEPTH} levels is not accepted.",
            errors=[FieldError("body", f"nested deeper than {MAX_JSON_DEPTH} levels")],
        )


def roles(*allowed: str) -> Guard:
    """A guard admitting only the given roles; others get 403 ``forbidden``."""

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        if is_automatic_options(handler):
            return
        if authenticate(connection).role not in allowed:
            raise Forbidden(f"This operation needs one of the roles: {', '.join(allowed)}.")

    return guard


STAFF = roles("staff", "admin")
MANAGERS = roles("partner", "staff", "admin")
