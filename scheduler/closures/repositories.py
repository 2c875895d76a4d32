"""Every query about closures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.bookings import ACTIVE, Booking
from scheduler.db.schedule import Closure


class ClosureRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def overlapping(
        self, resource_id: str, start: datetime | None, end: datetime | None
    ) -> list[Closure]:
        """Closures of a resource overlapping ``[start, end)`` (unbounded where None)."""
        query = select(Closure).where(Closure.resource_id == resource_id)
        if end is not None:
            query = query.where(Closure.starts_at < end)
        if start is not None:
            query = query.where(Closure.ends_at > start)
        return list(await self.session.scalars(query.order_by(Closure.starts_at, Closure.id)))

    async def get(self, resource_id: str, closure_id: str) -> Closure | None:
        closure = await self.session.get(Closure, closure_id)
        return closure if closure is not None and closure.resource_id == resource_id else None

    def add(self, closure: Closure) -> None:
        self.session.add(closure)

    async def delete(self, closure: Closure) -> None:
        await self.session.delete(closure)

    async def count(self, resource_id: str) -> int:
        query = select(func.count()).where(Closure.resource_id == resource_id)
        return int(await self.session.scalar(query) or 0)

    async def bookings_affected(
        self, resource_id: str, start: datetime, end: datetime, limit: int
    ) -> tuple[list[Booking], int]:
        """The first ``limit`` active bookings of the resource overlapping ``[start, end)``
        (what a closure hits), and how many there are."""
        overlapping = (
            Booking.resource_id == resource_id,
            Booking.status.in_(ACTIVE),
            Booking.starts_at < end,
            Booking.ends_at > start,
        )
        query = select(Booking).where(*overlapping).order_by(Booking.starts_at, Booking.id)
        rows = list(await self.session.scalars(query.limit(limit)))
        if len(rows) < limit:
            return rows, len(rows)
        total = await self.session.scalar(select(func.count()).where(*overlapping))
        return rows, int(total or 0)
