"""Helpers shared by the booking use cases: views, outbox events, slot arithmetic, units."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.bookings import schemas
from scheduler.core import rules
from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import Booking
from scheduler.db.catalogue import Resource
from scheduler.errors import BookingRefused
from scheduler.outbox.repositories import OutboxRepository


def _local(value: Any, zone: ZoneInfo) -> Any:
    """Instants inside refusal facts, shown in the resource's local time like availability."""
    if isinstance(value, datetime):
        return value.astimezone(zone)
    if isinstance(value, list):
        return [_local(item, zone) for item in value]
    if isinstance(value, dict):
        return {key: _local(item, zone) for key, item in value.items()}
    return value


def refused(
    refusal: rules.Refusal, zone: ZoneInfo, options: list[TimeRange] | None = None
) -> BookingRefused:
    """The problem for a refusal, with instants in ``zone`` and any suggested alternatives."""
    facts = dict(refusal.facts)
    if options:
        facts["alternatives"] = [{"starts_at": o.start, "ends_at": o.end} for o in options]
    return BookingRefused(refusal.code, refusal.status, refusal.detail, **_local(facts, zone))


def to_schema(booking: Booking) -> schemas.Booking:
    return schemas.Booking(
        id=booking.id,
        resource_id=booking.resource_id,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        quantity=booking.quantity,
        unit=booking.unit,
        status=booking.status,
        holder=schemas.Holder(sub=booking.holder_id, name=booking.holder_name),
        created_by=booking.created_by,
        note=booking.note,
        series_id=booking.series_id,
        decision_note=booking.decision_note,
        offer_expires_at=booking.offer_expires_at,
        draw_at=booking.draw_at,
        version=booking.version,
        created_at=booking.created_at,
        updated_at=booking.updated_at,
    )


def emit_booking_event(
    session: AsyncSession, event_type: str, booking: Booking, partner_id: str, now: datetime
) -> None:
    """Record ``booking.<something>`` in the outbox, in the caller's transaction."""
    payload = msgspec.to_builtins(to_schema(booking))
    OutboxRepository(session).emit(
        event_type,
        payload,
        now,
        booking_id=booking.id,
        resource_id=booking.resource_id,
        partner_id=partner_id,
    )


def slot_starts(booking: Booking) -> list[datetime]:
    step = timedelta(minutes=booking.granularity_minutes)
    count = int((booking.ends_at - booking.starts_at) / step)
    return [booking.starts_at + step * index for index in range(count)]


def may_see(caller: Principal, booking: Booking, resource: Resource) -> bool:
    """Holders see their own bookings, partners those on their resources, staff all."""
    if caller.is_staff or booking.holder_id == caller.sub:
        return True
    return caller.role == "partner" and resource.partner_id == caller.partner


def pick_unit(resource: Resource, request: rules.Request, taken: set[str]) -> str:
    """The preferred unit if free (or refused if it must be exactly that one), else the first."""
    free = [unit for unit in resource.units if unit not in taken]
    if request.unit is not None and request.unit in free:
        return request.unit
    if request.unit is not None and request.unit_exact:
        raise BookingRefused(
            "unit_taken",
            409,
            f"Unit {request.unit!r} is taken then.",
            rule="units",
            unit=request.unit,
            free_units=free[:20],
        )
    if not free:
        raise BookingRefused("capacity", 409, "No unit is free for all of this time.", rule="units")
    return free[0]
