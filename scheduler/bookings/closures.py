"""``booking.affected_by_closure``: every booking a new closure overlaps hears of it at once.

A closure leaves bookings as they are (staff decide whether to cancel them, see
``closures.services``); this tells each holder's app, in the closure's own transaction, so
the event exists exactly when the closure does. Closures sit below bookings (availability
reads them), so ``ClosureService.create`` receives this function instead of importing it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.bookings.common import emit_booking_event
from scheduler.bookings.repositories import BookingRepository
from scheduler.db.catalogue import Resource
from scheduler.db.schedule import Closure

EVENT = "booking.affected_by_closure"


def closure_member(closure: Closure, zone: ZoneInfo) -> dict[str, Any]:
    """The closure as the event shows it: its reason and period, in UTC and local time."""
    return {
        "id": closure.id,
        "reason": closure.reason,
        "starts_at": closure.starts_at,
        "ends_at": closure.ends_at,
        "local_start": closure.starts_at.astimezone(zone),
        "local_end": closure.ends_at.astimezone(zone),
    }


async def notify_affected(
    session: AsyncSession, closure: Closure, resource: Resource, now: datetime
) -> int:
    """Emit ``booking.affected_by_closure`` for every booking of ``resource`` overlapping the
    closure that still claims its slot (active, entered or waitlisted); returns how many."""
    bookings = await BookingRepository(session).live_overlapping(
        resource.id, closure.starts_at, closure.ends_at
    )
    member = {"closure": closure_member(closure, ZoneInfo(resource.timezone))}
    for booking in bookings:
        emit_booking_event(session, EVENT, booking, resource, now, member)
    await session.flush()
    return len(bookings)
