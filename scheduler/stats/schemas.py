"""Usage report bodies."""

from __future__ import annotations

from datetime import date
from typing import Literal

import msgspec

GroupBy = Literal["zone", "partner", "resource"]


class UtilizationRow(msgspec.Struct):
    """One group's figures over the report's days (see docs/observability.md)."""

    key: str
    name: str
    open_hours: float
    capacity_hours: float
    booked_hours: float
    utilization: float
    no_show_rate: float | None
    bookings_by_status: dict[str, int]


class Utilization(msgspec.Struct):
    """Figures for the local days ``from`` to ``to`` (both included) of each resource."""

    from_: date = msgspec.field(name="from")
    to: date
    group_by: GroupBy
    rows: list[UtilizationRow]
