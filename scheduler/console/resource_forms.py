"""Resources with the basics of their booking policy, and their units, with plain forms (the
resource's partner, staff), through the API's ``ResourceService``: the checks, the problem
codes and the field names in errors (``policy.granularity_minutes``…) are the API's. An edit
carries the version it was read at (the API's ETag); a stale one shows the current values.
"""

from __future__ import annotations

from typing import Any, get_args

import msgspec
from litestar import Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Redirect, Template

from scheduler.console.auth import MANAGERS, Viewer
from scheduler.console.forms import convert, form_errors, if_match
from scheduler.console.rendering import language_of, page
from scheduler.core.policy import Policy
from scheduler.dependencies import DbSession, Now
from scheduler.errors import PreconditionFailed, SchedulerError
from scheduler.partners.services import PartnerService
from scheduler.resources.schemas import Kind, ResourceCreate, ResourceUpdate
from scheduler.resources.services import ResourceService, to_schema
from scheduler.schemas import convert_input

KINDS: tuple[str, ...] = get_args(Kind)
# The policy fields the form offers; the rest keep their defaults (or current values).
POLICY_FIELDS = (
    "approval",
    "granularity_minutes",
    "min_duration_minutes",
    "max_duration_minutes",
    "horizon_days",
    "cancel_deadline_minutes",
    "max_party_size",
    "check_in_opens_minutes",
)


def _resource_values(form: FormMultiDict) -> dict[str, Any]:
    values: dict[str, Any] = {
        key: str(form.get(key) or "").strip()
        for key in ("id", "partner_id", "name", "kind", "capacity", "timezone", "address")
    }
    values["description"] = str(form.get("description") or "").strip()
    values["units"] = str(form.get("units") or "")
    values["policy"] = {key: str(form.get(f"policy.{key}") or "").strip() for key in POLICY_FIELDS}
    return values


def _policy_patch(values: dict[str, Any]) -> dict[str, Any]:
    """The policy fields typed (numbers as numbers, so msgspec names the bad one)."""
    patch: dict[str, Any] = {}
    for key, text in values["policy"].items():
        if text:
            patch[key] = int(text) if text.lstrip("-").isdigit() and len(text) < 10 else text
    return patch


def _unit_labels(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


async def _partners_for(db_session: DbSession, viewer: Viewer) -> list[Any]:
    if viewer.is_staff:
        rows, _ = await PartnerService(db_session).list(zone=None, limit=500, offset=0)
        return list(rows)
    return [await PartnerService(db_session).get(viewer.partner or "")]


async def _new_resource_page(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    viewer: Viewer,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    defaults = msgspec.to_builtins(Policy())
    values = extra.pop("values", None) or {
        "partner_id": request.query_params.get("partner_id") or viewer.partner or "",
        "kind": "sports_field",
        "capacity": "60",
        "timezone": request.app.state.settings.default_timezone,
        "policy": {key: str(defaults[key]) for key in POLICY_FIELDS},
    }
    return page(
        request,
        "resource_form.html",
        status_code=status_code,
        resource=None,
        partners=await _partners_for(db_session, viewer),
        kinds=KINDS,
        values=values,
        errors=extra.pop("errors", {}),
        **extra,
    )


@get("/resources/new", opt=MANAGERS)
async def new_resource(
    request: Request[Any, Any, Any], db_session: DbSession, viewer: Viewer
) -> Template:
    return await _new_resource_page(request, db_session, viewer)


@post("/resources/new", opt=MANAGERS, status_code=200)
async def create_resource(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Template | Redirect:
    values = _resource_values(await request.form())
    units = _unit_labels(values["units"])
    fields = {
        key: values[key]
        for key in ("id", "partner_id", "name", "kind", "timezone", "address", "description")
        if values[key]
    }
    if units:
        fields["units"] = units
    elif values["capacity"]:
        fields["capacity"] = values["capacity"]
    service = ResourceService(db_session, request.app.state.settings.default_timezone)
    try:
        policy = convert_input(_policy_patch(values), Policy, "policy")
        data = msgspec.structs.replace(convert(fields, ResourceCreate), policy=policy)
        async with db_session.begin_nested():
            resource, _ = await service.create(data, viewer, now)
    except SchedulerError as error:
        errors = form_errors(error, language_of(request))
        return await _new_resource_page(
            request, db_session, viewer, error.status, values=values, errors=errors
        )
    return Redirect(f"/console/resources/{resource.id}/edit?saved=1", status_code=303)


async def _edit_resource_page(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    viewer: Viewer,
    resource_id: str,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    current = to_schema(*await ResourceService(db_session).get_managed(resource_id, viewer))
    policy = msgspec.to_builtins(current.policy)
    current_values = {
        "name": current.name,
        "kind": current.kind,
        "capacity": str(current.capacity),
        "timezone": current.timezone,
        "address": current.address or "",
        "description": current.description or "",
        "units": "",
        "policy": {key: str(policy[key]) for key in POLICY_FIELDS},
    }
    return page(
        request,
        "resource_form.html",
        status_code=status_code,
        resource=current,
        current=current_values,
        kinds=KINDS,
        values=extra.pop("values", current_values),
        version=extra.pop("version", current.version),
        errors=extra.pop("errors", {}),
        **extra,
    )


@get("/resources/{resource_id:str}/edit", opt=MANAGERS)
async def edit_resource(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    viewer: Viewer,
    resource_id: FromPath[str],
) -> Template:
    return await _edit_resource_page(
        request, db_session, viewer, resource_id, saved=request.query_params.get("saved")
    )


@post("/resources/{resource_id:str}/edit", opt=MANAGERS, status_code=200)
async def update_resource(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: Now,
    viewer: Viewer,
    resource_id: FromPath[str],
) -> Template | Redirect:
    """Change the resource and its policy basics; ``units`` typed here are added to its
    units (capacity is then their count)."""
    form = await request.form()
    values = _resource_values(form)
    service = ResourceService(db_session, request.app.state.settings.default_timezone)
    fields: dict[str, Any] = {key: values[key] for key in ("name", "kind") if values[key]}
    fields |= {key: values[key] or None for key in ("address", "description")}
    added = _unit_labels(values["units"])
    try:
        resource, _ = await service.get_managed(resource_id, viewer)
        if added:
            fields["units"] = [*resource.units, *added]
        elif not resource.units and values["capacity"]:
            fields["capacity"] = values["capacity"]
        data = msgspec.structs.replace(
            convert(fields, ResourceUpdate), policy=_policy_patch(values)
        )
        async with db_session.begin_nested():
            await service.update(resource_id, data, viewer, if_match(form), now)
    except SchedulerError as error:
        stale = isinstance(error, PreconditionFailed)
        extra = {} if stale else {"version": str(form.get("version") or "")}
        return await _edit_resource_page(
            request,
            db_session,
            viewer,
            resource_id,
            error.status,
            values=values,
            errors=form_errors(error, language_of(request)),
            stale=stale,
            **extra,
        )
    return Redirect(f"/console/resources/{resource_id}/edit?saved=1", status_code=303)


RESOURCE_FORM_HANDLERS = [new_resource, create_resource, edit_resource, update_resource]
