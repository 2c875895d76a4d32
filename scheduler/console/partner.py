"""Partner pages (staff see every partner's): resources, the window editor with a 14-day
preview, closures over several resources at once, the gate list with check-in buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Redirect, Template

from scheduler.availability.services import AvailabilityService
from scheduler.bookings.closures import notify_affected
from scheduler.bookings.lifecycle import BookingLifecycle
from scheduler.bookings.queries import BookingQueries
from scheduler.closures.schemas import ClosureCreate
from scheduler.closures.services import ClosureService
from scheduler.console.auth import MANAGERS, Viewer
from scheduler.console.forms import blank_to_none, convert
from scheduler.console.i18n import translations
from scheduler.console.rendering import field_errors, language_of, page, problem_text
from scheduler.console.staff import local_today
from scheduler.core.calendar import DAY_TYPES
from scheduler.core.timerange import TimeRange
from scheduler.db.catalogue import Resource
from scheduler.dependencies import DbSession, Now
from scheduler.errors import FieldError, SchedulerError, ValidationFailed
from scheduler.resources.services import ResourceService
from scheduler.windows.schemas import WindowCreate
from scheduler.windows.services import WindowService

PREVIEW_DAYS = 14
AUDIENCES = ("residents", "public", "visitors")


async def managed_resources(db_session: DbSession, viewer: Viewer) -> list[Resource]:
    """The resources ``viewer`` manages: a partner's own, every resource for staff."""
    rows, _ = await ResourceService(db_session).resources.list(
        zone=None,
        kind=None,
        partner_id=viewer.partner if viewer.role == "partner" else None,
        limit=500,
        offset=0,
    )
    return [resource for resource, _ in rows]


@get("/resources", opt=MANAGERS)
async def resources(
    request: Request[Any, Any, Any], db_session: DbSession, viewer: Viewer
) -> Template:
    return page(request, "resources.html", resources=await managed_resources(db_session, viewer))


def window_fields(form: FormMultiDict) -> dict[str, Any]:
    """The window form's plain fields as a ``WindowCreate`` body (RRULE only if typed)."""
    audience: Any = form.get("audience") or "residents"
    if audience == "communities":
        audience = [c.strip() for c in str(form.get("communities") or "").split(",") if c.strip()]
    return {
        "start_time": form.get("start_time") or "",
        "end_time": form.get("end_time") or "",
        "day_types": [str(value) for value in form.getall("day_types", [])],
        "rrule": blank_to_none(form.get("rrule")),
        "valid_from": blank_to_none(form.get("valid_from")),
        "valid_until": blank_to_none(form.get("valid_until")),
        "audience": audience,
        "capacity": blank_to_none(form.get("capacity")),
        "label": form.get("label") or "",
    }


async def _windows_page(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    viewer: Viewer,
    resource_id: FromPath[str],
    status_code: int = 200,
    **extra: Any,
) -> Template:
    resource, _ = await ResourceService(db_session).get_managed(resource_id, viewer)
    windows = await WindowService(db_session).list(resource_id)
    defaults = {
        "start_time": "18:00",
        "end_time": "21:00",
        "day_types": [],
        "audience": "residents",
    }
    return page(
        request,
        "windows.html",
        status_code=status_code,
        resource=resource,
        windows=windows,
        day_types=DAY_TYPES,
        audiences=AUDIENCES,
        values=extra.pop("values", defaults),
        errors=extra.pop("errors", {}),
        **extra,
    )


@get("/resources/{resource_id:str}/windows", opt=MANAGERS)
async def windows(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    viewer: Viewer,
    resource_id: FromPath[str],
) -> Template:
    return await _windows_page(
        request, db_session, viewer, resource_id, saved=request.query_params.get("saved")
    )


async def preview_slots(
    db_session: DbSession, resource: Resource, data: WindowCreate, viewer: Viewer, now: datetime
) -> list[Any]:
    """The slots the window would open over the next 14 days, computed by the availability
    service with the window really added inside a savepoint that is then rolled back."""
    zone = ZoneInfo(resource.timezone)
    start_day = now.astimezone(zone).date()
    start = datetime.combine(start_day, datetime.min.time(), zone).astimezone(UTC)
    span = TimeRange(start, start + timedelta(days=PREVIEW_DAYS))
    savepoint = await db_session.begin_nested()
    try:
        window = await WindowService(db_session).create(resource.id, data, viewer, now)
        slots = await AvailabilityService(db_session).slots(resource, span, now)
        return [slot for slot in slots if window.id in slot.window_ids]
    finally:
        await savepoint.rollback()


@post("/resources/{resource_id:str}/windows", opt=MANAGERS, status_code=200)
async def save_window(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: Now,
    viewer: Viewer,
    resource_id: FromPath[str],
) -> Template | Redirect:
    """``intent=preview`` shows the slots first; ``intent=save`` creates the window."""
    form = await request.form()
    values = window_fields(form)
    resource, _ = await ResourceService(db_session).get_managed(resource_id, viewer)
    language = language_of(request)
    try:
        data = convert(values, WindowCreate)
        if form.get("intent") != "save":
            slots = await preview_slots(db_session, resource, data, viewer, now)
            return await _windows_page(
                request, db_session, viewer, resource_id, values=values, preview=slots
            )
        async with db_session.begin_nested():
            window = await WindowService(db_session).create(resource_id, data, viewer, now)
    except ValidationFailed as error:
        return await _windows_page(
            request,
            db_session,
            viewer,
            resource_id,
            status_code=422,
            values=values,
            errors=field_errors(error, language),
        )
    return Redirect(f"/console/resources/{resource_id}/windows?saved={window.id}", status_code=303)


@post("/resources/{resource_id:str}/windows/{window_id:str}/delete", opt=MANAGERS, status_code=303)
async def delete_window(
    db_session: DbSession, viewer: Viewer, resource_id: FromPath[str], window_id: FromPath[str]
) -> Redirect:
    await WindowService(db_session).delete(resource_id, window_id, viewer, None)
    return Redirect(f"/console/resources/{resource_id}/windows", status_code=303)


async def _closures_page(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    viewer: Viewer,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    return page(
        request,
        "closures.html",
        status_code=status_code,
        resources=await managed_resources(db_session, viewer),
        values=extra.pop("values", {"ids": []}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@get("/closures", opt=MANAGERS)
async def closures(
    request: Request[Any, Any, Any], db_session: DbSession, viewer: Viewer
) -> Template:
    return await _closures_page(request, db_session, viewer)


def _local_instant(text: str, zone: ZoneInfo, field: str) -> datetime:
    try:
        naive = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed([FieldError(field, "not a valid date and time")]) from exc
    return naive.replace(tzinfo=zone) if naive.tzinfo is None else naive


@post("/closures", opt=MANAGERS, status_code=200)
async def close_many(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Template:
    """One closure per ticked resource (an exam week for all grounds), each in the resource's
    own time zone; all or nothing: one refusal writes none of them."""
    form = await request.form()
    language = language_of(request)
    gettext = translations(language).gettext
    ids = [str(value) for value in form.getall("ids", [])][:200]
    starts_text = str(form.get("starts_at") or "")
    ends_text = str(form.get("ends_at") or "")
    reason = str(form.get("reason") or "")[:500]
    values = {"ids": ids, "starts_at": starts_text, "ends_at": ends_text, "reason": reason}
    if not ids:
        return await _closures_page(
            request,
            db_session,
            viewer,
            422,
            values=values,
            errors={"ids": gettext("Tick at least one resource.")},
        )
    results = []
    try:
        async with db_session.begin_nested():
            service = ResourceService(db_session)
            for resource_id in ids:
                resource, _ = await service.get_managed(resource_id, viewer)
                zone = ZoneInfo(resource.timezone)
                data = ClosureCreate(
                    starts_at=_local_instant(starts_text, zone, "starts_at"),
                    ends_at=_local_instant(ends_text, zone, "ends_at"),
                    reason=reason,
                )
                closure, _, affected = await ClosureService(db_session).create(
                    resource_id,
                    data,
                    viewer,
                    now,
                    request.app.state.settings.max_closures_per_resource,
                    notify=notify_affected,
                )
                results.append((resource, closure, affected))
    except ValidationFailed as error:
        return await _closures_page(
            request, db_session, viewer, 422, values=values, errors=field_errors(error, language)
        )
    except SchedulerError as error:
        return await _closures_page(
            request,
            db_session,
            viewer,
            error.status,
            values=values,
            errors={"ids": problem_text(error, language)},
        )
    return await _closures_page(request, db_session, viewer, results=results)


async def _gate_rows(
    request: Request[Any, Any, Any], db_session: DbSession, viewer: Viewer, now: datetime
) -> list[Any]:
    day = local_today(request, now).isoformat()
    rows, _ = await BookingQueries(db_session).bookings_for(
        viewer,
        statuses=["confirmed", "checked_in"],
        resource_id=request.query_params.get("resource_id") or None,
        partner_id=None,
        zone=None,
        start_text=day,
        end_text=day,
        limit=500,
        offset=0,
    )
    return rows


@get("/gate", opt=MANAGERS)
async def gate(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Template:
    """Today's bookings of the viewer's resources, with a check-in button each."""
    names = {r.id: r for r in await managed_resources(db_session, viewer)}
    return page(
        request,
        "gate.html",
        rows=await _gate_rows(request, db_session, viewer, now),
        resources=names,
        now=now,
        message=None,
    )


@post("/gate/{booking_id:str}/check-in", opt=MANAGERS, status_code=200)
async def check_in(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: Now,
    viewer: Viewer,
    booking_id: FromPath[str],
) -> Template:
    """Check a resident in (the same rules as ``POST /bookings/{id}/check-in``)."""
    message = None
    try:
        async with db_session.begin_nested():
            await BookingLifecycle(db_session).check_in(booking_id, viewer, None, now)
    except SchedulerError as error:
        message = problem_text(error, language_of(request))
    names = {r.id: r for r in await managed_resources(db_session, viewer)}
    return page(
        request,
        "gate.html",
        rows=await _gate_rows(request, db_session, viewer, now),
        resources=names,
        now=now,
        message=message,
        checked=booking_id if message is None else None,
    )


PARTNER_HANDLERS = [
    resources,
    windows,
    save_window,
    delete_window,
    closures,
    close_many,
    gate,
    check_in,
]
