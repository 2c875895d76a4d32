"""The one query of the day lists: a resource's bookings starting within an interval."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.bookings import Booking


class DayListRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def starting(
        self,
        resource_id: str,
        start: datetime,
        end: datetime,
        statuses: Sequence[str],
        limit: int,
    ) -> list[Booking]:
        """Bookings of ``resource_id`` in ``statuses`` starting in [start, end), by start
        time then unit, at most ``limit``."""
        query = (
            select(Booking)
            .where(
                Booking.resource_id == resource_id,
                Booking.status.in_(list(statuses)),
                Booking.starts_at >= start,
                Booking.starts_at < end,
            )
            .order_by(Booking.starts_at, Booking.unit, Booking.id)
            .limit(limit)
        )
        return list((await self.session.scalars(query)).all())
