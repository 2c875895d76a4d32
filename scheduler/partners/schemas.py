"""Partner request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from scheduler.schemas import Input, LongText, Name, ShortText, Slug

Phone = Annotated[str, msgspec.Meta(max_length=50)]
ZoneKey = Literal["expo_park", "office", "camp", "campus", "residential"]


class PartnerCreate(Input):
    name: Name
    zone: ZoneKey
    id: Slug | None = None
    contact_name: ShortText | None = None
    contact_phone: Phone | None = None
    contact_email: ShortText | None = None
    description: LongText | None = None


class PartnerUpdate(Input):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    zone: ZoneKey | msgspec.UnsetType = msgspec.UNSET
    contact_name: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    contact_phone: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    contact_email: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    description: LongText | msgspec.UnsetType | None = msgspec.UNSET


class Partner(msgspec.Struct):
    id: str
    name: str
    zone: str
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    description: str | None
    version: int
    created_at: datetime
    updated_at: datetime
