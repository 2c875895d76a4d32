"""Availability response bodies."""

from __future__ import annotations

from datetime import datetime

import msgspec

from scheduler.core.availability import SlotStatus


class SlotWindow(msgspec.Struct):
    """An opening window the slots of this answer refer to (by ``window_ids``), listed once:
    its audience and label are not repeated in every slot."""

    id: str
    label: str
    audience: list[str]
    capacity: int | None


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
