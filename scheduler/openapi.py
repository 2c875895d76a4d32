"""OpenAPI helpers: documented problem responses for every route."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Union

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPI, Schema

from scheduler.core.refusals import KINDS, RefusalFacts
from scheduler.schemas import REFUSAL_PROBLEMS, Problem, TransitionProblem

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


def _container(status: int, refusals: Iterable[type[RefusalFacts]], transition: bool) -> Any:
    """The problem schema of ``status``: the refusal families that answer with it (each with
    its own ``code`` enum and typed facts), then the generic problem for every other code."""
    families = {kind.family for kind in KINDS.values() if kind.status == status}
    specific: list[type[Problem]] = [
        REFUSAL_PROBLEMS[family] for family in refusals if family in families
    ]
    if transition and status == 409:
        specific.append(TransitionProblem)
    return Union[(*specific, Problem)] if specific else Problem


def problems(
    *statuses: int,
    refusals: Iterable[type[RefusalFacts]] = (),
    transition: bool = False,
) -> dict[int, ResponseSpec]:
    """Problem+json response specs for the given statuses, plus the ones every route can give.
    ``refusals`` names the refusal families the route may answer with (``FAMILIES`` for a
    booking), ``transition`` that it may refuse a change of state."""
    every = {400, 401, 422, 429}
    families = tuple(refusals)
    return {
        status: ResponseSpec(
            data_container=_container(status, families, transition),
            description=_DESCRIPTIONS.get(status, "Problem"),
            media_type="application/problem+json",
            generate_examples=False,
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


def declare_problem_unions(spec: OpenAPI) -> None:
    """A refusal matches its family's schema and the generic problem too, so the problem
    unions are ``anyOf`` (``oneOf`` demands exactly one match): a client picks the family by
    the ``code`` enum each family schema declares."""
    for path in (spec.paths or {}).values():
        for operation in (path.get, path.post, path.put, path.patch, path.delete):
            for response in ((operation.responses or {}) if operation else {}).values():
                content = getattr(response, "content", None) or {}
                media = content.get("application/problem+json")
                schema = media.schema if media else None
                if isinstance(schema, Schema) and schema.one_of:
                    schema.any_of, schema.one_of = schema.one_of, None
