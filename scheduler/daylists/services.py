"""Day lists: the gate's list of tonight's cars, the kitchen's list of today's meals, a room's
list of today's meetings, each with the booking fields the caller's role may read.

A day list holds the bookings of one resource that start on one local day of the resource
(a night from 18:00 to 08:00 is on the list of the day it starts) and hold or held their
places: confirmed, checked in or completed.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.core.booking_fields import FieldSpec, FieldValue, choice_totals, columns
from scheduler.daylists import schemas
from scheduler.daylists.repositories import DayListRepository
from scheduler.db.bookings import Booking
from scheduler.resources.services import ResourceService, declared_fields
from scheduler.timeparams import parse_day

LISTED = ("confirmed", "checked_in", "completed")
MAX_ROWS = 2000
CSV_FIXED = ("start", "end", "unit", "quantity", "holder", "status", "booking_id")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class DayListService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.resources = ResourceService(session)
        self.rows = DayListRepository(session)

    async def day_list(
        self, resource_id: str, day_text: str | None, caller: Principal, now: datetime
    ) -> schemas.DayList:
        """The list of ``resource_id`` for the local day ``day_text`` (default today), for
        its partner and staff only."""
        resource, _ = await self.resources.get_managed(resource_id, caller)
        zone = ZoneInfo(resource.timezone)
        day = parse_day(day_text, "date") if day_text else now.astimezone(zone).date()
        start, end = _local_day(day, zone)
        found = await self.rows.starting(resource.id, start, end, LISTED, MAX_ROWS + 1)
        shown = columns(declared_fields(resource), caller.role)
        rows = [_row(booking, shown, zone) for booking in found[:MAX_ROWS]]
        totals = choice_totals(shown, [(row.fields, row.quantity) for row in rows])
        return schemas.DayList(
            resource_id=resource.id,
            resource_name=resource.name,
            timezone=resource.timezone,
            date=day,
            statuses=list(LISTED),
            columns=[
                schemas.DayListColumn(spec.name, spec.type, spec.label_zh, spec.label_en)
                for spec in shown
            ],
            rows=rows,
            totals=[schemas.ChoiceTotal(name, counts) for name, counts in totals.items()],
            truncated=len(found) > MAX_ROWS,
        )


def _local_day(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a local day of ``zone`` begins and ends (23 or 25 hours around a change
    of offset)."""
    return (
        datetime.combine(day, time(), zone),
        datetime.combine(day + timedelta(days=1), time(), zone),
    )


def _row(booking: Booking, shown: list[FieldSpec], zone: ZoneInfo) -> schemas.DayListRow:
    values = booking.fields or {}
    return schemas.DayListRow(
        booking_id=booking.id,
        status=booking.status,
        local_start=booking.starts_at.astimezone(zone),
        local_end=booking.ends_at.astimezone(zone),
        unit=booking.unit,
        quantity=booking.quantity,
        holder_name=booking.holder_name,
        walk_in=booking.walk_in,
        fields={spec.name: values[spec.name] for spec in shown if spec.name in values},
    )


def _cell(value: FieldValue | None) -> str:
    """A value as spreadsheet text; text a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(_FORMULA_STARTS) else text


def as_csv(listing: schemas.DayList) -> str:
    """The list as CSV: the fixed columns, then one column per booking field (its name)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    names = [column.name for column in listing.columns]
    writer.writerow([*CSV_FIXED, *names])
    for row in listing.rows:
        writer.writerow(
            [
                row.local_start.strftime("%Y-%m-%d %H:%M"),
                row.local_end.strftime("%Y-%m-%d %H:%M"),
                _cell(row.unit),
                row.quantity,
                _cell(row.holder_name),
                row.status,
                row.booking_id,
                *(_cell(row.fields.get(name)) for name in names),
            ]
        )
    return out.getvalue()
