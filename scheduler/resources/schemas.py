"""Resource request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from scheduler.core.booking_fields import MAX_FIELDS, FieldSpec
from scheduler.core.policy import Policy
from scheduler.core.resources import MAX_CAPACITY, MAX_UNITS
from scheduler.schemas import Input, LongText, Name, Slug

Kind = Literal["sports_field", "court", "parking", "room", "canteen", "other"]
Capacity = Annotated[int, msgspec.Meta(ge=1, le=MAX_CAPACITY)]
UnitLabel = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Units = Annotated[list[UnitLabel], msgspec.Meta(max_length=MAX_UNITS)]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["Asia/Shanghai"])]
Address = Annotated[str, msgspec.Meta(max_length=500)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
BookingFields = Annotated[
    list[FieldSpec],
    msgspec.Meta(max_length=MAX_FIELDS, description="The fields this resource's bookings carry"),
]


class ResourceCreate(Input):
    name: Name
    kind: Kind
    partner_id: str | None = None
    id: Slug | None = None
    capacity: Capacity | None = None
    units: Units | None = None
    timezone: TimeZone | None = None
    address: Address | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    description: LongText | None = None
    policy: Policy | None = None
    booking_fields: BookingFields | None = None


class ResourceUpdate(Input):
    """Fields to change. ``policy`` is merged: only the policy fields sent change."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    kind: Kind | msgspec.UnsetType = msgspec.UNSET
    capacity: Capacity | msgspec.UnsetType = msgspec.UNSET
    units: Units | msgspec.UnsetType = msgspec.UNSET
    timezone: TimeZone | msgspec.UnsetType = msgspec.UNSET
    address: Address | msgspec.UnsetType | None = msgspec.UNSET
    latitude: Latitude | msgspec.UnsetType | None = msgspec.UNSET
    longitude: Longitude | msgspec.UnsetType | None = msgspec.UNSET
    description: LongText | msgspec.UnsetType | None = msgspec.UNSET
    policy: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    # Replaces the whole list (send [] to declare none).
    booking_fields: BookingFields | msgspec.UnsetType = msgspec.UNSET


class Resource(msgspec.Struct):
    id: str
    partner_id: str
    zone: str
    name: str
    kind: str
    capacity: int
    units: list[str]
    timezone: str
    address: str | None
    latitude: float | None
    longitude: float | None
    description: str | None
    policy: Policy
    version: int
    created_at: datetime
    updated_at: datetime
    booking_fields: list[FieldSpec] = msgspec.field(default_factory=list)
