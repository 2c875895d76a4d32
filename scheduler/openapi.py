"""OpenAPI helpers: documented problem responses for every route."""

from __future__ import annotations

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPI, Schema

from scheduler.schemas import Problem

_DESCRIPTIONS = {
    400: "Malformed request (unreadable body)",
    401: "Missing, invalid or expired bearer token",
    403: "Authenticated, but this role or person may not do this",
    404: "No such item, or not visible to the caller",
    409: "Refused by the current state of the world",
    412: "If-Match names a version that is no longer current",
    413: "Request body too large",
    415: "Unsupported content type",
    422: "Invalid input; `errors` names each offending field",
    429: "Rate limit exceeded; see Retry-After",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Problem+json response specs for the given statuses, plus the ones every route can give."""
    every = {400, 401, 422, 429}
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS.get(status, "Problem"),
            media_type="application/problem+json",
        )
        for status in sorted(every | set(statuses))
    }


def _strict_structs() -> dict[str, type]:
    """Every request Struct that refuses unknown fields, by class name."""
    found: dict[str, type] = {}
    pending: list[type] = [msgspec.Struct]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        config = getattr(cls, "__struct_config__", None)
        if cls.__module__.startswith("scheduler.") and getattr(
            config, "forbid_unknown_fields", False
        ):
            found[cls.__name__] = cls
    return found


def declare_closed_objects(spec: OpenAPI) -> None:
    """Say ``additionalProperties: false`` wherever the server refuses unknown fields, so the
    document matches what the service accepts (client generators and fuzzers rely on it)."""
    strict = _strict_structs()
    for name, schema in (spec.components.schemas or {}).items():
        if name in strict and isinstance(schema, Schema):
            schema.additional_properties = False
