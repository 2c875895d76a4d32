"""Taking capacity for an existing booking (a lottery winner, a waitlist offer)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.bookings.common import slot_starts
from scheduler.core.booking import choose_unit
from scheduler.core.refusals import Refusal
from scheduler.core.rules import Request
from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import Booking
from scheduler.db.catalogue import Resource
from scheduler.ledger.repositories import CapacityLedger


async def hold_capacity(
    session: AsyncSession, booking: Booking, resource: Resource, capacities: dict[datetime, int]
) -> bool:
    """Take the booking's quantity (and a unit) in every slot it covers, inside a savepoint;
    False, with nothing taken, if a slot has no room or is not open (``capacities`` lacks it)."""
    starts = slot_starts(booking)
    if any(start not in capacities for start in starts):
        return False
    ledger = CapacityLedger(session)
    savepoint = await session.begin_nested()
    if await ledger.take(resource.id, [(s, capacities[s]) for s in starts], booking.quantity):
        await savepoint.rollback()
        return False
    if resource.units:
        request = Request(
            TimeRange(booking.starts_at, booking.ends_at), booking.quantity, booking.unit
        )
        try:
            booking.unit = choose_unit(
                resource.units, request, await ledger.taken_units(resource.id, starts)
            )
        except Refusal:
            await savepoint.rollback()
            return False
        await ledger.hold_unit(resource.id, booking.unit, starts, booking.id)
    await savepoint.commit()
    return True
