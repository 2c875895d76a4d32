"""Standing orders as response bodies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import msgspec

from scheduler.auth.tokens import Principal
from scheduler.bookings.common import sees_every_field
from scheduler.bookings.schemas import Holder, OccurrenceProblem
from scheduler.core.booking_fields import visible_values
from scheduler.db.catalogue import Resource
from scheduler.db.standing import StandingOccurrence, StandingOrder
from scheduler.resources.services import declared_fields
from scheduler.standing import schemas


def occurrence_view(row: StandingOccurrence, zone: ZoneInfo) -> schemas.StandingOccurrence:
    problem = None
    if row.status == "refused":
        problem = OccurrenceProblem(
            row.refusal_code or "", row.refusal_status or 0, row.refusal_detail or ""
        )
    return schemas.StandingOccurrence(
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        local_start=row.starts_at.astimezone(zone),
        local_end=row.ends_at.astimezone(zone),
        release_at=row.release_at,
        outcome=row.status,  # type: ignore[arg-type]
        booking_id=row.booking_id,
        booking_status=row.booking_status,
        problem=problem,
        decided_at=row.decided_at if row.status != "pending" else None,
    )


def view(
    order: StandingOrder,
    resource: Resource,
    caller: Principal,
    occurrences: Sequence[StandingOccurrence] | None,
    counts: dict[str, int] | None = None,
) -> schemas.StandingOrder:
    """The order as ``caller`` may read it (the booking field values as on a booking: every
    one for the holder, whoever made the order and admin); with ``occurrences`` (one order)
    each occurrence and its outcome."""
    zone = ZoneInfo(resource.timezone)
    sees_all = sees_every_field(caller, order.holder_id, order.created_by)
    fields = visible_values(
        declared_fields(resource), order.fields or {}, caller.role, sees_everything=sees_all
    )
    if occurrences is not None:
        counts = dict(Counter(row.status for row in occurrences))
    return schemas.StandingOrder(
        id=order.id,
        resource_id=order.resource_id,
        resource_name=resource.name,
        timezone=resource.timezone,
        holder=Holder(sub=order.holder_id, name=order.holder_name),
        created_by=order.created_by,
        pattern=msgspec.convert(order.pattern, schemas.StandingPattern),
        from_=order.first_day,
        until=order.last_day,
        quantity=order.quantity,
        note=order.note,
        fields=fields,
        status=order.status,
        status_reason=order.status_reason,
        version=order.version,
        created_at=order.created_at,
        updated_at=order.updated_at,
        counts=counts or {},
        occurrences=None
        if occurrences is None
        else [occurrence_view(row, zone) for row in occurrences],
    )
