"""Use case: usage reports over local days, grouped by zone, partner or resource."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.availability.services import AvailabilityService
from scheduler.core import usage
from scheduler.core.lifecycle import STATUSES
from scheduler.core.people_report import Figures, people_figures
from scheduler.core.timerange import TimeRange
from scheduler.core.zones import ZONES
from scheduler.db.catalogue import Partner, Resource
from scheduler.errors import ValidationFailed
from scheduler.stats import schemas
from scheduler.stats.repositories import StatsRepository
from scheduler.timeparams import parse_day

MAX_REPORT_DAYS = 366
# Slots are read as if it were long before all of them, so none is "past"; only "closed"
# matters to a report, and closures take precedence over every other status anyway.
_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)
ZONE_NAMES = {zone.key: f"{zone.name_zh} {zone.name_en}" for zone in ZONES}
CSV_FIELDS = (
    "key",
    "name",
    "open_hours",
    "capacity_hours",
    "booked_hours",
    "utilization",
    "no_show_rate",
    *(f"status_{status}" for status in STATUSES),
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class _Measured:
    resource: Resource
    partner: Partner
    usage: usage.Usage


def report_days(from_text: str, to_text: str) -> tuple[date, date]:
    """First and last day of a report, both included as everywhere in the API; at most
    ``MAX_REPORT_DAYS`` days in all."""
    first, last = parse_day(from_text, "from"), parse_day(to_text, "to")
    if last < first:
        raise ValidationFailed.one("to", "may not be before from")
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise ValidationFailed.one("to", f"a report spans at most {MAX_REPORT_DAYS} days")
    return first, last


def local_span(resource: Resource, start: date, end: date) -> TimeRange | None:
    """From local midnight of ``start`` to local midnight of ``end`` of the resource, in UTC,
    limited to the resource's lifetime."""
    zone = ZoneInfo(resource.timezone)
    first = datetime.combine(start, time(), zone).astimezone(UTC)
    last = datetime.combine(end, time(), zone).astimezone(UTC)
    first = max(first, resource.created_at)
    if resource.deleted_at is not None:
        last = min(last, resource.deleted_at)
    return TimeRange(first, last) if first < last else None


def _group_key(measured: _Measured, group_by: schemas.GroupBy) -> tuple[str, str]:
    if group_by == "zone":
        return measured.partner.zone, ZONE_NAMES.get(measured.partner.zone, measured.partner.zone)
    if group_by == "partner":
        return measured.partner.id, measured.partner.name
    return measured.resource.id, measured.resource.name


def to_row(key: str, name: str, figures: usage.Usage) -> schemas.UtilizationRow:
    rate = figures.no_show_rate
    return schemas.UtilizationRow(
        key=key,
        name=name,
        open_hours=usage.hours(figures.open_seconds),
        capacity_hours=usage.hours(figures.capacity_seconds),
        booked_hours=usage.hours(figures.booked_seconds),
        utilization=round(figures.utilization, 4),
        no_show_rate=None if rate is None else round(rate, 4),
        bookings_by_status={status: figures.statuses.get(status, 0) for status in STATUSES},
    )


def group_rows(
    measured: Iterable[_Measured], group_by: schemas.GroupBy
) -> list[schemas.UtilizationRow]:
    """One row per group that has a resource in scope, sorted by key; rates from the sums."""
    groups: dict[str, tuple[str, list[usage.Usage]]] = {}
    for item in measured:
        key, name = _group_key(item, group_by)
        groups.setdefault(key, (name, []))[1].append(item.usage)
    return [
        to_row(key, name, usage.total(usages)) for key, (name, usages) in sorted(groups.items())
    ]


class UtilizationService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.stats = StatsRepository(session)
        self.availability = AvailabilityService(session)

    async def report(
        self, caller: Principal, from_text: str, to_text: str, group_by: schemas.GroupBy
    ) -> schemas.Utilization:
        """Usage of the resources ``caller`` may report on (a partner: its own; staff: all)
        over the local days ``from`` to ``to`` (inclusive) of each resource."""
        first, last = report_days(from_text, to_text)
        start, end = first, last + timedelta(days=1)
        partner_id = None if caller.is_staff else (caller.partner or "")
        # Every zone's local days lie within a day of UTC's, so this bounds them all.
        widest = TimeRange(
            datetime.combine(start - timedelta(days=1), time(), UTC),
            datetime.combine(end + timedelta(days=1), time(), UTC),
        )
        resources = await self.stats.resources(partner_id, widest.start, widest.end)
        bookings = await self.stats.bookings(partner_id, widest)
        measured = []
        for resource, partner in resources:
            span = local_span(resource, start, end)
            figures = usage.Usage()
            if span is not None:
                slots = await self.availability.slots(resource, span, _LONG_AGO)
                figures = usage.slot_usage(slots) + usage.booking_usage(
                    bookings.get(resource.id, []), span
                )
            measured.append(_Measured(resource, partner, figures))
        return schemas.Utilization(first, last, group_by, group_rows(measured, group_by))


def _people_row(key: str, figures: Figures) -> schemas.PeopleRow:
    share = figures.proxy / figures.bookings if figures.bookings else 0.0
    return schemas.PeopleRow(
        key=key,
        residents=len(figures.residents),
        bookings=figures.bookings,
        self_made=figures.self_made,
        proxy=figures.proxy,
        walk_ins=figures.walk_ins,
        proxy_share=round(share, 4),
    )


class PeopleService:
    def __init__(self, session: AsyncSession) -> None:
        self.stats = StatsRepository(session)

    async def report(
        self, caller: Principal, from_text: str, to_text: str, zone: ZoneInfo
    ) -> schemas.People:
        """Who was served on the local days ``from`` to ``to`` (in ``zone``) on the resources
        ``caller`` may report on (a partner: its own; staff: all)."""
        first, last = report_days(from_text, to_text)
        span = TimeRange(
            datetime.combine(first, time(), zone),
            datetime.combine(last + timedelta(days=1), time(), zone),
        )
        partner_id = None if caller.is_staff else (caller.partner or "")
        figures = people_figures(await self.stats.served(partner_id, span))
        return schemas.People(
            first,
            last,
            _people_row("total", figures.total),
            [_people_row(key, row) for key, row in sorted(figures.by_community.items())],
            [_people_row(key, row) for key, row in sorted(figures.by_tag.items())],
        )


PEOPLE_CSV_FIELDS = (
    "breakdown",
    "key",
    "residents",
    "bookings",
    "self_made",
    "proxy",
    "walk_ins",
    "proxy_share",
)


def people_csv(report: schemas.People) -> str:
    """The people report as CSV: the total, then one row per community and per tag."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(PEOPLE_CSV_FIELDS)
    rows = [("total", report.total)]
    rows += [("community", row) for row in report.by_community]
    rows += [("tag", row) for row in report.by_tag]
    for breakdown, row in rows:
        writer.writerow(
            [
                breakdown,
                _cell(row.key),
                row.residents,
                row.bookings,
                row.self_made,
                row.proxy,
                row.walk_ins,
                row.proxy_share,
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """Text a spreadsheet would run as a formula is quoted (CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def as_csv(report: schemas.Utilization) -> str:
    """The report as CSV: a header row, then one row per group; statuses become columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for row in report.rows:
        writer.writerow(
            [
                _cell(row.key),
                _cell(row.name),
                row.open_hours,
                row.capacity_hours,
                row.booked_hours,
                row.utilization,
                "" if row.no_show_rate is None else row.no_show_rate,
                *(row.bookings_by_status.get(status, 0) for status in STATUSES),
            ]
        )
    return out.getvalue()
