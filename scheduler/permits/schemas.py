"""Permit request and response bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from scheduler.bookings.schemas import (
    Booking,
    BookingResult,
    FieldValues,
    Holder,
    OnBehalfOf,
    Reason,
)
from scheduler.core.booking_fields import FieldValue
from scheduler.core.permits import PERIOD_PATTERN
from scheduler.schemas import ONE_LINE, Input

Period = Annotated[
    str, msgspec.Meta(pattern=PERIOD_PATTERN, description="A calendar month", examples=["2027-01"])
]
Plate = Annotated[
    str,
    msgspec.Meta(
        min_length=2,
        max_length=20,
        pattern=ONE_LINE,
        description="Vehicle plate (short for fields.plate; spaces are dropped)",
        examples=["沪A12345"],
    ),
]


class PermitCreate(Input):
    """An application for every night of ``period`` on ``resource_id`` (its permit policy
    gives the nightly times). Before the month's permit release it is recorded and decided
    at the release; after it, it is booked at once if a unit is free on every night."""

    resource_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    period: Period
    unit: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    plate: Plate | None = None
    fields: FieldValues | None = None
    on_behalf_of: OnBehalfOf | None = None


class PermitCancel(Input):
    """Cancel the permit's nights starting on ``from`` (a local date) or later; an
    application not yet decided is withdrawn whatever ``from`` says."""

    from_: date = msgspec.field(name="from")
    reason: Reason | None = None


class Permit(msgspec.Struct):
    id: str
    resource_id: str
    resource_name: str
    period: str
    state: str
    holder: Holder
    created_by: str
    preferred_unit: str | None
    unit: str | None
    plate: str | None
    fields: dict[str, FieldValue]
    release_at: datetime
    decided_at: datetime | None
    reason: str | None
    cancelled_from: date | None
    nights: int
    occurrences: list[Booking]
    version: int
    created_at: datetime
    updated_at: datetime


class PermitCancelled(msgspec.Struct):
    """The permit after the cancellation, and what became of each night asked for."""

    permit: Permit
    cancelled: int
    refused: int
    results: list[BookingResult]
