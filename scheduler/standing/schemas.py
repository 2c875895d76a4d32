"""Standing order request and response bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from scheduler.bookings.schemas import (
    FieldValues,
    Holder,
    OccurrenceProblem,
    OnBehalfOf,
    Quantity,
    Reason,
)
from scheduler.core.booking_fields import FieldValue
from scheduler.core.release import ClockText
from scheduler.core.standing import Outcome
from scheduler.schemas import Input, LongText

Weekday = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
StandingRule = Annotated[
    str, msgspec.Meta(max_length=300, examples=["FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"])
]
EndClock = Annotated[
    str, msgspec.Meta(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$", examples=["12:30"])
]


class StandingOrderCreate(Input):
    """Book ``resource_id`` from ``start_time`` to ``end_time`` (local wall times of the
    resource) on every date from ``from`` to ``until`` (local dates, inclusive) picked by
    ``weekdays`` or by ``rrule`` (exactly one; no COUNT or UNTIL in the rule). An end at or
    before the start ends on the next day (a night)."""

    resource_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    start_time: ClockText
    end_time: EndClock
    from_: date = msgspec.field(name="from")
    until: date
    weekdays: Annotated[list[Weekday], msgspec.Meta(min_length=1, max_length=7)] | None = None
    rrule: StandingRule | None = None
    quantity: Quantity = 1
    on_behalf_of: OnBehalfOf | None = None
    note: LongText | None = None
    # The resource's booking fields, checked now (422 naming each bad one) and carried by
    # every booking of the order.
    fields: FieldValues | None = None


class StandingOrderAction(Input):
    """Why the order is paused, resumed or ended (kept on the order)."""

    reason: Reason | None = None


class StandingOccurrence(msgspec.Struct):
    """One occurrence and what became of it. ``release_at`` is the instant it becomes
    bookable for the holder: the booking is attempted then."""

    starts_at: datetime
    ends_at: datetime
    local_start: datetime
    local_end: datetime
    release_at: datetime
    outcome: Outcome
    booking_id: str | None = None
    booking_status: str | None = None
    problem: OccurrenceProblem | None = None
    decided_at: datetime | None = None


class StandingPattern(msgspec.Struct):
    start_time: str
    end_time: str
    weekdays: list[str] | None = None
    rrule: str | None = None


class StandingOrder(msgspec.Struct):
    id: str
    resource_id: str
    resource_name: str
    timezone: str
    holder: Holder
    created_by: str
    pattern: StandingPattern
    from_: date = msgspec.field(name="from")
    until: date
    quantity: int = 1
    note: str | None = None
    # The booking field values the caller may read (as on a booking).
    fields: dict[str, FieldValue] = msgspec.field(default_factory=dict)
    status: str = "active"
    status_reason: str | None = None
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Counts of the occurrences by outcome, and (on one order) every occurrence.
    counts: dict[str, int] = msgspec.field(default_factory=dict)
    occurrences: list[StandingOccurrence] | None = None
