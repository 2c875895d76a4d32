"""Queries for the users aggregate."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.db.catalogue import User

LAST_SEEN_RESOLUTION = timedelta(hours=1)


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: str) -> User | None:
        return await self.session.get(User, user_id)

    async def upsert_from_principal(self, principal: Principal, now: datetime) -> User:
        user = await self._upsert(principal, now)
        # Keep the caller referenced for the rest of the request, so later ``session.get``
        # calls are answered from the identity map instead of the database.
        self.session.info["caller"] = user
        return user

    async def _upsert(self, principal: Principal, now: datetime) -> User:
        """Insert the user if new; write only when a claim changed or the last sighting is old,
        so an ordinary request costs one primary-key read."""
        user = await self.session.get(User, principal.sub)
        if user is None:
            user = User(
                id=principal.sub,
                name=principal.name,
                role=principal.role,
                partner_id=principal.partner,
                community=principal.community,
                tags=[],
                created_at=now,
                last_seen_at=now,
            )
            try:
                async with self.session.begin_nested():
                    self.session.add(user)
            except IntegrityError:
                # A concurrent first request by the same person inserted it first.
                found = await self.session.get(User, principal.sub, populate_existing=True)
                assert found is not None
                return found
            return user
        claims = (
            principal.name or user.name,
            principal.role,
            principal.partner,
            principal.community or user.community,
        )
        if claims != (user.name, user.role, user.partner_id, user.community):
            user.name, user.role, user.partner_id, user.community = claims
            user.last_seen_at = now
        elif now - user.last_seen_at > LAST_SEEN_RESOLUTION:
            user.last_seen_at = now
        return user

    async def ensure_resident(
        self, sub: str, name: str, community: str | None, now: datetime
    ) -> User:
        """The user a proxy booking is made for, created as a resident when first seen."""
        user = await self.session.get(User, sub)
        if user is not None:
            return user
        return await self.upsert_from_principal(
            Principal(sub=sub, role="resident", name=name, community=community), now
        )
