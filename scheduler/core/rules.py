"""Checking a booking request against policy, windows, closures, quotas and capacity.

The core gives the friendly reason; the database gives the guarantee. ``check_booking``
raises a ``Refusal`` naming the rule, its limit and the booker's current count, so a city
app can say exactly why, and ``suggest_alternatives`` finds the nearest bookable slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from scheduler.core.availability import Slot
from scheduler.core.policy import Policy
from scheduler.core.timerange import TimeRange

COMMUNITY_PREFIX = "community:"


@dataclass(frozen=True, slots=True)
class Booker:
    """The person who will hold the booking."""

    sub: str
    role: str
    community: str | None = None
    tags: tuple[str, ...] = ()
    suspended_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Request:
    range: TimeRange
    quantity: int = 1
    unit: str | None = None
    unit_exact: bool = False


@dataclass(frozen=True, slots=True)
class Usage:
    """The holder's current active bookings on this resource that quotas count."""

    active_in_week: int = 0
    minutes_in_day: int = 0


@dataclass(slots=True)
class Refusal(Exception):
    """Why a booking cannot be made; ``code`` is the problem code, ``status`` its HTTP status."""

    code: str
    status: int
    detail: str
    facts: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.detail


def _refuse(code: str, status: int, detail: str, **facts: Any) -> Refusal:
    return Refusal(
        code, status, detail, {key: value for key, value in facts.items() if value is not None}
    )


def admits(audience: Sequence[str], booker: Booker) -> bool:
    """Whether an audience lets ``booker`` in: public and visitors admit everyone, residents
    admit residents, staff and admins; community codes admit those communities' residents."""
    for entry in audience:
        if entry in ("public", "visitors"):
            return True
        if entry == "residents" and booker.role in ("resident", "staff", "admin"):
            return True
        if entry.startswith(COMMUNITY_PREFIX) and booker.community == entry.removeprefix(
            COMMUNITY_PREFIX
        ):
            return True
    return False


def check_shape(request: Request, policy: Policy, units: Sequence[str]) -> None:
    """Refusals that no state of the world can change (422)."""
    minutes = int(request.range.duration.total_seconds() // 60)
    granule = policy.granularity_minutes
    if request.range.duration.total_seconds() % 60:
        raise _refuse(
            "invalid_duration",
            422,
            "Bookings last whole minutes.",
            rule="policy.granularity_minutes",
            limit=granule,
        )
    if minutes % granule:
        raise _refuse(
            "invalid_duration",
            422,
            f"Bookings last whole slots of {granule} minutes.",
            rule="policy.granularity_minutes",
            limit=granule,
            requested_minutes=minutes,
        )
    if minutes < policy.min_duration_minutes:
        raise _refuse(
            "invalid_duration",
            422,
            f"Bookings last at least {policy.min_duration_minutes} minutes.",
            rule="policy.min_duration_minutes",
            limit=policy.min_duration_minutes,
            requested_minutes=minutes,
        )
    if minutes > policy.max_duration_minutes:
        raise _refuse(
            "invalid_duration",
            422,
            f"Bookings last at most {policy.max_duration_minutes} minutes.",
            rule="policy.max_duration_minutes",
            limit=policy.max_duration_minutes,
            requested_minutes=minutes,
        )
    if units:
        if request.quantity != 1:
            raise _refuse(
                "invalid_quantity",
                422,
                "A booking of a resource with units takes exactly one unit.",
                rule="units",
                limit=1,
                requested=request.quantity,
            )
        if request.unit is not None and request.unit not in units:
            raise _refuse(
                "invalid_unit", 422, f"The resource has no unit {request.unit!r}.", rule="units"
            )
    elif request.quantity > policy.max_party_size:
        raise _refuse(
            "invalid_quantity",
            422,
            f"At most {policy.max_party_size} people per booking.",
            rule="policy.max_party_size",
            limit=policy.max_party_size,
            requested=request.quantity,
        )


def check_person(booker: Booker, policy: Policy, now: datetime) -> None:
    """Refusals about the person (403)."""
    if booker.suspended_until is not None and booker.suspended_until > now:
        raise _refuse(
            "suspended",
            403,
            "Booking rights are suspended after repeated no-shows.",
            rule="no_show_suspension",
            suspended_until=booker.suspended_until,
        )
    if policy.eligible_tags and not set(policy.eligible_tags) & set(booker.tags):
        raise _refuse(
            "not_eligible",
            403,
            "This resource is reserved for: " + ", ".join(policy.eligible_tags) + ".",
            rule="policy.eligible_tags",
            required_tags=policy.eligible_tags,
        )


def check_timing(request: Request, policy: Policy, now: datetime) -> None:
    earliest = now + timedelta(minutes=policy.min_lead_minutes)
    if request.range.start < earliest:
        raise _refuse(
            "lead_time",
            409,
            f"Book at least {policy.min_lead_minutes} minutes ahead."
            if policy.min_lead_minutes
            else "This time has already started.",
            rule="policy.min_lead_minutes",
            limit=policy.min_lead_minutes,
            earliest_start=earliest,
        )
    latest = now + timedelta(days=policy.horizon_days)
    if request.range.start > latest:
        raise _refuse(
            "horizon",
            409,
            f"Book at most {policy.horizon_days} days ahead.",
            rule="policy.horizon_days",
            limit=policy.horizon_days,
            latest_start=latest,
        )


def covering_slots(request: Request, slots: Sequence[Slot]) -> list[Slot]:
    """The contiguous slots that exactly make up the request, or a refusal explaining why not.

    ``slots`` must include every slot starting inside the request and the one containing its
    start, so misalignment (422) can be told apart from asking outside any window (409).
    """
    wanted = request.range
    inside = [slot for slot in slots if wanted.contains(slot.range)]
    straddling = [
        slot for slot in slots if slot.range.overlaps(wanted) and not wanted.contains(slot.range)
    ]
    if straddling:
        edge = straddling[0].range
        raise _refuse(
            "invalid_duration",
            422,
            "Start and end must fall on slot boundaries.",
            rule="slot_boundaries",
            nearest_slot_start=edge.start,
            nearest_slot_end=edge.end,
        )
    cursor = wanted.start
    for slot in inside:
        if slot.range.start != cursor:
            break
        cursor = slot.range.end
    if not inside or cursor != wanted.end:
        raise _refuse(
            "outside_window",
            409,
            "The resource is not open for booking for all of this time.",
            rule="windows",
            open_until=cursor if inside and cursor > wanted.start else None,
        )
    return inside


def check_slots(
    request: Request,
    slots: Sequence[Slot],
    booker: Booker,
    *,
    release: bool = True,
    capacity: bool = True,
) -> None:
    """Closures, release, audience and capacity of the covering slots (409). A lottery entry
    is checked without ``release`` and ``capacity``; a waitlist request without ``capacity``."""
    closed = [slot for slot in slots if slot.status == "closed"]
    if closed:
        raise _refuse(
            "closed",
            409,
            f"Closed: {closed[0].closure_reason or 'no reason given'}.",
            rule="closure",
            reason=closed[0].closure_reason,
            closed_from=closed[0].range.start,
        )
    pending_release = [slot for slot in slots if slot.status == "not_released"]
    if pending_release and release:
        releases = pending_release[0].releases_at
        raise _refuse(
            "not_released",
            409,
            "These slots are not open for booking yet.",
            rule="policy.release",
            releases_at=releases,
        )
    refused = [slot for slot in slots if not admits(slot.audience, booker)]
    if refused:
        raise _refuse(
            "outside_window",
            409,
            "This time is reserved for: " + ", ".join(refused[0].audience) + ".",
            rule="window.audience",
            window_ids=list(refused[0].window_ids),
            audience=list(refused[0].audience),
        )
    full = [slot for slot in slots if slot.available < request.quantity]
    if full and capacity:
        raise _refuse(
            "capacity",
            409,
            "Not enough places left.",
            rule="capacity",
            requested=request.quantity,
            full_slots=[slot_fact(slot) for slot in full],
        )


def check_quota(request: Request, policy: Policy, usage: Usage) -> None:
    limit = policy.max_active_bookings_per_week
    if limit is not None and usage.active_in_week + 1 > limit:
        raise _refuse(
            "quota_exceeded",
            409,
            f"At most {limit} active bookings per week on this resource.",
            rule="policy.max_active_bookings_per_week",
            limit=limit,
            current=usage.active_in_week,
        )
    daily = policy.max_minutes_per_day
    minutes = int(request.range.duration / timedelta(minutes=1))
    if daily is not None and usage.minutes_in_day + minutes > daily:
        raise _refuse(
            "quota_exceeded",
            409,
            f"At most {daily} minutes per day on this resource.",
            rule="policy.max_minutes_per_day",
            limit=daily,
            current=usage.minutes_in_day,
            requested_minutes=minutes,
        )


def slot_fact(slot: Slot) -> dict[str, Any]:
    return {"starts_at": slot.range.start, "ends_at": slot.range.end, "available": slot.available}


def check_booking(
    request: Request,
    booker: Booker,
    policy: Policy,
    units: Sequence[str],
    slots: Sequence[Slot],
    usage: Usage,
    now: datetime,
) -> list[Slot]:
    """Every rule in order (shape, person, timing, windows, slots, quota); the covering slots
    if the booking may be made, else the first ``Refusal``."""
    check_shape(request, policy, units)
    check_person(booker, policy, now)
    check_timing(request, policy, now)
    covering = covering_slots(request, slots)
    check_slots(request, covering, booker)
    check_quota(request, policy, usage)
    return covering


def suggest_alternatives(
    request: Request,
    booker: Booker,
    slots: Sequence[Slot],
    policy: Policy,
    now: datetime,
    limit: int = 3,
) -> list[TimeRange]:
    """Up to ``limit`` bookable ranges of the same length, nearest to the requested start,
    that respect the policy's lead time and horizon."""
    earliest = now + timedelta(minutes=policy.min_lead_minutes)
    latest = now + timedelta(days=policy.horizon_days)
    length = request.range.duration
    ordered = sorted(slots, key=lambda slot: slot.range.start)
    found: list[TimeRange] = []
    for index, first in enumerate(ordered):
        candidate_end = first.range.start + length
        run: list[Slot] = []
        for slot in ordered[index:]:
            if slot.range.start != (run[-1].range.end if run else first.range.start):
                break
            run.append(slot)
            if slot.range.end >= candidate_end:
                break
        usable = all(
            slot.status == "open"
            and slot.available >= request.quantity
            and admits(slot.audience, booker)
            for slot in run
        )
        if run and run[-1].range.end == candidate_end and usable:
            option = TimeRange(first.range.start, candidate_end)
            if option != request.range and earliest <= option.start <= latest:
                found.append(option)
    found.sort(key=lambda option: (abs(option.start - request.range.start), option.start))
    return found[:limit]
