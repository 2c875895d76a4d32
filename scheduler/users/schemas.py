"""Resident record bodies (staff-maintained tags, suspension)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from scheduler.schemas import Input

Tag = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class UserUpdate(Input):
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)]


class User(msgspec.Struct):
    sub: str
    name: str
    role: str
    partner_id: str | None
    community: str | None
    tags: list[str]
    suspended_until: datetime | None
    created_at: datetime
    last_seen_at: datetime
