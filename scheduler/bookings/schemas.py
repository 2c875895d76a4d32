"""Booking request and response bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from scheduler.core.booking_fields import MAX_FIELDS, FieldValue
from scheduler.core.lifecycle import BookingStatus as BookingStatus
from scheduler.schemas import Input, Instant, LongText, Name

Sub = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Community = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=1000)]
Reason = Annotated[str, msgspec.Meta(max_length=2000)]
FieldKey = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
FieldValues = Annotated[
    dict[FieldKey, FieldValue],
    msgspec.Meta(
        max_length=MAX_FIELDS,
        description="Values of the resource's booking fields (its `booking_fields`)",
        examples=[{"plate": "沪A12345"}],
    ),
]


class OnBehalfOf(Input):
    """The resident staff, a neighbourhood worker or a partner books for; they will own the
    booking. ``sub`` is their registry id (``/api/v1/residents``) or the ``sub`` of their own
    tokens; ``name`` (and ``community``) record a resident the registry does not know yet,
    flagged as unverified."""

    sub: Sub
    name: Name | None = None
    community: Community | None = None


class BookingCreate(Input):
    resource_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    starts_at: Instant
    ends_at: Instant
    quantity: Quantity = 1
    unit: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    unit_exact: bool = False
    on_behalf_of: OnBehalfOf | None = None
    note: LongText | None = None
    fields: FieldValues | None = None
    waitlist: bool = False
    walk_in: bool = False


class Decision(Input):
    note: Reason | None = None


class ReasonBody(Input):
    reason: Reason | None = None


class ExcuseBody(Input):
    """Why a no-show is excused (kept in the booking's history)."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class Holder(msgspec.Struct):
    sub: str
    name: str


class Booking(msgspec.Struct):
    id: str
    resource_id: str
    starts_at: datetime
    ends_at: datetime
    quantity: int
    unit: str | None
    status: str
    holder: Holder
    created_by: str
    note: str | None
    series_id: str | None
    decision_note: str | None
    offer_expires_at: datetime | None
    draw_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    walk_in: bool = False
    excused_at: datetime | None = None
    # For people reading the booking: the resource's name and the start and end in the
    # resource's time zone (with its offset), beside the UTC instants above.
    resource_name: str | None = None
    local_start: datetime | None = None
    local_end: datetime | None = None
    # Values of the resource's booking fields that the caller may read (personal fields are
    # left out for roles the resource does not show them to).
    fields: dict[str, FieldValue] = msgspec.field(default_factory=dict)


InitialStatus = Literal["confirmed", "pending", "entered", "waitlisted", "checked_in"]


class BookingPreview(msgspec.Struct):
    """What a dry run would do: every check passed, nothing written. ``person_checked`` is
    False when a partner's dry run for a resident was checked against what was sent, not
    against the registry (a partner may not read residents' records)."""

    dry_run: bool
    would_be_status: InitialStatus
    resource_id: str
    starts_at: datetime
    ends_at: datetime
    quantity: int
    unit: str | None
    holder: Holder
    person_checked: bool = True


class HistoryEntry(msgspec.Struct):
    at: datetime
    actor: str
    from_status: str | None
    to_status: str
    reason: str | None


SeriesRule = Annotated[str, msgspec.Meta(max_length=300, examples=["FREQ=WEEKLY;COUNT=8"])]


class SeriesCreate(BookingCreate, kw_only=True):
    """A booking repeated by ``rrule`` (COUNT or UNTIL required) in the resource's local time."""

    rrule: SeriesRule
    mode: Literal["all_or_nothing", "best_effort"] = "all_or_nothing"
    unit_policy: Literal["same", "fewest_changes"] = "same"


class OccurrenceProblem(msgspec.Struct):
    code: str
    status: int
    detail: str


class Occurrence(msgspec.Struct):
    starts_at: datetime
    ends_at: datetime
    outcome: Literal["booked", "refused", "bookable"]
    booking: Booking | None = None
    problem: OccurrenceProblem | None = None
    # On a resource with units: the unit planned for this occurrence, and whether it differs
    # from the previous occurrence's (``fewest_changes`` only).
    unit: str | None = None
    unit_changed: bool = False


class Series(msgspec.Struct):
    series_id: str
    mode: str
    booked: int
    refused: int
    occurrences: list[Occurrence]
    # On a resource with units: the policy applied, the units free on every occurrence
    # before this series, and the unit kept throughout (None when it changes).
    unit_policy: str | None = None
    units_free_throughout: list[str] | None = None
    unit: str | None = None
    unit_changes: int = 0


# Series operations and batch decisions: one result per booking.

BatchAction = Literal["approve", "reject"]
BookingId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class SeriesCancel(Input):
    """Cancel a series' bookings starting on ``from`` (a local date of the resource) or later."""

    from_: date = msgspec.field(name="from")
    reason: Reason | None = None


class BatchDecision(Input):
    """Approve or reject every pending booking of ``series_id``, or the ``booking_ids`` given
    (exactly one of the two)."""

    action: BatchAction
    series_id: BookingId | None = None
    booking_ids: Annotated[list[BookingId], msgspec.Meta(min_length=1, max_length=200)] | None = (
        None
    )
    note: Reason | None = None


class BookingResult(msgspec.Struct):
    """What one booking of a batch became: ``done`` (its new ``status``) or ``refused``
    (``problem`` says why; the booking is unchanged)."""

    booking_id: str
    outcome: Literal["done", "refused"]
    status: str | None = None
    starts_at: datetime | None = None
    problem: OccurrenceProblem | None = None


class BatchResult(msgspec.Struct):
    done: int
    refused: int
    results: list[BookingResult]
