"""Queries for time-driven duties: what is due now."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
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

    async def with_reminders_ahead(self, now: datetime, horizon: timedelta) -> list[str]:
        """The resources with a booking that may need a reminder within ``horizon``."""
        query = (
            select(Booking.resource_id)
            .where(*_UNREMINDED, Booking.starts_at > now, Booking.starts_at <= now + horizon)
            .distinct()
        )
        return list(await self.session.scalars(query))

    async def to_remind(self, now: datetime, leads: dict[str, int]) -> list[Booking]:
        """Bookings not reminded yet whose slot starts within their resource's lead
        (``leads``: minutes by resource id; a resource missing or at 0 has no reminders).
        Only due bookings are read, so a resource with reminders off never fills the batch."""
        by_lead: dict[int, list[str]] = {}
        for resource_id, minutes in leads.items():
            if minutes > 0:
                by_lead.setdefault(minutes, []).append(resource_id)
        if not by_lead:
            return []
        due = [
            and_(Booking.resource_id.in_(ids), Booking.starts_at <= now + timedelta(minutes=lead))
            for lead, ids in sorted(by_lead.items())
        ]
        return await self._locked(*_UNREMINDED, Booking.starts_at > now, or_(*due))

    async def mark_reminded(self, booking_id: str, now: datetime) -> bool:
        """Record that ``booking_id`` was reminded, unless it already was: True for the one
        transaction that recorded it. The condition in the UPDATE makes the reminder
        exactly-once even if two duty runs read the booking; the booking's ``version`` does
        not change (a reminder changes nothing the booking shows)."""
        result = await self.session.execute(
            update(Booking)
            .where(Booking.id == booking_id, Booking.reminded_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)


_UNREMINDED = (Booking.status.in_(("confirmed", "pending")), Booking.reminded_at.is_(None))
