"""Bookings as people read them: the resource's name and local times beside UTC instants."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.bookings import schemas
from scheduler.bookings.common import to_schema
from scheduler.db.bookings import Booking
from scheduler.db.catalogue import Resource
from scheduler.resources.services import LOADED_RESOURCES


class Named(Protocol):
    """What a view needs of a resource: a database row or the cached facts."""

    @property
    def name(self) -> str: ...
    @property
    def timezone(self) -> str: ...


def view(booking: Booking, resource: Named | None) -> schemas.Booking:
    """``booking`` with ``resource_name``, ``local_start`` and ``local_end`` filled in."""
    body = to_schema(booking)
    if resource is None:
        return body
    zone = ZoneInfo(resource.timezone)
    return msgspec.structs.replace(
        body,
        resource_name=resource.name,
        local_start=booking.starts_at.astimezone(zone),
        local_end=booking.ends_at.astimezone(zone),
    )


async def views(session: AsyncSession, bookings: Sequence[Booking]) -> list[schemas.Booking]:
    """Views of ``bookings``, reading each distinct resource once (usually from the session's
    identity map, where the request already loaded it)."""
    loaded = session.info.get(LOADED_RESOURCES, {})
    resources: dict[str, Named | None] = {}
    for booking in bookings:
        if booking.resource_id in loaded:
            resources[booking.resource_id] = loaded[booking.resource_id]
        elif booking.resource_id not in resources:
            resources[booking.resource_id] = await session.get(Resource, booking.resource_id)
    return [view(booking, resources[booking.resource_id]) for booking in bookings]


async def view_one(session: AsyncSession, booking: Booking) -> schemas.Booking:
    return (await views(session, [booking]))[0]
