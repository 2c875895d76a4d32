"""Resident registry, suspension and personal-data log bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from scheduler.schemas import Input, Name

Tag = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=20)]
Community = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
ResidentId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:@-]{1,200}$")]
Phone = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^\+?[0-9][0-9 -]{4,30}$",
        description="Digits, optionally with a leading + and spaces or dashes (stored as digits)",
    ),
]
IdentityRef = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,200}$")]
Scope = Literal["resource", "partner", "everywhere"]


class ResidentCreate(Input):
    """A resident entered by staff or a neighbourhood worker before any booking."""

    name: Name
    community: Community
    id: ResidentId | None = None
    tags: Tags = msgspec.field(default_factory=list)
    phone: Phone | None = None
    identity_ref: IdentityRef | None = None


class ResidentUpdate(Input):
    name: Name | None = None
    community: Community | None = None
    tags: Tags | None = None
    phone: Phone | None = None
    identity_ref: IdentityRef | None = None
    verified: bool | None = None


class Resident(msgspec.Struct):
    """A registry record. The phone is masked (``138****5678``); the full phone and the
    identity reference are read from ``/personal``, and every such read is logged."""

    id: str
    name: str
    community: str | None
    tags: list[str]
    phone_masked: str | None
    has_identity_ref: bool
    verified: bool
    suspended: bool
    created_by: str | None
    created_at: datetime
    updated_at: datetime | None
    anonymised_at: datetime | None
    version: int


class PersonalData(msgspec.Struct):
    id: str
    phone: str | None
    identity_ref: str | None


class MergeRequest(Input):
    duplicate_id: ResidentId


class MergeResult(msgspec.Struct):
    id: str
    survivor_id: str
    merged_id: str
    moved_bookings: int
    moved_suspensions: int
    resident: Resident


class Suspension(msgspec.Struct):
    id: str
    resident_id: str
    resident_name: str
    scope: str
    scope_id: str | None
    until: datetime
    reason: str
    created_by: str
    created_at: datetime


class SuspensionCreate(Input):
    resident_id: ResidentId
    scope: Scope
    until: Annotated[datetime, msgspec.Meta(tz=True)]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    scope_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class AccessEntry(msgspec.Struct):
    at: datetime
    actor_sub: str
    actor_role: str
    resident_id: str
    fields: list[str]
    action: str
    path: str


class MyRecord(msgspec.Struct):
    """Everything stored about the caller: their record, personal data, running
    suspensions, and who read their personal data."""

    resident: Resident
    personal: PersonalData
    suspensions: list[Suspension]
    accesses: list[AccessEntry]
