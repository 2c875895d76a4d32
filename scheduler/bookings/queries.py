"""Read-side use cases: listing bookings, the approval queue, history."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.bookings import schemas
from scheduler.bookings.repositories import BookingRepository
from scheduler.bookings.services import BookingService
from scheduler.db.bookings import Booking
from scheduler.errors import Forbidden
from scheduler.timeparams import parse_bound

LISTING_ZONE = ZoneInfo("Asia/Shanghai")


class BookingQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.bookings = BookingRepository(session)

    @staticmethod
    def _scope(caller: Principal, partner_id: str | None) -> tuple[str | None, str | None]:
        """(holder, partner) restrictions that the caller's role imposes on any listing."""
        if caller.role == "resident":
            return caller.sub, partner_id
        if caller.role == "partner":
            return None, caller.partner
        return None, partner_id

    async def bookings_for(
        self,
        caller: Principal,
        *,
        statuses: Sequence[str],
        resource_id: str | None,
        partner_id: str | None,
        zone: str | None,
        start_text: str | None,
        end_text: str | None,
        limit: int,
        offset: int,
        series_id: str | None = None,
    ) -> tuple[list[Booking], int]:
        holder, partner = self._scope(caller, partner_id)
        if caller.role == "partner" and partner_id not in (None, caller.partner):
            return [], 0
        query = self.bookings.listing(
            holder_id=holder,
            partner_id=partner,
            resource_id=resource_id,
            zone=zone,
            statuses=statuses,
            start=parse_bound(start_text, "from", LISTING_ZONE, is_end=False)
            if start_text
            else None,
            end=parse_bound(end_text, "to", LISTING_ZONE, is_end=True) if end_text else None,
            communities=caller.communities if caller.is_worker else None,
        )
        if series_id is not None:
            query = query.where(Booking.series_id == series_id)
        return await self.bookings.page(query, [Booking.starts_at, Booking.id], limit, offset)

    async def approvals(
        self,
        caller: Principal,
        *,
        zone: str | None,
        partner_id: str | None,
        resource_id: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Booking], int]:
        if caller.role in ("resident", "worker"):
            raise Forbidden("The approval queue is for staff and partners.")
        _, partner = self._scope(caller, partner_id)
        if caller.role == "partner" and partner_id not in (None, caller.partner):
            return [], 0
        query = self.bookings.listing(
            holder_id=None,
            partner_id=partner,
            resource_id=resource_id,
            zone=zone,
            statuses=["pending"],
            start=None,
            end=None,
        )
        return await self.bookings.page(query, [Booking.created_at, Booking.id], limit, offset)

    async def history(self, booking_id: str, caller: Principal) -> list[schemas.HistoryEntry]:
        booking = await BookingService(self.session).visible(booking_id, caller)
        return [
            schemas.HistoryEntry(
                at=e.at,
                actor=e.actor,
                from_status=e.from_status,
                to_status=e.to_status,
                reason=e.reason,
            )
            for e in await self.bookings.history(booking.id)
        ]
