"""Use cases of the public draw record: list a resource's draws, read one."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.bookings import Draw
from scheduler.errors import NotFound
from scheduler.release.repositories import DrawRecordRepository
from scheduler.resources.services import ResourceService


class DrawRecords:
    def __init__(self, session: AsyncSession) -> None:
        self.draws = DrawRecordRepository(session)
        self.resources = ResourceService(session)

    async def for_resource(self, resource_id: str, limit: int, offset: int) -> list[Draw]:
        """The resource's draws, newest release first (404 for an unknown resource)."""
        await self.resources.get(resource_id)
        return await self.draws.for_resource(resource_id, limit, offset)

    async def get(self, resource_id: str, draw_id: str) -> Draw:
        draw = await self.draws.get(resource_id, draw_id)
        if draw is None:
            raise NotFound(f"No draw {draw_id!r} for resource {resource_id!r}.")
        return draw
