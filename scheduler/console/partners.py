"""Partner units with plain forms (staff): list, create, edit. Resources and their units are
in ``resource_forms.py``.

Each form is read into the API's own request Struct and handed to the API's service, so the
checks, the problem codes and the field names in errors are the API's. Edits carry the
version the form was read at (the API's ETag): an edit made meanwhile by someone else is not
overwritten; the page says so and shows the current values next to what was typed.
"""

from __future__ import annotations

from typing import Any, get_args

from litestar import Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Redirect, Template

from scheduler.console.auth import STAFF_ONLY
from scheduler.console.forms import blank_to_none, convert, form_errors, if_match
from scheduler.console.rendering import language_of, page
from scheduler.dependencies import DbSession, Now
from scheduler.errors import PreconditionFailed, SchedulerError
from scheduler.partners.schemas import PartnerCreate, PartnerUpdate, ZoneKey
from scheduler.partners.services import PartnerService
from scheduler.resources.services import ResourceService

ZONES: tuple[str, ...] = get_args(ZoneKey)
PARTNER_FIELDS = ("name", "zone", "contact_name", "contact_phone", "contact_email", "description")


def _partner_values(form: FormMultiDict) -> dict[str, Any]:
    return {key: str(form.get(key) or "").strip() for key in ("id", *PARTNER_FIELDS)}


async def _partners_page(
    request: Request[Any, Any, Any], db_session: DbSession, status_code: int = 200, **extra: Any
) -> Template:
    partners, total = await PartnerService(db_session).list(zone=None, limit=500, offset=0)
    return page(
        request,
        "partners.html",
        status_code=status_code,
        partners=partners,
        total=total,
        zones=ZONES,
        values=extra.pop("values", {"zone": "campus"}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@get("/partners", opt=STAFF_ONLY)
async def partners(request: Request[Any, Any, Any], db_session: DbSession) -> Template:
    return await _partners_page(request, db_session)


@post("/partners", opt=STAFF_ONLY, status_code=200)
async def create_partner(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now
) -> Template | Redirect:
    values = _partner_values(await request.form())
    try:
        data = convert({k: v for k, v in values.items() if v}, PartnerCreate)
        async with db_session.begin_nested():
            partner = await PartnerService(db_session).create(data, now)
    except SchedulerError as error:
        errors = form_errors(error, language_of(request))
        return await _partners_page(request, db_session, error.status, values=values, errors=errors)
    return Redirect(f"/console/partners/{partner.id}?saved=1", status_code=303)


async def _partner_page(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    partner_id: str,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    partner = await PartnerService(db_session).get(partner_id)
    resources, _ = await ResourceService(db_session).resources.list(
        zone=None, kind=None, partner_id=partner_id, limit=500, offset=0
    )
    current = {key: getattr(partner, key) or "" for key in PARTNER_FIELDS}
    return page(
        request,
        "partner.html",
        status_code=status_code,
        partner=partner,
        current=current,
        resources=[resource for resource, _ in resources],
        zones=ZONES,
        values=extra.pop("values", current),
        version=extra.pop("version", partner.version),
        errors=extra.pop("errors", {}),
        **extra,
    )


@get("/partners/{partner_id:str}", opt=STAFF_ONLY)
async def partner(
    request: Request[Any, Any, Any], db_session: DbSession, partner_id: FromPath[str]
) -> Template:
    return await _partner_page(
        request, db_session, partner_id, saved=request.query_params.get("saved")
    )


@post("/partners/{partner_id:str}", opt=STAFF_ONLY, status_code=200)
async def update_partner(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, partner_id: FromPath[str]
) -> Template | Redirect:
    form = await request.form()
    values = _partner_values(form)
    fields: dict[str, Any] = {key: values[key] for key in PARTNER_FIELDS}
    fields.update({key: blank_to_none(fields[key]) for key in PARTNER_FIELDS[2:]})
    try:
        data = convert(fields, PartnerUpdate)
        async with db_session.begin_nested():
            await PartnerService(db_session).update(
                partner_id, data, if_match=if_match(form), now=now
            )
    except SchedulerError as error:
        stale = isinstance(error, PreconditionFailed)
        extra = {} if stale else {"version": str(form.get("version") or "")}
        return await _partner_page(
            request,
            db_session,
            partner_id,
            error.status,
            values=values,
            errors=form_errors(error, language_of(request)),
            stale=stale,
            **extra,
        )
    return Redirect(f"/console/partners/{partner_id}?saved=1", status_code=303)


PARTNER_SETUP_HANDLERS = [partners, create_partner, partner, update_partner]
