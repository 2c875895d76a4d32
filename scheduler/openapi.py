"""OpenAPI helpers: documented problem responses for every route."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

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
