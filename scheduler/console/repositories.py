"""The console's own reads: counts for the staff's today page, the no-shows behind suspensions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.bookings import Booking
from scheduler.db.catalogue import Partner, Resource
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

    async def no_shows(self, user_ids: Sequence[str], since: datetime) -> dict[str, list[Booking]]:
        """The not yet excused no-shows of these people ending after ``since``, newest first
        (the list of those a suspension was made from; excusing goes through the lifecycle)."""
        if not user_ids:
            return {}
        query = (
            select(Booking)
            .where(
                Booking.holder_id.in_(list(set(user_ids))),
                Booking.status == "no_show",
                Booking.excused_at.is_(None),
                Booking.ends_at > since,
            )
            .order_by(Booking.starts_at.desc())
            .limit(500)
        )
        found: dict[str, list[Booking]] = {}
        for booking in await self.session.scalars(query):
            found.setdefault(booking.holder_id, []).append(booking)
        return found

    async def proxy_counts(
        self, partner_id: str | None, start: datetime, end: datetime
    ) -> list[tuple[str, str, str, int, int]]:
        """Per resource starting in [start, end): (resource id, partner id, zone, bookings,
        bookings made by someone other than the holder: on behalf or as a walk-in)."""
        proxied = func.sum(case((Booking.created_by != Booking.holder_id, 1), else_=0))
        query = (
            select(Resource.id, Partner.id, Partner.zone, func.count(Booking.id), proxied)
            .join(Resource, Resource.id == Booking.resource_id)
            .join(Partner, Partner.id == Resource.partner_id)
            .where(Booking.starts_at >= start, Booking.starts_at < end)
            .group_by(Resource.id, Partner.id, Partner.zone)
        )
        if partner_id is not None:
            query = query.where(Resource.partner_id == partner_id)
        return [
            (str(r), str(p), str(z), int(total), int(by_others or 0))
            for r, p, z, total, by_others in await self.session.execute(query)
        ]
