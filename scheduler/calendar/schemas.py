"""Calendar and school-term request and response bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import msgspec

from scheduler.core.calendar import CorrectableDayType
from scheduler.schemas import Input, Name, ShortText


class DayCorrection(Input):
    day_type: CorrectableDayType
    name: ShortText | None = None


class CalendarDay(msgspec.Struct):
    date: date
    day_type: str
    day_types: list[str]
    name: str | None
    source: Literal["official", "correction"]


class TermCreate(Input):
    name: Name
    starts_on: date
    ends_on: date


class Term(msgspec.Struct):
    id: str
    partner_id: str
    name: str
    starts_on: date
    ends_on: date
    created_at: datetime
