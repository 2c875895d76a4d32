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
