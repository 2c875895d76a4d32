"""Bookings as people read them: the resource's name and local times beside UTC instants,
and the booking field values the caller may read."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.bookings import schemas
from scheduler.bookings.common import Shown, view
from scheduler.db.bookings import Booking
from scheduler.db.catalogue import Resource
from scheduler.resources.services import LOADED_RESOURCES


async def views(
    session: AsyncSession, bookings: Sequence[Booking], caller: Principal
) -> list[schemas.Booking]:
    """Views of ``bookings``, reading each distinct resource once (usually from the session's
    identity map, where the request already loaded it)."""
    loaded = session.info.get(LOADED_RESOURCES, {})
    resources: dict[str, Shown | None] = {}
    for booking in bookings:
        if booking.resource_id in loaded:
            resources[booking.resource_id] = loaded[booking.resource_id]
        elif booking.resource_id not in resources:
            resources[booking.resource_id] = await session.get(Resource, booking.resource_id)
    return [view(booking, resources[booking.resource_id], caller) for booking in bookings]


async def view_one(session: AsyncSession, booking: Booking, caller: Principal) -> schemas.Booking:
    return (await views(session, [booking], caller))[0]
