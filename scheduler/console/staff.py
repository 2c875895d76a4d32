"""Staff pages: today, the approvals queue (bulk decisions), the official calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from scheduler.bookings.lifecycle import BookingLifecycle
from scheduler.bookings.queries import BookingQueries
from scheduler.calendar.schemas import DayCorrection
from scheduler.calendar.services import CalendarService
from scheduler.console.auth import MANAGERS, STAFF_ONLY, Viewer
from scheduler.console.forms import convert
from scheduler.console.i18n import translations
from scheduler.console.rendering import field_errors, language_of, page, problem_text
from scheduler.console.repositories import ConsoleRepository
from scheduler.core.calendar import CORRECTABLE
from scheduler.core.lifecycle import Action
from scheduler.dependencies import DbSession, Now
from scheduler.errors import SchedulerError, ValidationFailed
from scheduler.partners.schemas import ZoneKey

ZONES: tuple[str, ...] = get_args(ZoneKey)
MAX_BULK = 200
# What staff paste from the State Council notice: 班 = make-up working day, 休 = rest day.
DAY_WORDS: dict[str, str] = {"班": "workday", "休": "rest_day", "假": "holiday"}
DAY_WORDS.update({kind: kind for kind in CORRECTABLE})


def local_today(request: Request[Any, Any, Any], now: datetime) -> date:
    return now.astimezone(ZoneInfo(request.app.state.settings.default_timezone)).date()


@get("/", opt={"roles": ("worker", *MANAGERS["roles"])})
async def today(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Template | Redirect:
    """Bookings today per zone, pending approvals, suspended residents, the jobs' health.
    A neighbourhood worker starts from the resident search instead."""
    if viewer.is_worker:
        return Redirect("/console/residents", status_code=303)
    day = local_today(request, now).isoformat()
    queries = BookingQueries(db_session)
    per_zone = {}
    for zone in ZONES:
        _, total = await queries.bookings_for(
            viewer,
            statuses=["pending", "confirmed", "checked_in"],
            resource_id=None,
            partner_id=None,
            zone=zone,
            start_text=day,
            end_text=day,
            limit=1,
            offset=0,
        )
        per_zone[zone] = total
    pending, pending_total = await queries.approvals(
        viewer, zone=None, partner_id=None, resource_id=None, limit=5, offset=0
    )
    suspended, suspended_total = (
        await ConsoleRepository(db_session).suspended_users(now) if viewer.is_staff else ([], 0)
    )
    runner = request.app.state.job_runner
    return page(
        request,
        "today.html",
        per_zone=per_zone,
        pending=pending,
        pending_total=pending_total,
        suspended=suspended,
        suspended_total=suspended_total,
        jobs=runner.role if runner else "disabled",
        now=now,
    )


@get("/approvals", opt=MANAGERS)
async def approvals(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    viewer: Viewer,
    zone: FromQuery[str | None] = None,
    resource_id: FromQuery[str | None] = None,
) -> Template:
    return await _approvals_page(request, db_session, viewer, zone, resource_id)


async def _approvals_page(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    viewer: Viewer,
    zone: str | None,
    resource_id: str | None,
    **extra: Any,
) -> Template:
    rows, total = await BookingQueries(db_session).approvals(
        viewer,
        zone=zone if zone in ZONES else None,
        partner_id=None,
        resource_id=resource_id or None,
        limit=MAX_BULK,
        offset=0,
    )
    return page(
        request,
        "approvals.html",
        rows=rows,
        total=total,
        zones=ZONES,
        zone=zone or "",
        resource_id=resource_id or "",
        **extra,
    )


@post("/approvals", opt=MANAGERS, status_code=200)
async def decide_many(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Template:
    """Approve or reject every ticked booking, each on its own (one refusal does not stop the
    others), through the same lifecycle as ``POST /bookings/{id}/approve``."""
    form = await request.form()
    language = language_of(request)
    gettext = translations(language).gettext
    ids = [str(value) for value in form.getall("ids", [])][:MAX_BULK]
    action: Action = "reject" if form.get("action") == "reject" else "approve"
    reason = str(form.get("reason") or "").strip()[:500] or None
    errors: dict[str, str] = {}
    if not ids:
        errors["ids"] = gettext("Tick at least one booking.")
    if action == "reject" and not reason:
        errors["reason"] = gettext("A rejection needs a reason; the resident will see it.")
    results: list[tuple[str, bool, str]] = []
    if not errors:
        lifecycle = BookingLifecycle(db_session)
        for booking_id in ids:
            try:
                async with db_session.begin_nested():
                    booking = await lifecycle.decide(booking_id, action, viewer, reason, None, now)
                results.append((booking_id, True, gettext(booking.status)))
            except SchedulerError as error:
                results.append((booking_id, False, problem_text(error, language)))
    return await _approvals_page(
        request,
        db_session,
        viewer,
        str(form.get("zone") or ""),
        str(form.get("resource_id") or ""),
        errors=errors,
        results=results,
        reason=reason or "",
    )


def parse_calendar_lines(
    text: str, default_type: str
) -> tuple[list[tuple[str, str, str | None]], list[str]]:
    """``2027-02-07 班 春节调休`` per line -> (date, day type, name); problems by line number."""
    entries: list[tuple[str, str, str | None]] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.replace(",", " ").replace("\t", " ").split(maxsplit=2)
        if not parts:
            continue
        day_text = parts[0]
        kind = DAY_WORDS.get(parts[1], "") if len(parts) > 1 else default_type
        name = parts[2].strip()[:200] if len(parts) > 2 else None
        try:
            date.fromisoformat(day_text)
            valid_date = len(day_text) == 10
        except ValueError:
            valid_date = False
        if not valid_date:
            problems.append(f"{number}: {day_text}")
        elif kind not in CORRECTABLE:
            problems.append(f"{number}: {parts[1] if len(parts) > 1 else ''}")
        else:
            entries.append((day_text, kind, name))
    return entries, problems


async def _calendar_page(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: Now,
    month: str | None,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    today_date = local_today(request, now)
    try:
        first = date.fromisoformat(f"{month}-01") if month else today_date.replace(day=1)
    except ValueError:
        first = today_date.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    days = await CalendarService(db_session).days(
        first.isoformat(), last.isoformat(), None, today_date
    )
    return page(
        request,
        "calendar.html",
        status_code=status_code,
        days=days,
        month=first.strftime("%Y-%m"),
        previous=(first - timedelta(days=1)).strftime("%Y-%m"),
        following=(last + timedelta(days=1)).strftime("%Y-%m"),
        kinds=CORRECTABLE,
        one=extra.pop(
            "one", {"day": extra.get("corrected") or today_date.isoformat(), "day_type": "holiday"}
        ),
        one_errors=extra.pop("one_errors", {}),
        **extra,
    )


@get("/calendar", opt=STAFF_ONLY)
async def calendar(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: Now,
    month: FromQuery[str | None] = None,
) -> Template:
    return await _calendar_page(request, db_session, now, month)


@post("/calendar/import", opt=STAFF_ONLY, status_code=200)
async def import_days(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Template:
    """Correct many dates at once (the year's holiday and make-up working-day schedule): all
    lines are checked first, and nothing is written if any line is wrong."""
    form = await request.form()
    gettext = translations(language_of(request)).gettext
    text = str(form.get("lines") or "")
    default_type = str(form.get("default_type") or "workday")
    entries, problems = parse_calendar_lines(text, default_type)
    errors: dict[str, str] = {}
    if problems:
        errors["lines"] = gettext("These lines are not understood:") + " " + "; ".join(problems)
    elif not entries:
        errors["lines"] = gettext("Paste at least one date.")
    else:
        service = CalendarService(db_session)
        for day_text, kind, name in entries[:400]:
            await service.correct(day_text, DayCorrection(day_type=kind, name=name), viewer, now)  # type: ignore[arg-type]
    month = entries[0][0][:7] if entries and not errors else str(form.get("month") or "") or None
    return await _calendar_page(
        request,
        db_session,
        now,
        month,
        errors=errors,
        lines=text if errors else "",
        imported=0 if errors else len(entries),
    )


@post("/calendar/correct", opt=STAFF_ONLY, status_code=200)
async def correct_day(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Template:
    """One day's correction (a holiday, a make-up working day…), as ``PUT
    /calendar/days/{day}``; a date or type the API refuses is shown next to its field."""
    form = await request.form()
    day_text = str(form.get("day") or "").strip()[:10]
    values = {
        "day": day_text,
        "day_type": str(form.get("day_type") or ""),
        "name": str(form.get("name") or "").strip(),
    }
    language = language_of(request)
    try:
        data = convert(
            {"day_type": values["day_type"], "name": values["name"] or None}, DayCorrection
        )
        async with db_session.begin_nested():
            await CalendarService(db_session).correct(day_text, data, viewer, now)
    except ValidationFailed as error:
        return await _calendar_page(
            request,
            db_session,
            now,
            str(form.get("month") or "") or None,
            status_code=422,
            one_errors=field_errors(error, language),
            one=values,
        )
    return await _calendar_page(request, db_session, now, day_text[:7], corrected=day_text)


@post("/calendar/revert", opt=STAFF_ONLY, status_code=200)
async def revert_day(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Template:
    """Remove one day's correction: the date follows the official calendar again."""
    form = await request.form()
    day_text = str(form.get("day") or "")
    await CalendarService(db_session).revert(day_text)
    return await _calendar_page(request, db_session, now, day_text[:7] or None, reverted=day_text)


STAFF_HANDLERS = [today, approvals, decide_many, calendar, import_days, correct_day, revert_day]
