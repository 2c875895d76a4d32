"""Helpers shared by the booking use cases: views, outbox events, refusals, slot arithmetic."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.bookings import schemas
from scheduler.core.booking_fields import visible_values
from scheduler.core.lifecycle import Held
from scheduler.core.refusals import Refusal
from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import Booking, OutboxEvent
from scheduler.db.catalogue import Resource, User
from scheduler.errors import BookingRefused
from scheduler.outbox.repositories import outbox_row
from scheduler.resources.services import declared_fields


def _local(value: Any, zone: ZoneInfo) -> Any:
    """Instants inside refusal facts, shown in the resource's local time like availability."""
    if isinstance(value, datetime):
        return value.astimezone(zone)
    if isinstance(value, list):
        return [_local(item, zone) for item in value]
    if isinstance(value, dict):
        return {key: _local(item, zone) for key, item in value.items()}
    return value


def refused(refusal: Refusal, zone: ZoneInfo) -> BookingRefused:
    """The problem for a refusal of the core, with its instants in ``zone``."""
    kind = refusal.kind
    facts = _local(refusal.fact_values(), zone)
    return BookingRefused(kind.code, kind.status, kind.title, refusal.detail, **facts)


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
        walk_in=booking.walk_in,
        excused_at=booking.excused_at,
        fields=dict(booking.fields or {}),
    )


class Shown(Protocol):
    """What a booking's view and event need of its resource: a database row, or the cached
    facts (``scheduler.availability.facts.ResourceFacts``)."""

    @property
    def name(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def partner_id(self) -> str: ...
    @property
    def booking_fields(self) -> Any: ...


def sees_all_fields(booking: Booking, caller: Principal) -> bool:
    return sees_every_field(caller, booking.holder_id, booking.created_by)


def sees_every_field(caller: Principal, holder_id: str, created_by: str) -> bool:
    """The holder, whoever made the booking or order (they typed the values) and admin read
    every field; the others read what each field's ``visible_to`` allows their role."""
    return caller.role == "admin" or caller.sub in (holder_id, created_by)


def view_as(booking: Booking, resource: Shown | None, role: str, sees_all: bool) -> schemas.Booking:
    """``booking`` with ``resource_name``, ``local_start`` and ``local_end`` filled in, and
    only the field values ``role`` may read (every one with ``sees_all``)."""
    body = to_schema(booking)
    if resource is None:
        return msgspec.structs.replace(body, fields=dict(booking.fields or {}) if sees_all else {})
    zone = ZoneInfo(resource.timezone)
    return msgspec.structs.replace(
        body,
        resource_name=resource.name,
        local_start=booking.starts_at.astimezone(zone),
        local_end=booking.ends_at.astimezone(zone),
        fields=visible_values(
            declared_fields(resource), booking.fields or {}, role, sees_everything=sees_all
        ),
    )


def view(booking: Booking, resource: Shown | None, caller: Principal) -> schemas.Booking:
    """``booking`` as ``caller`` may read it."""
    return view_as(booking, resource, caller.role, sees_all_fields(booking, caller))


def emit_booking_event(
    session: AsyncSession,
    event_type: str,
    booking: Booking,
    resource: Shown,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> None:
    """Record ``booking.<something>`` in the outbox, in the caller's transaction: the booking
    as the API shows it (resource name and local times included), plus the ``extra``
    members some types carry (the offer, the reminder, the closure)."""
    session.add(OutboxEvent(**booking_event_row(event_type, booking, resource, now, extra)))


def booking_event_row(
    event_type: str,
    booking: Booking,
    resource: Shown,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The outbox row of ``booking.<something>``. Webhooks go to the resource's partner (and
    staff), so the payload carries the booking field values the partner may read."""
    payload = msgspec.to_builtins(view_as(booking, resource, "partner", sees_all=False))
    if extra:
        payload |= msgspec.to_builtins(extra)
    return outbox_row(
        event_type,
        payload,
        now,
        booking_id=booking.id,
        resource_id=booking.resource_id,
        partner_id=resource.partner_id,
    )


def slot_starts(booking: Booking) -> list[datetime]:
    step = timedelta(minutes=booking.granularity_minutes)
    count = int((booking.ends_at - booking.starts_at) / step)
    return [booking.starts_at + step * index for index in range(count)]


def held(booking: Booking, resource: Resource, holder_community: str | None = None) -> Held:
    """What the lifecycle rules of the core need to know about ``booking`` (the holder's
    community only matters to neighbourhood workers)."""
    return Held(
        holder_id=booking.holder_id,
        partner_id=resource.partner_id,
        status=booking.status,
        range=TimeRange(booking.starts_at, booking.ends_at),
        offer_expires_at=booking.offer_expires_at,
        created_by=booking.created_by,
        holder_community=holder_community,
    )


async def load_held(
    session: AsyncSession, booking: Booking, resource: Resource, caller: Principal
) -> Held:
    """``held`` for ``caller``: a worker's view needs the holder's current community."""
    community = None
    if caller.is_worker:
        holder = await session.get(User, booking.holder_id)
        community = holder.community if holder else None
    return held(booking, resource, community)
