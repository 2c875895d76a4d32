"""A resource's week (slots coloured by how full they are, the bookings in each, closures) and
usage reports with server-rendered SVG charts and CSV download, for partners (their own
resources) and staff (all): the availability, booking and report services of the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo

from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from scheduler.availability.services import AvailabilityService
from scheduler.bookings.queries import BookingQueries
from scheduler.closures.services import ClosureService
from scheduler.console.auth import MANAGERS, Viewer
from scheduler.console.rendering import field_errors, language_of, page
from scheduler.console.repositories import ConsoleRepository
from scheduler.console.staff import local_today
from scheduler.core.availability import Slot
from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import Booking
from scheduler.dependencies import DbSession, Now
from scheduler.errors import ValidationFailed
from scheduler.resources.services import ResourceService
from scheduler.stats import schemas as stats
from scheduler.stats.services import UtilizationService, as_csv

ACTIVE = ["pending", "confirmed", "checked_in", "offered", "waitlisted"]
GROUPS: tuple[str, ...] = get_args(stats.GroupBy)
MAX_TREND_WEEKS = 8


@dataclass
class SlotView:
    slot: Slot
    starts_local: str
    bookings: list[Booking] = field(default_factory=list)

    @property
    def fill(self) -> str:
        """The slot's colour class: closed, past, or how full it is."""
        if self.slot.status in ("closed", "past"):
            return self.slot.status
        if self.slot.capacity <= 0 or self.slot.held >= self.slot.capacity:
            return "full"
        ratio = self.slot.held / self.slot.capacity
        return "empty" if ratio == 0 else ("low" if ratio < 0.5 else "high")


def _week_start(text: str | None, today: date) -> date:
    try:
        chosen = date.fromisoformat(text) if text and len(text) == 10 else today
    except ValueError:
        chosen = today
    return chosen - timedelta(days=chosen.weekday())


@get("/resources/{resource_id:str}/week", opt=MANAGERS)
async def week(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    now: Now,
    viewer: Viewer,
    resource_id: FromPath[str],
    start: FromQuery[str | None] = None,
) -> Template:
    """Monday to Sunday of one resource (a partner's own), in the resource's time zone."""
    resource, _ = await ResourceService(db_session).get_managed(resource_id, viewer)
    zone = ZoneInfo(resource.timezone)
    monday = _week_start(start, now.astimezone(zone).date())
    days = [monday + timedelta(days=offset) for offset in range(7)]
    first = datetime.combine(monday, datetime.min.time(), zone).astimezone(UTC)
    span = TimeRange(first, first + timedelta(days=7))
    slots = await AvailabilityService(db_session).slots(resource, span, now)
    bookings, _ = await BookingQueries(db_session).bookings_for(
        viewer,
        statuses=ACTIVE,
        resource_id=resource.id,
        partner_id=None,
        zone=None,
        start_text=(monday - timedelta(days=1)).isoformat(),
        end_text=(monday + timedelta(days=7)).isoformat(),
        limit=1000,
        offset=0,
    )
    by_day: dict[date, list[SlotView]] = {day: [] for day in days}
    for slot in slots:
        view = SlotView(slot, slot.range.start.astimezone(zone).isoformat())
        view.bookings = [
            b for b in bookings if b.starts_at < slot.range.end and slot.range.start < b.ends_at
        ]
        by_day.setdefault(slot.range.start.astimezone(zone).date(), []).append(view)
    closures = await ClosureService(db_session).list(
        resource.id, monday.isoformat(), days[-1].isoformat()
    )
    return page(
        request,
        "week.html",
        resource=resource,
        days=days,
        by_day=by_day,
        closures=closures,
        previous=(monday - timedelta(days=7)).isoformat(),
        following=(monday + timedelta(days=7)).isoformat(),
    )


SCALES = (0.05, 0.1, 0.25, 0.5, 1.0)


def scale_for(values: list[float]) -> float:
    """The chart's full width: the smallest of 5, 10, 25, 50 or 100 % holding every value
    (low figures stay readable; the axis says which scale is used)."""
    top = max(values, default=0.0)
    return next((scale for scale in SCALES if top <= scale), 1.0)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    y: int
    width: float


def bars(rows: list[stats.UtilizationRow], attribute: str, width: int = 400) -> list[Bar]:
    """Horizontal bars of one figure per row, on the scale of ``scale_for``."""
    values = [getattr(row, attribute) or 0.0 for row in rows]
    scale = scale_for(values)
    return [
        Bar(row.name, value, index * 28, round(min(value / scale, 1.0) * width, 1))
        for index, (row, value) in enumerate(zip(rows, values, strict=True))
    ]


def share_bars(
    rows: list[stats.UtilizationRow], shares: dict[str, float | None], width: int = 400
) -> list[Bar]:
    values = [shares.get(row.key) or 0.0 for row in rows]
    scale = scale_for(values)
    return [
        Bar(row.name, value, index * 28, round(min(value / scale, 1.0) * width, 1))
        for index, (row, value) in enumerate(zip(rows, values, strict=True))
    ]


@dataclass(frozen=True)
class Point:
    label: str
    value: float
    x: float
    y: float


def trend_points(
    values: list[tuple[str, float]], width: int = 560, height: int = 160
) -> list[Point]:
    """A polyline's points for utilization per week (0 at the bottom, the scale at the top)."""
    step = width / max(len(values) - 1, 1)
    scale = scale_for([value for _, value in values])
    return [
        Point(
            label,
            value,
            round(index * step, 1),
            round(height - min(value / scale, 1.0) * height, 1),
        )
        for index, (label, value) in enumerate(values)
    ]


def _report_span(request: Request[Any, Any, Any], now: datetime) -> tuple[str, str, str]:
    today = local_today(request, now)
    start = request.query_params.get("from") or (today - timedelta(days=27)).isoformat()
    end = request.query_params.get("to") or today.isoformat()
    group_by = request.query_params.get("group_by") or "zone"
    return start, end, group_by if group_by in GROUPS else "zone"


async def _trend(
    service: UtilizationService, viewer: Viewer, first: date, last: date
) -> list[tuple[str, float]]:
    """Utilization of all the viewer's resources per week of the report (at most 8 weeks:
    the last ones)."""
    weeks: list[tuple[date, date]] = []
    end = last
    while end >= first and len(weeks) < MAX_TREND_WEEKS:
        begin = max(first, end - timedelta(days=6))
        weeks.insert(0, (begin, end))
        end = begin - timedelta(days=1)
    values = []
    for begin, end in weeks:
        report = await service.report(viewer, begin.isoformat(), end.isoformat(), "zone")
        capacity = sum(row.capacity_hours for row in report.rows)
        booked = sum(row.booked_hours for row in report.rows)
        values.append((begin.strftime("%m-%d"), booked / capacity if capacity else 0.0))
    return values


async def proxy_shares(
    db_session: DbSession, viewer: Viewer, report: stats.Utilization, timezone: str
) -> dict[str, float | None]:
    """Per report row: the share of its bookings made for the holder by someone else (a
    worker, staff or a partner booking on behalf, or recording a walk-in)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(report.from_, datetime.min.time(), zone).astimezone(UTC)
    end = datetime.combine(report.to + timedelta(days=1), datetime.min.time(), zone)
    partner = None if viewer.is_staff else (viewer.partner or "")
    counts: dict[str, list[int]] = {}
    for resource_id, partner_id, zone_key, total, by_others in await ConsoleRepository(
        db_session
    ).proxy_counts(partner, start, end.astimezone(UTC)):
        key = {"zone": zone_key, "partner": partner_id}.get(report.group_by, resource_id)
        summed = counts.setdefault(key, [0, 0])
        summed[0] += total
        summed[1] += by_others
    return {
        row.key: (counts[row.key][1] / counts[row.key][0]) if counts.get(row.key, [0])[0] else None
        for row in report.rows
    }


@get("/reports", opt=MANAGERS)
async def reports(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Template:
    """Utilization and no-show rate by zone, partner or resource, a weekly trend, CSV."""
    start, end, group_by = _report_span(request, now)
    service = UtilizationService(db_session)
    values = {"from": start, "to": end, "group_by": group_by}
    try:
        report = await service.report(viewer, start, end, group_by)  # type: ignore[arg-type]
    except ValidationFailed as error:
        return page(
            request,
            "reports.html",
            status_code=422,
            values=values,
            groups=GROUPS,
            report=None,
            errors=field_errors(error, language_of(request)),
        )
    trend = await _trend(service, viewer, report.from_, report.to)
    shares = await proxy_shares(
        db_session, viewer, report, request.app.state.settings.default_timezone
    )
    return page(
        request,
        "reports.html",
        values=values,
        groups=GROUPS,
        report=report,
        utilization=bars(report.rows, "utilization"),
        utilization_scale=scale_for([row.utilization for row in report.rows]),
        no_shows=bars(report.rows, "no_show_rate"),
        no_show_scale=scale_for([row.no_show_rate or 0.0 for row in report.rows]),
        proxy=shares,
        proxy_bars=share_bars(report.rows, shares),
        proxy_scale=scale_for([share or 0.0 for share in shares.values()]),
        trend=trend_points(trend),
        trend_scale=scale_for([value for _, value in trend]),
        errors={},
    )


@get("/reports/csv", opt=MANAGERS)
async def reports_csv(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Response[str]:
    """The same rows as CSV (the API's ``Accept: text/csv`` form of the report)."""
    start, end, group_by = _report_span(request, now)
    report = await UtilizationService(db_session).report(viewer, start, end, group_by)  # type: ignore[arg-type]
    name = f"utilization-{group_by}-{report.from_.isoformat()}-{report.to.isoformat()}.csv"
    return Response(
        as_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


REPORT_HANDLERS = [week, reports, reports_csv]
