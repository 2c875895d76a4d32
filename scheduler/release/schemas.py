"""Lottery draw response bodies."""

from __future__ import annotations

from datetime import datetime

import msgspec


class Draw(msgspec.Struct):
    id: str
    resource_id: str
    release_at: datetime
    drawn_at: datetime
    seed: str
    entries: list[str]
    winners: list[str]
    # Entries drawn as winners but withdrawn: their holder already held what a resource
    # group allows for that time (e.g. won another school's ground for the same evening).
    withdrawn: list[str] = msgspec.field(default_factory=list)
