"""Taking capacity for an existing booking (a lottery winner, a waitlist offer)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.bookings.common import pick_unit, slot_starts
from scheduler.bookings.repositories import HoldingRepository
from scheduler.core import rules
from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import Booking
from scheduler.db.catalogue import Resource
from scheduler.errors import BookingRefused


async def hold_capacity(
    session: AsyncSession, booking: Booking, resource: Resource, capacities: dict[datetime, int]
) -> bool:
    """Take the booking's quantity (and a unit) in every slot it covers, inside a savepoint;
    False, with nothing taken, if a slot has no room or is not open (``capacities`` lacks it)."""
    starts = slot_starts(booking)
    if any(start not in capacities for start in starts):
        return False
    holdings = HoldingRepository(session)
    savepoint = await session.begin_nested()
    try:
        if await holdings.acquire(
            resource.id, [(s, capacities[s]) for s in starts], booking.quantity
        ):
            raise BookingRefused("capacity", 409, "No room left.")
        if resource.units:
            request = rules.Request(
                TimeRange(booking.starts_at, booking.ends_at), booking.quantity, booking.unit
            )
            booking.unit = pick_unit(
                resource, request, await holdings.taken_units(resource.id, starts)
            )
            await holdings.hold_unit(resource.id, booking.unit, starts, booking.id)
    except BookingRefused:
        await savepoint.rollback()
        return False
    await savepoint.commit()
    return True
