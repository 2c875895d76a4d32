"""Closure request and response bodies."""

from __future__ import annotations

from datetime import datetime

import msgspec

from scheduler.schemas import Input, Instant, LongText


class ClosureCreate(Input):
    starts_at: Instant
    ends_at: Instant
    reason: LongText = ""


class Closure(msgspec.Struct):
    id: str
    resource_id: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    created_at: datetime


class AffectedBooking(msgspec.Struct):
    id: str
    status: str
    starts_at: datetime
    ends_at: datetime
    holder_sub: str
    holder_name: str
    quantity: int
    unit: str | None


class ClosureCreated(Closure):
    """The new closure and the active bookings it overlaps; they are left as they are, for
    staff to contact the holders or cancel them (``POST /bookings/{id}/cancel``)."""

    affected_bookings: list[AffectedBooking]
    # How many active bookings the closure overlaps; at most 200 are listed above.
    affected_total: int
