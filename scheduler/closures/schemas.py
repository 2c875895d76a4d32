"""Closure request and response bodies."""

from __future__ import annotations

from datetime import datetime

import msgspec

from scheduler.schemas import Input, Instant, LongText


class ClosureCreate(Input):
    starts_at: Instant
    ends_at: Instant
    reason: LongText = ""


class Closure(msgspec.Struct):
    id: str
    resource_id: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    created_at: datetime
