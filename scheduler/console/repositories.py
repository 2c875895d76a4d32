"""The console's own reads: counts for the staff's today page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.catalogue import User


class ConsoleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def suspended_users(self, now: datetime, limit: int = 20) -> tuple[list[User], int]:
        """Residents whose booking rights are suspended at ``now`` (after repeated no-shows)."""
        condition = User.suspended_until > now
        total = await self.session.scalar(select(func.count()).where(condition))
        rows = await self.session.scalars(
            select(User).where(condition).order_by(User.suspended_until).limit(limit)
        )
        return list(rows), int(total or 0)
