"""School terms of a partner unit (a school's term and vacation dates): list, add, remove,
through the same calendar service as ``/api/v1/partners/{id}/terms``. A partner manages its
own terms; staff choose the partner. Days outside every term are non-school days."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from scheduler.calendar.schemas import TermCreate
from scheduler.calendar.services import CalendarService
from scheduler.console.auth import MANAGERS, Viewer
from scheduler.console.forms import convert
from scheduler.console.rendering import field_errors, language_of, page, problem_text
from scheduler.dependencies import DbSession, Now
from scheduler.errors import SchedulerError, ValidationFailed
from scheduler.partners.services import PartnerService


def _partner_of(viewer: Viewer, requested: str | None) -> str | None:
    """A partner's own unit whatever is asked; the chosen one for staff."""
    if viewer.role == "partner":
        return viewer.partner
    return (requested or "").strip()[:64] or None


async def _terms_page(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    viewer: Viewer,
    partner_id: str | None,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    partners: list[Any] = []
    if viewer.is_staff:
        partners, _ = await PartnerService(db_session).list(zone=None, limit=500, offset=0)
    terms = await CalendarService(db_session).terms(partner_id) if partner_id else []
    return page(
        request,
        "terms.html",
        status_code=status_code,
        partner_id=partner_id or "",
        partners=partners,
        terms=terms,
        values=extra.pop("values", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@get("/terms", opt=MANAGERS)
async def terms(request: Request[Any, Any, Any], db_session: DbSession, viewer: Viewer) -> Template:
    partner_id = _partner_of(viewer, request.query_params.get("partner_id"))
    return await _terms_page(
        request, db_session, viewer, partner_id, saved=request.query_params.get("saved")
    )


@post("/terms", opt=MANAGERS, status_code=200)
async def add_term(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Template | Redirect:
    """Add a term (name, first and last day); the API's checks name the field at fault."""
    form = await request.form()
    partner_id = _partner_of(viewer, str(form.get("partner_id") or ""))
    values = {key: str(form.get(key) or "").strip() for key in ("name", "starts_on", "ends_on")}
    language = language_of(request)
    try:
        if not partner_id:
            raise ValidationFailed.one("partner_id", "Choose a partner unit first.")
        data = convert(values, TermCreate)
        async with db_session.begin_nested():
            term = await CalendarService(db_session).add_term(partner_id, data, viewer, now)
    except SchedulerError as error:
        errors = field_errors(error, language) or {"form": problem_text(error, language)}
        return await _terms_page(
            request, db_session, viewer, partner_id, error.status, values=values, errors=errors
        )
    return Redirect(f"/console/terms?partner_id={partner_id}&saved={term.id}", status_code=303)


@post("/terms/{term_id:str}/delete", opt=MANAGERS, status_code=303)
async def delete_term(
    request: Request[Any, Any, Any], db_session: DbSession, viewer: Viewer, term_id: FromPath[str]
) -> Redirect:
    form = await request.form()
    partner_id = _partner_of(viewer, str(form.get("partner_id") or "")) or ""
    await CalendarService(db_session).delete_term(partner_id, term_id, viewer)
    return Redirect(f"/console/terms?partner_id={partner_id}", status_code=303)


TERM_HANDLERS = [terms, add_term, delete_term]
