"""Availability response bodies."""

from __future__ import annotations

from datetime import datetime

import msgspec

from scheduler.core.availability import SlotStatus


class Slot(msgspec.Struct):
    starts_at: datetime
    ends_at: datetime
    capacity: int
    held: int
    available: int
    status: SlotStatus
    audience: list[str]
    window_ids: list[str]
    label: str
    releases_at: datetime | None = None
    closure_reason: str | None = None


class Availability(msgspec.Struct):
    resource_id: str
    timezone: str
    granularity_minutes: int
    starts_at: datetime
    ends_at: datetime
    slots: list[Slot]


class ResourceSlots(msgspec.Struct):
    resource_id: str
    name: str
    partner_id: str
    zone: str
    kind: str
    timezone: str
    slots: list[Slot]


class AvailabilitySearch(msgspec.Struct):
    starts_at: datetime
    ends_at: datetime
    min_available: int
    results: list[ResourceSlots]
    total_resources: int
    limit: int
    offset: int
