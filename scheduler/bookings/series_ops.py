"""Operations on a whole series or several bookings at once: cancel from a date on, approve
or reject in one request. Each booking goes through the same lifecycle as a single request
(``BookingLifecycle``) in its own savepoint, so one refusal (a passed deadline, a booking
changed meanwhile) leaves the others done and is reported beside them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.bookings import schemas
from scheduler.bookings.common import load_held
from scheduler.bookings.lifecycle import BookingLifecycle
from scheduler.bookings.series_repository import SeriesRepository
from scheduler.core.lifecycle import TRANSITIONS, may_see
from scheduler.db.bookings import Booking
from scheduler.db.catalogue import Resource
from scheduler.errors import Forbidden, NotFound, SchedulerError, ValidationFailed

CANCELLABLE = tuple(sorted(TRANSITIONS["cancel"]))


class SeriesOperations:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.series = SeriesRepository(session)
        self.lifecycle = BookingLifecycle(session)

    async def cancel_from(
        self, series_id: str, data: schemas.SeriesCancel, caller: Principal, now: datetime
    ) -> schemas.BatchResult:
        """Cancel every booking of the series still holding or awaiting capacity whose local
        start date is ``data.from_`` or later; capacity is given back at once."""
        bookings, resource = await self._visible(series_id, caller)
        zone = ZoneInfo(resource.timezone)
        chosen = [
            b
            for b in bookings
            if b.status in CANCELLABLE and b.starts_at.astimezone(zone).date() >= data.from_
        ]
        return await self._each(
            chosen,
            lambda booking_id: self.lifecycle.cancel(booking_id, caller, data.reason, None, now),
        )

    async def decide(
        self, data: schemas.BatchDecision, caller: Principal, now: datetime
    ) -> schemas.BatchResult:
        """Approve or reject a series' pending bookings, or the bookings named."""
        if caller.role in ("resident", "worker"):
            raise Forbidden("Deciding bookings is for staff and partners.")
        if (data.series_id is None) == (data.booking_ids is None):
            raise ValidationFailed.one("series_id", "send exactly one of series_id, booking_ids")
        chosen: list[Booking | str]
        if data.series_id is not None:
            bookings, _ = await self._visible(data.series_id, caller)
            chosen = [b for b in bookings if b.status == "pending"]
        else:
            chosen = list(dict.fromkeys(data.booking_ids or []))
        return await self._each(
            chosen,
            lambda booking_id: self.lifecycle.decide(
                booking_id, data.action, caller, data.note, None, now
            ),
        )

    async def _visible(self, series_id: str, caller: Principal) -> tuple[list[Booking], Resource]:
        """The series' bookings, or 404 if there are none or ``caller`` may not see them
        (one holder and one resource per series, so the first booking answers for all)."""
        bookings = await self.series.bookings(series_id)
        resource = await self.session.get(Resource, bookings[0].resource_id) if bookings else None
        if resource is None or not may_see(
            caller, await load_held(self.session, bookings[0], resource, caller)
        ):
            raise NotFound(f"No series {series_id!r}.")
        return bookings, resource

    async def _each(
        self, chosen: Sequence[Booking | str], change: Callable[[str], Awaitable[Booking]]
    ) -> schemas.BatchResult:
        results = []
        for item in chosen:
            # Read before the savepoint: a rolled-back savepoint expires the loaded rows.
            booking_id, starts = (
                (item, None) if isinstance(item, str) else (item.id, item.starts_at)
            )
            try:
                async with self.session.begin_nested():
                    booking = await change(booking_id)
            except SchedulerError as error:
                problem = schemas.OccurrenceProblem(error.code, error.status, error.detail)
                results.append(
                    schemas.BookingResult(booking_id, "refused", starts_at=starts, problem=problem)
                )
                continue
            results.append(
                schemas.BookingResult(booking_id, "done", booking.status, booking.starts_at)
            )
        done = sum(1 for r in results if r.outcome == "done")
        return schemas.BatchResult(done, len(results) - done, results)
