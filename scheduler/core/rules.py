"""The booking rules, one check each: shape, person, timing, windows, slots and quota.

Each check raises a ``Refusal`` naming the rule, its limit and the booker's current count,
so a city app can say exactly why; ``suggest_alternatives`` finds the nearest bookable
slots. The order in which they apply is ``core.booking.decide``'s, and only its: nothing
else calls these checks. The core gives the friendly reason; the database gives the
guarantee.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler.core import refusals as kinds
from scheduler.core.availability import Slot
from scheduler.core.policy import Policy
from scheduler.core.refusals import (
    CapacityFacts,
    FullSlot,
    PersonFacts,
    QuotaFacts,
    Refusal,
    ShapeFacts,
    TimingFacts,
    WindowFacts,
)
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


VISITOR_TAG = "visitor"


def admits(audience: Sequence[str], booker: Booker) -> bool:
    """Whether an audience lets ``booker`` in: public admits everyone; visitors admit people
    tagged ``visitor`` (the day visitors a city app or the desk books for), partners, staff
    and admins, but not residents as such (tidal parking gives the day to visitors);
    residents admit residents, staff and admins; community codes admit those communities'
    residents."""
    for entry in audience:
        if entry == "public":
            return True
        if entry == "visitors" and (
            VISITOR_TAG in booker.tags or booker.role in ("partner", "staff", "admin")
        ):
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
        raise Refusal(
            kinds.INVALID_DURATION,
            "Bookings last whole minutes.",
            ShapeFacts(rule="policy.granularity_minutes", limit=granule),
        )
    if minutes % granule:
        raise Refusal(
            kinds.INVALID_DURATION,
            f"Bookings last whole slots of {granule} minutes.",
            ShapeFacts(rule="policy.granularity_minutes", limit=granule, requested_minutes=minutes),
        )
    if minutes < policy.min_duration_minutes:
        raise Refusal(
            kinds.INVALID_DURATION,
            f"Bookings last at least {policy.min_duration_minutes} minutes.",
            ShapeFacts(
                rule="policy.min_duration_minutes",
                limit=policy.min_duration_minutes,
                requested_minutes=minutes,
            ),
        )
    if minutes > policy.max_duration_minutes:
        raise Refusal(
            kinds.INVALID_DURATION,
            f"Bookings last at most {policy.max_duration_minutes} minutes.",
            ShapeFacts(
                rule="policy.max_duration_minutes",
                limit=policy.max_duration_minutes,
                requested_minutes=minutes,
            ),
        )
    if units:
        if request.quantity != 1:
            raise Refusal(
                kinds.INVALID_QUANTITY,
                "A booking of a resource with units takes exactly one unit.",
                ShapeFacts(rule="units", limit=1, requested=request.quantity),
            )
        if request.unit is not None and request.unit not in units:
            raise Refusal(
                kinds.INVALID_UNIT,
                f"The resource has no unit {request.unit!r}.",
                ShapeFacts(rule="units"),
            )
    elif request.quantity > policy.max_party_size:
        raise Refusal(
            kinds.INVALID_QUANTITY,
            f"At most {policy.max_party_size} people per booking.",
            ShapeFacts(
                rule="policy.max_party_size",
                limit=policy.max_party_size,
                requested=request.quantity,
            ),
        )


def check_person(booker: Booker, policy: Policy, now: datetime) -> None:
    """Refusals about the person (403)."""
    if booker.suspended_until is not None and booker.suspended_until > now:
        raise Refusal(
            kinds.SUSPENDED,
            "Booking rights are suspended after repeated no-shows.",
            PersonFacts(rule="no_show_suspension", suspended_until=booker.suspended_until),
        )
    if policy.eligible_tags and not set(policy.eligible_tags) & set(booker.tags):
        raise Refusal(
            kinds.NOT_ELIGIBLE,
            "This resource is reserved for: " + ", ".join(policy.eligible_tags) + ".",
            PersonFacts(rule="policy.eligible_tags", required_tags=list(policy.eligible_tags)),
        )


def check_timing(request: Request, policy: Policy, now: datetime) -> None:
    earliest = now + timedelta(minutes=policy.min_lead_minutes)
    if request.range.start < earliest:
        raise Refusal(
            kinds.LEAD_TIME,
            f"Book at least {policy.min_lead_minutes} minutes ahead."
            if policy.min_lead_minutes
            else "This time has already started.",
            TimingFacts(
                rule="policy.min_lead_minutes",
                limit=policy.min_lead_minutes,
                earliest_start=earliest,
            ),
        )
    latest = now + timedelta(days=policy.horizon_days)
    if request.range.start > latest:
        raise Refusal(
            kinds.HORIZON,
            f"Book at most {policy.horizon_days} days ahead.",
            TimingFacts(rule="policy.horizon_days", limit=policy.horizon_days, latest_start=latest),
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
        raise Refusal(
            kinds.INVALID_DURATION,
            "Start and end must fall on slot boundaries.",
            ShapeFacts(
                rule="slot_boundaries", nearest_slot_start=edge.start, nearest_slot_end=edge.end
            ),
        )
    cursor = wanted.start
    for slot in inside:
        if slot.range.start != cursor:
            break
        cursor = slot.range.end
    if not inside or cursor != wanted.end:
        raise Refusal(
            kinds.OUTSIDE_WINDOW,
            "The resource is not open for booking for all of this time.",
            WindowFacts(
                rule="windows", open_until=cursor if inside and cursor > wanted.start else None
            ),
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
        raise Refusal(
            kinds.CLOSED,
            f"Closed: {closed[0].closure_reason or 'no reason given'}.",
            WindowFacts(
                rule="closure",
                reason=closed[0].closure_reason,
                closed_from=closed[0].range.start,
            ),
        )
    pending_release = [slot for slot in slots if slot.status == "not_released"]
    if pending_release and release:
        releases = pending_release[0].releases_at
        raise Refusal(
            kinds.NOT_RELEASED,
            "These slots are not open for booking yet.",
            TimingFacts(rule="policy.release", releases_at=releases),
        )
    refused = [slot for slot in slots if not admits(slot.audience, booker)]
    if refused:
        raise Refusal(
            kinds.OUTSIDE_WINDOW,
            "This time is reserved for: " + ", ".join(refused[0].audience) + ".",
            WindowFacts(
                rule="window.audience",
                window_ids=list(refused[0].window_ids),
                audience=list(refused[0].audience),
            ),
        )
    full = [slot for slot in slots if slot.available < request.quantity]
    if full and capacity:
        raise Refusal(
            kinds.CAPACITY,
            "Not enough places left.",
            CapacityFacts(
                rule="capacity",
                requested=request.quantity,
                full_slots=[
                    FullSlot(slot.range.start, slot.range.end, slot.available) for slot in full
                ],
            ),
        )


def check_quota(request: Request, policy: Policy, usage: Usage) -> None:
    limit = policy.max_active_bookings_per_week
    if limit is not None and usage.active_in_week + 1 > limit:
        raise Refusal(
            kinds.QUOTA_EXCEEDED,
            f"At most {limit} active bookings per week on this resource.",
            QuotaFacts(
                rule="policy.max_active_bookings_per_week",
                limit=limit,
                current=usage.active_in_week,
            ),
        )
    daily = policy.max_minutes_per_day
    minutes = int(request.range.duration / timedelta(minutes=1))
    if daily is not None and usage.minutes_in_day + minutes > daily:
        raise Refusal(
            kinds.QUOTA_EXCEEDED,
            f"At most {daily} minutes per day on this resource.",
            QuotaFacts(
                rule="policy.max_minutes_per_day",
                limit=daily,
                current=usage.minutes_in_day,
                requested_minutes=minutes,
            ),
        )


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
