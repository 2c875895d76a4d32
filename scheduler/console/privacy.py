"""Resident records as personal data: merging two records of one person, the log of who read
whose phone or identity reference, and what is stored about one resident.

The same services as ``POST /residents/{id}/merge``, ``GET /personal-data-access`` and the
resident's own ``GET /residents/me``: a merge is for staff and the resident's workers, the
access log and a resident's full record are for staff, and showing the record is itself a
logged read.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from scheduler.console.auth import REGISTRY, STAFF_ONLY, Viewer
from scheduler.console.rendering import field_errors, language_of, page, problem_text
from scheduler.dependencies import DbSession, Now
from scheduler.errors import SchedulerError, ValidationFailed
from scheduler.residents.privacy import PrivacyService
from scheduler.residents.services import ResidentService
from scheduler.timeparams import parse_bound

LOG_PAGE = 100


def _id(text: object) -> str:
    return str(text or "").strip()[:64]


async def _merge_page(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: Now,
    viewer: Viewer,
    survivor_id: str,
    duplicate_id: str,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    """Both records side by side once both are chosen (each must be one the viewer manages)."""
    service = ResidentService(db_session)
    records: dict[str, Any] = {}
    errors: dict[str, str] = extra.pop("errors", {})
    for field, resident_id in (("survivor_id", survivor_id), ("duplicate_id", duplicate_id)):
        if not resident_id:
            continue
        try:
            records[field] = await service.viewed(await service.visible(resident_id, viewer), now)
        except SchedulerError as error:
            errors.setdefault(field, problem_text(error, language_of(request)))
    return page(
        request,
        "merge.html",
        status_code=status_code,
        survivor_id=survivor_id,
        duplicate_id=duplicate_id,
        survivor=records.get("survivor_id"),
        duplicate=records.get("duplicate_id"),
        errors=errors,
        **extra,
    )


@get("/residents/merge", opt=REGISTRY)
async def merge_form(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Template:
    """Choose the record to keep and the duplicate; both are shown before confirming."""
    query = request.query_params
    return await _merge_page(
        request, db_session, now, viewer, _id(query.get("survivor")), _id(query.get("duplicate"))
    )


@post("/residents/merge", opt=REGISTRY, status_code=200)
async def merge(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Template:
    """Merge the duplicate into the kept record (only with the confirmation ticked)."""
    form = await request.form()
    survivor_id, duplicate_id = _id(form.get("survivor_id")), _id(form.get("duplicate_id"))
    language = language_of(request)
    try:
        if form.get("confirm") != "yes":
            raise ValidationFailed.one("confirm", "Tick the box to confirm the merge.")
        async with db_session.begin_nested():
            survivor, done = await ResidentService(db_session).merge(
                survivor_id, duplicate_id, viewer, now
            )
    except SchedulerError as error:
        errors = field_errors(error, language) or {"form": problem_text(error, language)}
        return await _merge_page(
            request,
            db_session,
            now,
            viewer,
            survivor_id,
            duplicate_id,
            error.status,
            errors=errors,
        )
    return page(
        request,
        "merge.html",
        survivor_id=survivor.id,
        duplicate_id="",
        survivor=await ResidentService(db_session).viewed(survivor, now),
        duplicate=None,
        errors={},
        merged=done,
    )


@get("/personal-data-access", opt=STAFF_ONLY)
async def access_log(request: Request[Any, Any, Any], db_session: DbSession) -> Template:
    """Who read whose personal data, newest first; by resident, by reader, since a moment."""
    query = request.query_params
    filters = {key: _id(query.get(key)) for key in ("resident_id", "actor", "since")}
    errors: dict[str, str] = {}
    entries: list[Any] = []
    total = 0
    try:
        zone = ZoneInfo(request.app.state.settings.default_timezone)
        since = (
            parse_bound(filters["since"], "since", zone, is_end=False) if filters["since"] else None
        )
        entries, total = await PrivacyService(db_session).accesses(
            resident_id=filters["resident_id"] or None,
            actor_sub=filters["actor"] or None,
            since=since,
            limit=LOG_PAGE,
            offset=0,
        )
    except ValidationFailed as error:
        errors = field_errors(error, language_of(request))
    return page(
        request, "access_log.html", entries=entries, total=total, filters=filters, errors=errors
    )


@get("/residents/{resident_id:str}/stored", opt=STAFF_ONLY)
async def stored(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: Now,
    viewer: Viewer,
    resident_id: FromPath[str],
) -> Template:
    """Everything stored about one resident, as they would get it (a logged read)."""
    record = await PrivacyService(db_session).record_of(resident_id, viewer, request.url.path, now)
    return page(request, "stored.html", record=record)


PRIVACY_HANDLERS = [merge_form, merge, access_log, stored]
