"""The day list of a resource: who comes on one local day, with their booking fields."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from scheduler.core.booking_fields import FieldValue


class DayListColumn(msgspec.Struct):
    """One booking field shown as a column (those the caller's role may read)."""

    name: str
    type: str
    label_zh: str | None
    label_en: str | None


class DayListRow(msgspec.Struct):
    booking_id: str
    status: str
    local_start: datetime
    local_end: datetime
    unit: str | None
    quantity: int
    holder_name: str
    walk_in: bool
    fields: dict[str, FieldValue]


class ChoiceTotal(msgspec.Struct):
    """Places per choice of a choice field (the kitchen's count of each meal)."""

    field: str
    counts: dict[str, int]


class DayList(msgspec.Struct):
    resource_id: str
    resource_name: str
    timezone: str
    date: date
    statuses: list[str]
    columns: list[DayListColumn]
    rows: list[DayListRow]
    totals: list[ChoiceTotal]
    # True when the day has more bookings than one list shows (``MAX_ROWS``).
    truncated: bool = False
