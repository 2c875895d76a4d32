"""Reading the public record of lottery draws (draws are made by ``bookings.draws``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.bookings import Draw


class DrawRecordRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
