"""Pages about residents, for neighbourhood workers (on a phone) and staff: find a resident,
record or correct one (a stale edit shows the current values), book for them or record a
walk-in; and the suspensions list with lift and excuse buttons.

Every action is the API's service with the signed-in user as the caller: a worker finds,
edits and books only for residents of their communities, exactly as through
``/api/v1/residents`` and ``POST /api/v1/bookings`` with ``on_behalf_of``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from scheduler.bookings.lifecycle import BookingLifecycle
from scheduler.bookings.schemas import BookingCreate, OnBehalfOf
from scheduler.bookings.services import BookingService
from scheduler.console.auth import EVERYONE_BUT_RESIDENTS, REGISTRY, Viewer
from scheduler.console.forms import blank_to_none, convert
from scheduler.console.i18n import translations
from scheduler.console.rendering import field_errors, language_of, page, problem_text
from scheduler.console.repositories import ConsoleRepository
from scheduler.core.booking_fields import FieldSpec, FieldValue
from scheduler.db.catalogue import Resource, User
from scheduler.dependencies import DbSession, Now
from scheduler.errors import FieldError, PreconditionFailed, SchedulerError, ValidationFailed
from scheduler.residents.schemas import ResidentCreate, ResidentUpdate
from scheduler.residents.services import ResidentService, view
from scheduler.residents.suspensions import SuspensionService, suspension_view
from scheduler.resources.services import ResourceService, declared_fields
from scheduler.versioning import etag

PAGE_SIZE = 30
NO_SHOW_DAYS = 90


def _resident_fields(form: FormMultiDict) -> dict[str, Any]:
    tags = [tag.strip() for tag in str(form.get("tags") or "").split(",") if tag.strip()]
    return {
        "name": str(form.get("name") or "").strip(),
        "community": str(form.get("community") or "").strip(),
        "phone": blank_to_none(form.get("phone")),
        "tags": tags,
        "id": blank_to_none(form.get("id")),
    }


@get("/residents", opt=REGISTRY)
async def residents(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    viewer: Viewer,
    q: FromQuery[str | None] = None,
    phone: FromQuery[str | None] = None,
) -> Template:
    """Find a resident by name (or id) or phone (the last 4 digits are enough)."""
    text, digits = (q or "").strip()[:100] or None, (phone or "").strip()[:40] or None
    errors: dict[str, str] = {}
    found: list[User] = []
    total = 0
    try:
        found, total = await ResidentService(db_session).search(
            viewer, text=text, phone=digits, community=None, limit=PAGE_SIZE, offset=0
        )
    except ValidationFailed as error:
        errors = field_errors(error, language_of(request))
    return page(
        request,
        "residents.html",
        residents=[view(user) for user in found],
        total=total,
        q=text or "",
        phone=digits or "",
        errors=errors,
        searched=bool(text or digits),
    )


def _communities(viewer: Viewer) -> tuple[str, ...]:
    return viewer.communities if viewer.is_worker else ()


@get("/residents/new", opt=REGISTRY)
async def new_resident(request: Request[Any, Any, Any], viewer: Viewer) -> Template:
    first = _communities(viewer)[:1]
    return page(
        request,
        "resident_form.html",
        resident=None,
        values={"community": first[0] if first else ""},
        communities=_communities(viewer),
        errors={},
    )


@post("/residents/new", opt=REGISTRY, status_code=200)
async def create_resident(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Template | Redirect:
    values = _resident_fields(await request.form())
    try:
        data = convert({k: v for k, v in values.items() if v is not None}, ResidentCreate)
        async with db_session.begin_nested():
            user = await ResidentService(db_session).create(data, viewer, now)
    except SchedulerError as error:
        errors = field_errors(error, language_of(request)) or {
            "form": problem_text(error, language_of(request))
        }
        return page(
            request,
            "resident_form.html",
            status_code=error.status,
            resident=None,
            values=values,
            communities=_communities(viewer),
            errors=errors,
        )
    return Redirect(f"/console/residents/{user.id}?saved=1", status_code=303)


@get("/residents/{resident_id:str}", opt=REGISTRY)
async def edit_resident(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: Now,
    viewer: Viewer,
    resident_id: FromPath[str],
) -> Template:
    service = ResidentService(db_session)
    resident = await service.viewed(await service.visible(resident_id, viewer), now)
    return page(
        request,
        "resident_form.html",
        resident=resident,
        values={
            "name": resident.name,
            "community": resident.community or "",
            "tags": ", ".join(resident.tags),
        },
        version=resident.version,
        communities=_communities(viewer),
        errors={},
        saved=request.query_params.get("saved"),
    )


@post("/residents/{resident_id:str}", opt=REGISTRY, status_code=200)
async def update_resident(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: Now,
    viewer: Viewer,
    resident_id: FromPath[str],
) -> Template | Redirect:
    """Correct a record; the form carries the version it was read at (the API's ETag), so an
    edit made meanwhile by someone else is not overwritten: the page says so and shows the
    record as it is now next to what was typed."""
    form = await request.form()
    values = _resident_fields(form)
    version = str(form.get("version") or "")
    service = ResidentService(db_session)
    language = language_of(request)
    fields = {k: v for k, v in values.items() if k != "id" and v is not None}
    try:
        data = convert(fields, ResidentUpdate)
        async with db_session.begin_nested():
            await service.update(
                resident_id, data, viewer, etag(int(version)) if version.isdigit() else None, now
            )
    except SchedulerError as error:
        current = await service.viewed(await service.visible(resident_id, viewer), now)
        stale = isinstance(error, PreconditionFailed)
        return page(
            request,
            "resident_form.html",
            status_code=error.status,
            resident=current,
            values=values,
            version=current.version if stale else version,
            communities=_communities(viewer),
            errors=field_errors(error, language) or {"form": problem_text(error, language)},
            stale=stale,
        )
    return Redirect(f"/console/residents/{resident_id}?saved=1", status_code=303)


async def _bookable(db_session: DbSession) -> list[Resource]:
    rows, _ = await ResourceService(db_session).resources.list(
        zone=None, kind=None, partner_id=None, limit=500, offset=0
    )
    return [resource for resource, _ in rows]


def _default_times(now: datetime, zone: ZoneInfo) -> dict[str, str]:
    """The hour in progress (what a walk-in needs), in local time."""
    local = now.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    return {
        "day": local.date().isoformat(),
        "start": local.strftime("%H:%M"),
        "end": (local + timedelta(hours=1)).strftime("%H:%M"),
        "quantity": "1",
    }


def _form_fields(form: FormMultiDict, specs: list[FieldSpec]) -> dict[str, FieldValue]:
    """The chosen resource's booking fields from the form (``fields.<name>`` inputs), typed
    as the API takes them; what does not parse is passed on as text, so the booking's own
    check names it."""
    found: dict[str, FieldValue] = {}
    for spec in specs:
        text = str(form.get(f"fields.{spec.name}") or "").strip()
        if spec.type == "boolean":
            found[spec.name] = text in ("on", "true", "1")
        elif text and spec.type == "integer":
            found[spec.name] = int(text) if text.lstrip("-").isdigit() else text
        elif text:
            found[spec.name] = text
    return found


async def _book_page(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: datetime,
    viewer: Viewer,
    resident_id: str,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    service = ResidentService(db_session)
    resident = await service.viewed(await service.visible(resident_id, viewer), now)
    zone = ZoneInfo(request.app.state.settings.default_timezone)
    values = extra.pop("values", _default_times(now, zone))
    chosen = await db_session.get(Resource, values.get("resource_id") or "")
    return page(
        request,
        "book.html",
        status_code=status_code,
        resident=resident,
        resources=await _bookable(db_session),
        values=values,
        # The chosen resource's booking fields (shown once a resource is chosen and sent).
        field_specs=declared_fields(chosen) if chosen else [],
        field_values=extra.pop("field_values", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@get("/residents/{resident_id:str}/book", opt=REGISTRY)
async def book_form(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: Now,
    viewer: Viewer,
    resident_id: FromPath[str],
) -> Template:
    return await _book_page(request, db_session, now, viewer, resident_id)


def _local(day: str, clock: str, zone: ZoneInfo, field: str) -> datetime:
    try:
        value = datetime.combine(date.fromisoformat(day), datetime.strptime(clock, "%H:%M").time())
    except ValueError as exc:
        raise ValidationFailed([FieldError(field, "not a valid date and time")]) from exc
    return value.replace(tzinfo=zone).astimezone(UTC)


@post("/residents/{resident_id:str}/book", opt=REGISTRY, status_code=200)
async def book_for(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: Now,
    viewer: Viewer,
    resident_id: FromPath[str],
) -> Template:
    """Book for the resident (``on_behalf_of``), or record a walk-in: checked in at once, for
    the time in progress. Refusals are the API's, shown next to the form."""
    form = await request.form()
    language = language_of(request)
    values = {
        key: str(form.get(key) or "").strip()
        for key in ("resource_id", "day", "start", "end", "quantity", "note")
    }
    walk_in = form.get("intent") == "walk_in"
    resident = await ResidentService(db_session).visible(resident_id, viewer)
    fields: dict[str, FieldValue] = {}
    try:
        resource = await db_session.get(Resource, values["resource_id"] or "")
        if resource is None:
            raise ValidationFailed([FieldError("resource_id", "choose a resource")])
        fields = _form_fields(form, declared_fields(resource))
        zone = ZoneInfo(resource.timezone)
        starts = _local(values["day"], values["start"], zone, "start")
        ends = _local(values["day"], values["end"], zone, "end")
        if ends <= starts:
            ends += timedelta(days=1)
        data = convert(
            {
                "resource_id": resource.id,
                "starts_at": starts.isoformat(),
                "ends_at": ends.isoformat(),
                "quantity": values["quantity"] or "1",
                "note": values["note"] or None,
                "on_behalf_of": {"sub": resident.id},
                "walk_in": walk_in,
                "fields": fields or None,
            },
            BookingCreate,
        )
        assert isinstance(data.on_behalf_of, OnBehalfOf)
        async with db_session.begin_nested():
            booking = await BookingService(db_session).create(data, viewer, now)
    except ValidationFailed as error:
        return await _book_page(
            request,
            db_session,
            now,
            viewer,
            resident_id,
            422,
            values=values,
            field_values=fields,
            errors=field_errors(error, language),
        )
    except SchedulerError as error:
        return await _book_page(
            request,
            db_session,
            now,
            viewer,
            resident_id,
            error.status,
            values=values,
            field_values=fields,
            errors={"form": problem_text(error, language)},
        )
    return await _book_page(
        request,
        db_session,
        now,
        viewer,
        resident_id,
        values=values,
        booked=booking,
        booked_resource=resource,
        walk_in=walk_in,
    )


async def _suspensions_page(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: datetime,
    viewer: Viewer,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    rows, total = await SuspensionService(db_session).running(viewer, now, 200, 0)
    no_shows = await ConsoleRepository(db_session).no_shows(
        [user.id for _, user in rows], now - timedelta(days=NO_SHOW_DAYS)
    )
    return page(
        request,
        "suspensions.html",
        status_code=status_code,
        suspensions=[suspension_view(suspension, user) for suspension, user in rows],
        total=total,
        no_shows=no_shows,
        may_decide=viewer.role in ("partner", "staff", "admin"),
        **extra,
    )


@get("/suspensions", opt=EVERYONE_BUT_RESIDENTS)
async def suspensions(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Template:
    """Running suspensions (staff: all; a partner: on its own; a worker: their residents'),
    each with the no-shows behind it."""
    return await _suspensions_page(request, db_session, now, viewer)


@post("/suspensions/{suspension_id:str}/lift", opt=EVERYONE_BUT_RESIDENTS, status_code=200)
async def lift(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: Now,
    viewer: Viewer,
    suspension_id: FromPath[str],
) -> Template:
    gettext = translations(language_of(request)).gettext
    try:
        async with db_session.begin_nested():
            await SuspensionService(db_session).lift(suspension_id, viewer, now)
    except SchedulerError as error:
        return await _suspensions_page(
            request,
            db_session,
            now,
            viewer,
            error.status,
            message=problem_text(error, language_of(request)),
        )
    return await _suspensions_page(
        request, db_session, now, viewer, done=gettext("The suspension is lifted.")
    )


@post("/no-shows/{booking_id:str}/excuse", opt=EVERYONE_BUT_RESIDENTS, status_code=200)
async def excuse(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: Now,
    viewer: Viewer,
    booking_id: FromPath[str],
) -> Template:
    """Excuse a no-show (a reason is required): it stops counting, and a suspension the
    no-show rule made is lifted if the rest no longer reach the limit."""
    form = await request.form()
    language = language_of(request)
    gettext = translations(language).gettext
    reason = str(form.get("reason") or "").strip()[:2000]
    if not reason:
        return await _suspensions_page(
            request,
            db_session,
            now,
            viewer,
            422,
            message=gettext("Excusing a no-show needs a reason."),
        )
    try:
        async with db_session.begin_nested():
            await BookingLifecycle(db_session).excuse(booking_id, viewer, reason, None, now)
    except SchedulerError as error:
        return await _suspensions_page(
            request, db_session, now, viewer, error.status, message=problem_text(error, language)
        )
    return await _suspensions_page(
        request, db_session, now, viewer, done=gettext("The no-show is excused.")
    )


PEOPLE_HANDLERS = [
    residents,
    new_resident,
    create_resident,
    edit_resident,
    update_resident,
    book_form,
    book_for,
    suspensions,
    lift,
    excuse,
]
