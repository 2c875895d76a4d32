"""Every booking refusal, declared once: its code, HTTP status, title and the facts it carries.

A rule refuses by raising ``Refusal(KIND, detail, facts)`` with one of the kinds below, so a
misspelt code cannot exist. The same table drives the problem documents the service sends
(``scheduler.errors.BookingRefused``), their OpenAPI schemas (one per family, so a generated
client reads ``alternatives`` of a ``capacity`` refusal as a typed list) and the test that
keeps docs/errors.md in step with the codes. To add a refusal, add a kind here, raise it from
a rule, and document it in docs/errors.md (docs/architecture.md walks through it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec


class Alternative(msgspec.Struct):
    """A bookable range of the same length near the one refused."""

    starts_at: datetime
    ends_at: datetime


class FullSlot(msgspec.Struct, omit_defaults=True):
    """A slot without room for the request (``ends_at`` and ``available`` when known)."""

    starts_at: datetime
    ends_at: datetime | None = None
    available: int | None = None


class RefusalFacts(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What every refusal says besides its code: the rule (a policy field or a concept)."""

    rule: str | None = None


class ShapeFacts(RefusalFacts, kw_only=True, omit_defaults=True):
    """The request itself does not fit the resource (times, length, quantity, unit)."""

    limit: int | None = None
    requested: int | None = None
    requested_minutes: int | None = None
    nearest_slot_start: datetime | None = None
    nearest_slot_end: datetime | None = None


class PersonFacts(RefusalFacts, kw_only=True, omit_defaults=True):
    """The person may not book this resource (suspension, eligibility)."""

    suspended_until: datetime | None = None
    required_tags: list[str] | None = None


class TimingFacts(RefusalFacts, kw_only=True, omit_defaults=True):
    """Too early, too late or too far ahead, for booking, cancelling or checking in."""

    limit: int | None = None
    earliest_start: datetime | None = None
    latest_start: datetime | None = None
    releases_at: datetime | None = None
    deadline: datetime | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    alternatives: list[Alternative] | None = None


class WindowFacts(RefusalFacts, kw_only=True, omit_defaults=True):
    """Not open for this person at this time: outside every window, its audience, a closure."""

    open_until: datetime | None = None
    window_ids: list[str] | None = None
    audience: list[str] | None = None
    reason: str | None = None
    closed_from: datetime | None = None
    alternatives: list[Alternative] | None = None


class CapacityFacts(RefusalFacts, kw_only=True, omit_defaults=True):
    """No room: places or units are taken."""

    requested: int | None = None
    full_slots: list[FullSlot] | None = None
    unit: str | None = None
    free_units: list[str] | None = None
    alternatives: list[Alternative] | None = None


class QuotaFacts(RefusalFacts, kw_only=True, omit_defaults=True):
    """The person already holds as much as the policy allows (on this resource, or across a
    group of resources)."""

    limit: int | None = None
    current: int | None = None
    requested_minutes: int | None = None
    group_id: str | None = None
    group_name: str | None = None


@dataclass(frozen=True, slots=True)
class RefusalKind:
    """One refusal code: ``family`` names its facts; ``alternatives`` says whether the service
    suggests nearby bookable times with it."""

    code: str
    status: int
    title: str
    family: type[RefusalFacts]
    alternatives: bool = False


INVALID_DURATION = RefusalKind(
    "invalid_duration",
    422,
    "The booking's times or length do not fit the resource's slots",
    ShapeFacts,
)
INVALID_QUANTITY = RefusalKind(
    "invalid_quantity", 422, "The booking's quantity is not allowed", ShapeFacts
)
INVALID_UNIT = RefusalKind("invalid_unit", 422, "No such unit", ShapeFacts)
SUSPENDED = RefusalKind("suspended", 403, "Booking rights suspended", PersonFacts)
NOT_ELIGIBLE = RefusalKind("not_eligible", 403, "Not eligible to book this resource", PersonFacts)
LEAD_TIME = RefusalKind("lead_time", 409, "Too late to book this slot", TimingFacts, True)
HORIZON = RefusalKind("horizon", 409, "Too far ahead to book", TimingFacts, True)
NOT_RELEASED = RefusalKind("not_released", 409, "Not released for booking yet", TimingFacts, True)
NOT_IN_PROGRESS = RefusalKind(
    "not_in_progress", 409, "A walk-in is recorded for the slot in progress", TimingFacts
)
CANCEL_DEADLINE = RefusalKind("cancel_deadline", 409, "Too late to cancel", TimingFacts)
CHECK_IN_WINDOW = RefusalKind("check_in_window", 409, "Check-in is not open now", TimingFacts)
OUTSIDE_WINDOW = RefusalKind(
    "outside_window", 409, "Not open for booking at this time, or not for you", WindowFacts, True
)
CLOSED = RefusalKind("closed", 409, "The resource is closed then", WindowFacts, True)
CAPACITY = RefusalKind("capacity", 409, "Not enough capacity left", CapacityFacts, True)
UNIT_TAKEN = RefusalKind("unit_taken", 409, "The requested unit is taken", CapacityFacts)
QUOTA_EXCEEDED = RefusalKind("quota_exceeded", 409, "Booking quota exceeded", QuotaFacts)
DUPLICATE_ENTRY = RefusalKind(
    "duplicate_entry", 409, "You already have an entry or waitlist place for this time", QuotaFacts
)
PERSON_LIMIT = RefusalKind(
    "person_limit", 409, "You already hold as much of this time as one person may", QuotaFacts
)
GROUP_LIMIT = RefusalKind(
    "group_limit", 409, "You already hold a booking in this group for that time", QuotaFacts
)

KINDS: dict[str, RefusalKind] = {
    kind.code: kind
    for kind in (
        INVALID_DURATION,
        INVALID_QUANTITY,
        INVALID_UNIT,
        SUSPENDED,
        NOT_ELIGIBLE,
        LEAD_TIME,
        HORIZON,
        NOT_RELEASED,
        NOT_IN_PROGRESS,
        CANCEL_DEADLINE,
        CHECK_IN_WINDOW,
        OUTSIDE_WINDOW,
        CLOSED,
        CAPACITY,
        UNIT_TAKEN,
        QUOTA_EXCEEDED,
        DUPLICATE_ENTRY,
        PERSON_LIMIT,
        GROUP_LIMIT,
    )
}
FAMILIES: tuple[type[RefusalFacts], ...] = (
    ShapeFacts,
    PersonFacts,
    TimingFacts,
    WindowFacts,
    CapacityFacts,
    QuotaFacts,
)


class Refusal(Exception):
    """Why a booking (or a change to one) cannot be made, as a value the shell renders."""

    def __init__(self, kind: RefusalKind, detail: str, facts: RefusalFacts) -> None:
        if not isinstance(facts, kind.family):
            raise TypeError(f"{kind.code} carries {kind.family.__name__}")
        super().__init__(detail)
        self.kind, self.detail, self.facts = kind, detail, facts

    @property
    def code(self) -> str:
        return self.kind.code

    @property
    def status(self) -> int:
        return self.kind.status

    def with_alternatives(self, options: list[Alternative]) -> Refusal:
        """The same refusal, suggesting ``options`` (only kinds that suggest any)."""
        if not options or not self.kind.alternatives:
            return self
        facts = msgspec.structs.replace(self.facts, alternatives=options)
        return Refusal(self.kind, self.detail, facts)

    def fact_values(self) -> dict[str, Any]:
        """The facts as plain values (instants stay ``datetime``), without the empty ones."""
        values: dict[str, Any] = msgspec.to_builtins(self.facts, builtin_types=(datetime,))
        return values
