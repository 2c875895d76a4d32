"""Use cases about the people who call the service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.users.repositories import UserRepository


class UserService:
    def __init__(self, session: AsyncSession) -> None:
        self.users = UserRepository(session)

    async def provision(self, principal: Principal, now: datetime) -> None:
        """Create the user record on first sight of a ``sub``; keep its claims current."""
        await self.users.upsert_from_principal(principal, now)
