"""Booking a series: every occurrence through the same checks, all-or-nothing or best-effort."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.bookings import schemas
from scheduler.bookings.common import to_schema
from scheduler.bookings.services import BookingService
from scheduler.core.series import MAX_OCCURRENCES, expand_series, series_problems
from scheduler.core.timerange import TimeRange
from scheduler.errors import BookingRefused, SeriesRefused, ValidationFailed
from scheduler.ids import new_id


class SeriesService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.bookings = BookingService(session)

    async def create(
        self, data: schemas.SeriesCreate, caller: Principal, now: datetime
    ) -> schemas.Series:
        """Book each occurrence in its own savepoint; in all-or-nothing mode any refusal undoes
        the whole series (409 ``series_refused`` with a result per occurrence)."""
        resource, _ = await self.bookings.resources.get(data.resource_id)
        zone = ZoneInfo(resource.timezone)
        if data.ends_at <= data.starts_at:
            raise ValidationFailed.one("ends_at", "must be after starts_at")
        problem = series_problems(data.rrule, data.starts_at.astimezone(zone).date())
        if problem:
            raise ValidationFailed.one("rrule", problem)
        ranges = expand_series(TimeRange.utc(data.starts_at, data.ends_at), data.rrule, zone)
        if len(ranges) > MAX_OCCURRENCES:
            raise ValidationFailed.one(
                "rrule", f"a series has at most {MAX_OCCURRENCES} occurrences"
            )
        series_id = new_id("ser")
        single = msgspec.structs.asdict(data)
        for key in ("rrule", "mode"):
            single.pop(key)
        results = [
            await self._one(
                schemas.BookingCreate(**{**single, "starts_at": r.start, "ends_at": r.end}),
                caller,
                now,
                series_id,
            )
            for r in ranges
        ]
        booked = sum(1 for result in results if result.outcome == "booked")
        series = schemas.Series(series_id, data.mode, booked, len(results) - booked, results)
        if booked == 0 or (data.mode == "all_or_nothing" and booked < len(results)):
            refused = len(results) - booked
            undone = [
                schemas.Occurrence(o.starts_at, o.ends_at, "bookable")
                if o.outcome == "booked"
                else o
                for o in results
            ]
            raise SeriesRefused(
                f"{refused} of {len(results)} occurrences were refused; nothing was booked.",
                occurrences=msgspec.to_builtins(undone),
            )
        return series

    async def preview(
        self, data: schemas.SeriesCreate, caller: Principal, now: datetime
    ) -> schemas.Series:
        """What ``create`` would do, in a savepoint that is always rolled back."""
        savepoint = await self.session.begin_nested()
        try:
            return await self.create(data, caller, now)
        finally:
            await savepoint.rollback()

    async def _one(
        self, data: schemas.BookingCreate, caller: Principal, now: datetime, series_id: str
    ) -> schemas.Occurrence:
        try:
            async with self.session.begin_nested():
                booking = await self.bookings.create(data, caller, now, series_id=series_id)
        except (BookingRefused, ValidationFailed) as refusal:
            return schemas.Occurrence(
                starts_at=data.starts_at,
                ends_at=data.ends_at,
                outcome="refused",
                problem=schemas.OccurrenceProblem(refusal.code, refusal.status, refusal.detail),
            )
        return schemas.Occurrence(
            starts_at=booking.starts_at,
            ends_at=booking.ends_at,
            outcome="booked",
            booking=to_schema(booking),
        )
