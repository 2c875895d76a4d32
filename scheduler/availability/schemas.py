"""Availability response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from scheduler.core.availability import SlotStatus


class SlotWindow(msgspec.Struct):
    """An opening window the slots of this answer refer to (by ``window_ids``), listed once:
    its audience and label are not repeated in every slot."""

    id: str
    label: str
    audience: list[str]
    capacity: int | None


class ForYou(msgspec.Struct):
    """What booking one place of this slot would answer the caller now: ``book`` (a booking,
    confirmed or pending approval), ``enter`` (a lottery entry) or ``refused`` with the
    refusal code ``POST /api/v1/bookings`` would give (``outside_window`` for an audience
    that does not admit them, ``horizon``, ``lead_time``, ``not_released``, ``capacity``,
    ``closed``, ``suspended``, ``not_eligible``). ``opens_at`` is when it opens for them
    when their early access makes that earlier than ``releases_at``."""

    bookable: bool
    outcome: Literal["book", "enter", "refused"]
    refusal: str | None = None
    opens_at: datetime | None = None


class Slot(msgspec.Struct):
    starts_at: datetime
    ends_at: datetime
    capacity: int
    held: int
    available: int
    status: SlotStatus
    # Who may book is the union of these windows' audiences (see the answer's ``windows``).
    window_ids: list[str]
    releases_at: datetime | None = None
    closure_reason: str | None = None
    # What booking it would answer the caller (null in answers computed for no one).
    for_you: ForYou | None = None


class Availability(msgspec.Struct):
    resource_id: str
    timezone: str
    granularity_minutes: int
    starts_at: datetime
    ends_at: datetime
    windows: list[SlotWindow]
    slots: list[Slot]


class ResourceSlots(msgspec.Struct):
    resource_id: str
    name: str
    partner_id: str
    zone: str
    kind: str
    timezone: str
    windows: list[SlotWindow]
    slots: list[Slot]


class AvailabilitySearch(msgspec.Struct):
    starts_at: datetime
    ends_at: datetime
    min_available: int
    results: list[ResourceSlots]
    total_resources: int
    limit: int
    offset: int
