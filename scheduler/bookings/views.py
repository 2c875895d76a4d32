"""Bookings as people read them: the resource's name and local times beside UTC instants,
and the booking field values the caller may read."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.bookings import schemas
from scheduler.bookings.common import to_schema
from scheduler.core.booking_fields import visible_values
from scheduler.db.bookings import Booking
from scheduler.db.catalogue import Resource
from scheduler.resources.services import LOADED_RESOURCES, declared_fields


def sees_all_fields(booking: Booking, caller: Principal) -> bool:
    """The holder, whoever made the booking (they typed the values) and admin read every
    field; the others read what each field's ``visible_to`` allows their role."""
    return caller.role == "admin" or caller.sub in (booking.holder_id, booking.created_by)


def view(booking: Booking, resource: Resource | None, caller: Principal) -> schemas.Booking:
    """``booking`` with ``resource_name``, ``local_start`` and ``local_end`` filled in, and
    only the field values ``caller`` may read."""
    body = to_schema(booking)
    if resource is None:
        return msgspec.structs.replace(
            body, fields=dict(booking.fields) if sees_all_fields(booking, caller) else {}
        )
    zone = ZoneInfo(resource.timezone)
    return msgspec.structs.replace(
        body,
        resource_name=resource.name,
        local_start=booking.starts_at.astimezone(zone),
        local_end=booking.ends_at.astimezone(zone),
        fields=visible_values(
            declared_fields(resource),
            booking.fields or {},
            caller.role,
            sees_all_fields(booking, caller),
        ),
    )


async def views(
    session: AsyncSession, bookings: Sequence[Booking], caller: Principal
) -> list[schemas.Booking]:
    """Views of ``bookings``, reading each distinct resource once (usually from the session's
    identity map, where the request already loaded it)."""
    loaded = session.info.get(LOADED_RESOURCES, {})
    resources: dict[str, Resource | None] = {}
    for booking in bookings:
        if booking.resource_id in loaded:
            resources[booking.resource_id] = loaded[booking.resource_id]
        elif booking.resource_id not in resources:
            resources[booking.resource_id] = await session.get(Resource, booking.resource_id)
    return [view(booking, resources[booking.resource_id], caller) for booking in bookings]


async def view_one(session: AsyncSession, booking: Booking, caller: Principal) -> schemas.Booking:
    return (await views(session, [booking], caller))[0]
