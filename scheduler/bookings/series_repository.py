"""Queries over the bookings of one series."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.bookings import Booking


class SeriesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def bookings(self, series_id: str, statuses: Sequence[str] = ()) -> list[Booking]:
        """The series' bookings in time order (only those in ``statuses`` if given)."""
        query = select(Booking).where(Booking.series_id == series_id)
        if statuses:
            query = query.where(Booking.status.in_(list(statuses)))
        return list(await self.session.scalars(query.order_by(Booking.starts_at, Booking.id)))
