"""Every query the calendar feeds make: feed tokens, and bookings as calendar rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import Booking, FeedToken
from scheduler.db.catalogue import Partner, Resource


class CalendarRow(NamedTuple):
    booking: Booking
    resource: Resource
    partner_name: str


class FeedTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, token: FeedToken) -> None:
        self.session.add(token)

    async def get_live(self, token_hash: str, now: datetime) -> FeedToken | None:
        """The token with this hash if it exists, was not revoked and has not expired."""
        found = await self.session.get(FeedToken, token_hash)
        if found is None or found.revoked_at is not None:
            return None
        return found if found.expires_at is None or found.expires_at > now else None

    async def revoke_all(self, user_id: str, now: datetime) -> int:
        """Revoke every live feed token of ``user_id``; how many there were."""
        result = await self.session.execute(
            update(FeedToken)
            .where(FeedToken.user_id == user_id, FeedToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class CalendarRepository:
    """Bookings overlapping a span, with what an event needs to describe them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rows(
        self,
        span: TimeRange,
        limit: int,
        *,
        holder_id: str | None = None,
        resource_id: str | None = None,
        statuses: Sequence[str] = (),
    ) -> list[CalendarRow]:
        """Earliest first, at most ``limit``; deleted resources keep their bookings' events."""
        query = (
            select(Booking, Resource, Partner.name)
            .join(Resource, Resource.id == Booking.resource_id)
            .join(Partner, Partner.id == Resource.partner_id)
            .where(Booking.ends_at > span.start, Booking.starts_at < span.end)
        )
        if holder_id is not None:
            query = query.where(Booking.holder_id == holder_id)
        if resource_id is not None:
            query = query.where(Booking.resource_id == resource_id)
        if statuses:
            query = query.where(Booking.status.in_(statuses))
        query = query.order_by(Booking.starts_at, Booking.id).limit(limit)
        result = await self.session.execute(query)
        return [CalendarRow(row[0], row[1], row[2]) for row in result]
