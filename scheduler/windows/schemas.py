"""Opening-window request and response bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from scheduler.core.calendar import DayType
from scheduler.core.limits import MAX_AUDIENCE_CODES
from scheduler.schemas import Input, ShortText

AudienceKind = Literal["residents", "public", "visitors"]
CommunityCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
CommunityCodes = Annotated[list[CommunityCode], msgspec.Meta(max_length=MAX_AUDIENCE_CODES)]
Audience = Annotated[
    AudienceKind | CommunityCodes,
    msgspec.Meta(
        description="`residents`, `public`, `visitors`, or a list of at most "
        f"{MAX_AUDIENCE_CODES} community codes"
    ),
]
StartClock = Annotated[str, msgspec.Meta(pattern=r"^[0-9][0-9]:[0-9][0-9]$", examples=["18:00"])]
EndClock = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9][0-9]:[0-9][0-9]$",
        examples=["08:00"],
        description="At or before start: next day",
    ),
]
Rule = Annotated[str, msgspec.Meta(max_length=300, examples=["FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"])]
DayTypes = Annotated[list[DayType], msgspec.Meta(max_length=5)]
WindowCapacity = Annotated[int, msgspec.Meta(ge=1, le=100_000)]


class WindowCreate(Input):
    start_time: StartClock
    end_time: EndClock
    rrule: Rule | None = None
    day_types: DayTypes = msgspec.field(default_factory=list)
    valid_from: date | None = None
    valid_until: date | None = None
    audience: Audience = "residents"
    capacity: WindowCapacity | None = None
    label: ShortText = ""


class WindowUpdate(Input):
    start_time: StartClock | msgspec.UnsetType = msgspec.UNSET
    end_time: EndClock | msgspec.UnsetType = msgspec.UNSET
    rrule: Rule | msgspec.UnsetType | None = msgspec.UNSET
    day_types: DayTypes | msgspec.UnsetType = msgspec.UNSET
    valid_from: date | msgspec.UnsetType | None = msgspec.UNSET
    valid_until: date | msgspec.UnsetType | None = msgspec.UNSET
    audience: Audience | msgspec.UnsetType = msgspec.UNSET
    capacity: WindowCapacity | msgspec.UnsetType | None = msgspec.UNSET
    label: ShortText | msgspec.UnsetType = msgspec.UNSET


class Window(msgspec.Struct):
    id: str
    resource_id: str
    label: str
    rrule: str | None
    day_types: list[str]
    start_time: str
    end_time: str
    valid_from: date | None
    valid_until: date | None
    audience: AudienceKind | list[str]
    capacity: int | None
    version: int
    created_at: datetime
    updated_at: datetime
