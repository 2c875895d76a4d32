"""Every query about lottery draws."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.bookings import Booking, Draw
from scheduler.db.statements import insert_ignoring_conflicts


class DrawRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(
        self, draw_id: str, resource_id: str, release_at: datetime, now: datetime, seed: str
    ) -> bool:
        """Insert the draw row; False if this release was already drawn. The unique key
        (resource, release instant) makes each draw happen exactly once, whichever replica
        or request gets there first; a concurrent claim waits for the first to commit."""
        row = {
            "id": draw_id,
            "resource_id": resource_id,
            "release_at": release_at,
            "drawn_at": now,
            "seed": seed,
            "entries": [],
            "winners": [],
        }
        return await insert_ignoring_conflicts(self.session, Draw.__table__, [row]) == 1  # type: ignore[arg-type]

    async def record(self, draw_id: str, entries: list[str], winners: list[str]) -> None:
        await self.session.execute(
            update(Draw)
            .where(Draw.id == draw_id)
            .values(entries=entries, winners=winners)
            .execution_options(synchronize_session=False)
        )

    async def get(self, resource_id: str, draw_id: str) -> Draw | None:
        draw = await self.session.get(Draw, draw_id)
        return draw if draw is not None and draw.resource_id == resource_id else None

    async def for_resource(self, resource_id: str, limit: int, offset: int) -> list[Draw]:
        query = (
            select(Draw)
            .where(Draw.resource_id == resource_id)
            .order_by(Draw.release_at.desc(), Draw.id)
        )
        return list(await self.session.scalars(query.limit(limit).offset(offset)))

    async def due(
        self, now: datetime, resource_id: str | None = None
    ) -> list[tuple[str, datetime]]:
        """(resource, release instant) pairs with undrawn entries whose release has come."""
        query = select(Booking.resource_id, Booking.draw_at).where(
            Booking.status == "entered", Booking.draw_at.is_not(None), Booking.draw_at <= now
        )
        if resource_id is not None:
            query = query.where(Booking.resource_id == resource_id)
        rows = await self.session.execute(query.distinct().order_by(Booking.draw_at))
        return [(row[0], row[1]) for row in rows if row[1] is not None]

    async def entries(self, resource_id: str, release_at: datetime) -> list[Booking]:
        query = (
            select(Booking)
            .where(
                Booking.resource_id == resource_id,
                Booking.status == "entered",
                Booking.draw_at == release_at,
            )
            .order_by(Booking.id)
            .with_for_update()
        )
        return list(await self.session.scalars(query))

    async def upcoming(self, now: datetime, until: datetime) -> list[tuple[str, datetime]]:
        """(resource, release instant) pairs with entries waiting for a draw before ``until``."""
        query = select(Booking.resource_id, Booking.draw_at).where(
            Booking.status == "entered", Booking.draw_at > now, Booking.draw_at <= until
        )
        rows = await self.session.execute(query.distinct())
        return [(row[0], row[1]) for row in rows if row[1] is not None]
