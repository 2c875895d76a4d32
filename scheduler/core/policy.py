"""A resource's booking policy: a value with defaults and its consistency rules."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from scheduler.core.limits import MAX_ELIGIBLE_TAGS, MAX_TAG_LENGTH
from scheduler.core.release import ReleasePolicy, release_problems
from scheduler.core.reminders import LONGEST_LEAD_MINUTES

MINUTES_PER_DAY = 1440

Minutes = Annotated[int, msgspec.Meta(ge=0, le=366 * MINUTES_PER_DAY)]


class NoShowPolicy(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``limit`` no-shows within ``window_days`` suspend booking rights for ``suspend_days``
    in ``scope``: this resource (the default), all of this partner's resources, or everywhere
    (which only staff may set). Bounds keep one unit from punishing a resident for long."""

    limit: Annotated[int, msgspec.Meta(ge=2, le=20)] = 3
    window_days: Annotated[int, msgspec.Meta(ge=7, le=90)] = 30
    suspend_days: Annotated[int, msgspec.Meta(ge=0, le=90)] = 14
    scope: Literal["resource", "partner", "everywhere"] = "resource"


class Policy(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=False, kw_only=True):
    """How a resource may be booked. Every field has a default suitable for a sports ground."""

    granularity_minutes: Annotated[
        int, msgspec.Meta(ge=5, le=MINUTES_PER_DAY, description="Slot length; divides 1440")
    ] = 60
    min_duration_minutes: Annotated[int, msgspec.Meta(ge=5, le=MINUTES_PER_DAY * 31)] = 60
    max_duration_minutes: Annotated[int, msgspec.Meta(ge=5, le=MINUTES_PER_DAY * 31)] = 240
    min_lead_minutes: Minutes = 0
    horizon_days: Annotated[int, msgspec.Meta(ge=1, le=366)] = 14
    approval: Literal["auto", "staff"] = "auto"
    cancel_deadline_minutes: Annotated[int, msgspec.Meta(ge=0, le=7 * MINUTES_PER_DAY)] = 60
    release: ReleasePolicy | None = None
    max_party_size: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=1000, description="Most people one booking may bring (head-count resources)"
        ),
    ] = 4
    max_active_bookings_per_week: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    max_minutes_per_day: Annotated[int, msgspec.Meta(ge=5, le=MINUTES_PER_DAY)] | None = None
    max_bookings_per_person_per_slot: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=100, description="Bookings (and entries) one person may hold at one time"
        ),
    ] = 1
    max_places_per_person_per_slot: (
        Annotated[
            int, msgspec.Meta(ge=1, le=1000, description="Places one person may hold at one time")
        ]
        | None
    ) = None
    eligible_tags: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TAG_LENGTH)]],
        msgspec.Meta(max_length=MAX_ELIGIBLE_TAGS),
    ] = msgspec.field(default_factory=list)
    partner_may_approve: bool = True
    check_in_opens_minutes: Minutes = 30
    check_in_closes_minutes: Minutes = 15
    check_in_required: bool = False
    allocation: Literal["fcfs", "lottery"] = "fcfs"
    pending_expiry_minutes: Annotated[int, msgspec.Meta(ge=5, le=30 * 1440)] | None = None
    offer_minutes: Annotated[int, msgspec.Meta(ge=1, le=7 * 1440)] = 30
    # Minutes before a booking starts that ``booking.reminder`` is sent; 0: never; None:
    # the service's SCHEDULER_REMINDER_LEAD_MINUTES (core.reminders).
    reminder_minutes: Annotated[int, msgspec.Meta(ge=0, le=LONGEST_LEAD_MINUTES)] | None = None
    no_show: NoShowPolicy = msgspec.field(default_factory=lambda: NoShowPolicy())


def policy_errors(policy: Policy) -> list[tuple[str, str]]:
    """Cross-field problems of a policy as ``(field, message)`` pairs; empty when consistent."""
    found: list[tuple[str, str]] = []
    granule = policy.granularity_minutes
    if MINUTES_PER_DAY % granule:
        found.append(("policy.granularity_minutes", "must divide a day (1440 minutes) evenly"))
        return found
    for name in ("min_duration_minutes", "max_duration_minutes"):
        if getattr(policy, name) % granule:
            found.append((f"policy.{name}", f"must be a multiple of granularity ({granule})"))
    if policy.max_duration_minutes < policy.min_duration_minutes:
        found.append(("policy.max_duration_minutes", "must be at least min_duration_minutes"))
    if policy.release is not None:
        found += release_problems(policy.release)
    if policy.allocation == "lottery" and policy.release is None:
        found.append(
            ("policy.allocation", "a lottery needs a release policy: entries are drawn at release")
        )
    return found
