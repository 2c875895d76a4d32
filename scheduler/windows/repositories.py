"""Every query about opening windows."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.schedule import OpeningWindow


class WindowRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_resource(self, resource_id: str) -> list[OpeningWindow]:
        query = select(OpeningWindow).where(OpeningWindow.resource_id == resource_id)
        return list(
            await self.session.scalars(query.order_by(OpeningWindow.created_at, OpeningWindow.id))
        )

    async def count(self, resource_id: str) -> int:
        query = select(func.count()).where(OpeningWindow.resource_id == resource_id)
        return int(await self.session.scalar(query) or 0)

    async def get(self, resource_id: str, window_id: str) -> OpeningWindow | None:
        window = await self.session.get(OpeningWindow, window_id)
        return window if window is not None and window.resource_id == resource_id else None

    def add(self, window: OpeningWindow) -> None:
        self.session.add(window)

    async def delete(self, window: OpeningWindow) -> None:
        await self.session.delete(window)
