"""Use cases about the people who call the service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.db.catalogue import User
from scheduler.errors import NotFound
from scheduler.residents.repositories import SuspensionRepository
from scheduler.residents.suspensions import SuspensionService
from scheduler.users import schemas
from scheduler.users.repositories import UserRepository


class UserService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserRepository(session)

    async def provision(self, principal: Principal, now: datetime) -> None:
        """Create the user record on first sight of a ``sub``; keep its claims current."""
        await self.users.upsert_from_principal(principal, now)

    async def _get(self, sub: str) -> User:
        user = await self.users.get(sub)
        if user is None:
            raise NotFound(f"No user {sub!r}.")
        return user

    async def visible(self, sub: str, caller: Principal) -> User:
        if not caller.is_staff and caller.sub != sub:
            raise NotFound(f"No user {sub!r}.")
        return await self._get(sub)

    async def set_tags(self, sub: str, tags: list[str]) -> User:
        user = await self._get(sub)
        user.tags = sorted(set(tags))
        await self.session.flush()
        return user

    async def lift_suspension(self, sub: str, caller: Principal, now: datetime) -> None:
        """Lift every running suspension of ``sub`` (kept as history, marked lifted)."""
        await SuspensionService(self.session).lift_all(sub, caller, now)

    async def view(self, user: User, now: datetime) -> schemas.User:
        """The record with the end of its longest running suspension, in any scope."""
        rows, _ = await SuspensionRepository(self.session).page(
            SuspensionRepository(self.session).running(now, user_id=user.id), 1, 0
        )
        return schemas.User(
            sub=user.id,
            name=user.name,
            role=user.role,
            partner_id=user.partner_id,
            community=user.community,
            tags=list(user.tags),
            suspended_until=rows[0][0].until if rows else None,
            created_at=user.created_at,
            last_seen_at=user.last_seen_at,
        )
