"""Queries for time-driven duties: what is due now."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.bookings import Booking

BATCH = 500


class DutyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _locked(
        self, *conditions: object, order: object = Booking.starts_at
    ) -> list[Booking]:
        query = select(Booking).where(*conditions).order_by(order, Booking.id).limit(BATCH)  # type: ignore[arg-type]
        return list(await self.session.scalars(query.with_for_update(skip_locked=True)))

    async def pending_started_or_old(self, now: datetime, oldest: datetime) -> list[Booking]:
        return await self._locked(
            Booking.status == "pending", (Booking.starts_at <= now) | (Booking.updated_at <= oldest)
        )

    async def ended(self, now: datetime) -> list[Booking]:
        return await self._locked(
            Booking.status.in_(("confirmed", "checked_in")), Booking.ends_at <= now
        )

    async def lapsed_offers(self, now: datetime) -> list[Booking]:
        return await self._locked(Booking.status == "offered", Booking.offer_expires_at <= now)

    async def waitlisted(self, now: datetime) -> list[Booking]:
        return await self._locked(
            Booking.status == "waitlisted", Booking.starts_at > now, order=Booking.created_at
        )

    async def waitlisted_before_start(self, now: datetime) -> list[Booking]:
        return await self._locked(Booking.status == "waitlisted", Booking.starts_at <= now)

    async def to_remind(self, now: datetime, horizon: timedelta) -> list[Booking]:
        return await self._locked(
            Booking.status.in_(("confirmed", "pending")),
            Booking.reminded_at.is_(None),
            Booking.starts_at > now,
            Booking.starts_at <= now + horizon,
        )
