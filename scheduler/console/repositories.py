"""The console's own reads: counts for the staff's today page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.residents.repositories import SuspensionRepository
from scheduler.residents.schemas import Suspension
from scheduler.residents.suspensions import suspension_view


class ConsoleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def suspended_users(self, now: datetime, limit: int = 20) -> tuple[list[Suspension], int]:
        """Running suspensions at ``now`` (every scope), the longest first."""
        suspensions = SuspensionRepository(self.session)
        rows, total = await suspensions.page(suspensions.running(now), limit, 0)
        return [suspension_view(suspension, user) for suspension, user in rows], total
