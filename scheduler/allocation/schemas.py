"""Allocation round bodies: rounds, applications with their slots, the side-by-side view,
the allocation and its confirmation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from scheduler.schemas import Input, Instant, LongText, Name, ShortText

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
LocalTime = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        description="Local wall-clock time HH:MM in the resource's time zone (24:00: midnight)",
        examples=["18:00"],
    ),
]
ResourceIds = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]],
    msgspec.Meta(min_length=1, max_length=50, description="1 to 50 resources"),
]
Priority = Annotated[int, msgspec.Meta(ge=1, le=20, description="1 is the most wanted")]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
Seed = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
RoundState = Literal["draft", "open", "closed", "allocated"]
DecisionValue = Literal["pending", "granted", "declined"]


class AllocationRoundCreate(Input):
    name: Name
    resource_ids: ResourceIds
    applications_open_at: Instant
    applications_close_at: Instant
    season_starts_on: date | None = None
    season_ends_on: date | None = None
    school_term_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class AllocationRound(msgspec.Struct):
    id: str
    name: str
    state: RoundState
    resource_ids: list[str]
    season_starts_on: date
    season_ends_on: date
    school_term_id: str | None
    applications_open_at: datetime
    applications_close_at: datetime
    seed: str | None
    allocated_at: datetime | None
    confirmed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ApplicationSlotCreate(Input):
    resource_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    weekday: Weekday
    starts_local: LocalTime
    ends_local: LocalTime
    priority: Priority
    quantity: Quantity = 1


class AllocationApplicationCreate(Input):
    organisation: Name
    contact_name: Name
    slots: Annotated[list[ApplicationSlotCreate], msgspec.Meta(min_length=1, max_length=20)]
    contact_phone: ShortText | None = None
    contact_email: ShortText | None = None
    purpose: LongText | None = None


class ApplicantContact(msgspec.Struct):
    name: str
    phone: str | None
    email: str | None


class AllocatedOccurrence(msgspec.Struct, omit_defaults=True):
    starts_at: datetime
    ends_at: datetime
    outcome: Literal["booked", "refused"]
    booking_id: str | None = None
    unit: str | None = None
    problem: dict[str, Any] | None = None


class ApplicationSlot(msgspec.Struct):
    id: str
    resource_id: str
    weekday: Weekday
    starts_local: str
    ends_local: str
    quantity: int
    priority: int
    decision: DecisionValue
    decided_manually: bool
    decision_reason: str | None
    series_id: str | None
    booked: int
    refused: int
    occurrences: list[AllocatedOccurrence]


class AllocationApplication(msgspec.Struct):
    id: str
    round_id: str
    applicant: str
    organisation: str
    contact: ApplicantContact
    purpose: str | None
    status: Literal["submitted", "withdrawn"]
    slots: list[ApplicationSlot]
    created_at: datetime
    updated_at: datetime


class AllocationCompetitor(msgspec.Struct):
    slot_id: str
    application_id: str
    organisation: str
    contact: ApplicantContact
    priority: int
    starts_local: str
    ends_local: str
    quantity: int
    decision: DecisionValue
    decided_manually: bool


class AllocationCompetition(msgspec.Struct):
    """Applications on one resource and weekday whose times overlap."""

    resource_id: str
    resource_name: str
    weekday: Weekday
    starts_local: str
    ends_local: str
    capacity: int
    requested: int
    oversubscribed: bool
    slots: list[AllocationCompetitor]


class AllocateRequest(Input):
    seed: Seed | None = None


class AllocationStep(msgspec.Struct):
    step: int
    slot_id: str
    application_id: str
    organisation: str
    priority: int
    decision: DecisionValue
    reason: str


class AllocationResult(msgspec.Struct):
    round_id: str
    seed: str
    draws: dict[str, list[str]]
    steps: list[AllocationStep]


class SlotDecision(Input):
    decision: DecisionValue
    reason: ShortText | None = None


class ConfirmedApplicationSlot(msgspec.Struct):
    slot_id: str
    application_id: str
    organisation: str
    resource_id: str
    decision: DecisionValue
    series_id: str | None
    booked: int
    refused: int
    occurrences: list[AllocatedOccurrence]


class AllocationConfirmation(msgspec.Struct):
    round: AllocationRound
    slots: list[ConfirmedApplicationSlot]
