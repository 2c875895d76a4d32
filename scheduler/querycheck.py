"""Refuse query parameters a route does not declare (422), on every route.

A client that misspells a filter (``?series=`` for ``?series_id=``) or sends one a route does
not support would otherwise get an unfiltered answer and believe it filtered. The guard
compares the request's query keys with the parameters the route handler declares (its own
and its dependencies', as Litestar's kwargs model resolves them, aliases included); names a
handler reads from ``request.query_params`` itself are listed in its ``opt["query"]``. Routes
marked ``opt={"any_query": True}`` (static files, whose URLs may carry cache busters) and the
OpenAPI pages are exempt.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from scheduler.errors import FieldError, ValidationFailed

OPENAPI_PATH = "/schema"

# Keyed by the handler object itself (not its id, which a freed handler's successor reuses).
_declared: WeakKeyDictionary[BaseRouteHandler, frozenset[str]] = WeakKeyDictionary()


def declared_query_names(handler: BaseRouteHandler, path_params: list[str]) -> frozenset[str]:
    """The query parameter names ``handler`` accepts (computed once per handler)."""
    names = _declared.get(handler)
    if names is None:
        model = handler.create_kwargs_model(path_parameters=dict.fromkeys(path_params))  # type: ignore[arg-type]
        extra = handler.opt.get("query", ())
        names = frozenset({p.field_alias for p in model.expected_query_params} | set(extra))
        _declared[handler] = names
    return names


async def refuse_unknown_query(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """App-wide guard: 422 ``validation_error`` naming each query parameter the route does
    not declare."""
    keys = set(connection.query_params.keys())
    if not keys or handler.opt.get("any_query") or connection.url.path.startswith(OPENAPI_PATH):
        return
    unknown = sorted(keys - declared_query_names(handler, list(connection.path_params)))
    if unknown:
        allowed = sorted(declared_query_names(handler, list(connection.path_params)))
        hint = f"this route accepts: {', '.join(allowed)}" if allowed else "this route takes none"
        raise ValidationFailed(
            [FieldError(name, f"unknown query parameter; {hint}") for name in unknown]
        )
