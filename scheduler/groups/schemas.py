"""Resource group bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from scheduler.schemas import Input, Name, Slug

Period = Literal["day", "overlap"]
ResourceIds = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]],
    msgspec.Meta(max_length=200, description="At most 200 resources per group"),
]
Limit = Annotated[int, msgspec.Meta(ge=1, le=20)]


class GroupCreate(Input):
    id: Slug
    name: Name
    resource_ids: ResourceIds
    max_bookings: Limit = 1
    max_entries: Limit = 1
    period: Period = "day"
    timezone: Annotated[str, msgspec.Meta(max_length=64)] = "Asia/Shanghai"


class GroupUpdate(Input):
    name: Name | None = None
    resource_ids: ResourceIds | None = None
    max_bookings: Limit | None = None
    max_entries: Limit | None = None
    period: Period | None = None


class Group(msgspec.Struct):
    id: str
    name: str
    resource_ids: list[str]
    max_bookings: int
    max_entries: int
    period: str
    timezone: str
    version: int
    created_at: datetime
    updated_at: datetime
