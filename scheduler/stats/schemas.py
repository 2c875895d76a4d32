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


class PeopleRow(msgspec.Struct):
    """Who was served: distinct residents and their bookings, made by themselves or for them
    (staff, a worker or a partner), and walk-ins among them."""

    key: str
    residents: int
    bookings: int
    self_made: int
    proxy: int
    walk_ins: int
    proxy_share: float


class People(msgspec.Struct):
    """Bookings starting on the local days ``from`` to ``to`` (both included) that served
    someone, overall, by the holder's community and by the holder's tag."""

    from_: date = msgspec.field(name="from")
    to: date
    total: PeopleRow
    by_community: list[PeopleRow]
    by_tag: list[PeopleRow]
