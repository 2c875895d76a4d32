"""What a standing order records: who made it (to book as them later), the order row, and
the payload of its ``standing_order.occurrence`` event."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from scheduler.auth.tokens import Principal
from scheduler.core import standing as core
from scheduler.db.catalogue import Resource, User
from scheduler.db.standing import StandingOccurrence, StandingOrder
from scheduler.ids import new_id
from scheduler.standing import schemas


def creator_of(caller: Principal) -> dict[str, Any]:
    return {
        "sub": caller.sub,
        "role": caller.role,
        "name": caller.name,
        "partner": caller.partner,
        "community": caller.community,
        "tags": list(caller.tags),
        "communities": list(caller.communities),
    }


def principal_of(creator: dict[str, Any]) -> Principal:
    return Principal(
        sub=creator["sub"],
        role=creator["role"],
        name=creator.get("name") or "",
        partner=creator.get("partner"),
        community=creator.get("community"),
        tags=tuple(creator.get("tags") or ()),
        communities=tuple(creator.get("communities") or ()),
    )


def new_order(
    data: schemas.StandingOrderCreate,
    pattern: core.Pattern,
    resource: Resource,
    holder: User,
    caller: Principal,
    now: datetime,
    fields: dict[str, Any],
) -> StandingOrder:
    shown = schemas.StandingPattern(
        pattern.start_time, pattern.end_time, list(pattern.weekdays) or None, pattern.rrule
    )
    return StandingOrder(
        id=new_id("sto"),
        resource_id=resource.id,
        holder_id=holder.id,
        holder_name=holder.name,
        created_by=caller.sub,
        creator=creator_of(caller),
        pattern=msgspec.to_builtins(shown),
        first_day=data.from_,
        last_day=data.until,
        quantity=data.quantity,
        note=data.note,
        fields=fields,
        status="active",
        version=1,
        created_at=now,
        updated_at=now,
    )


def occurrence_payload(
    order: StandingOrder, occurrence: StandingOccurrence, resource: Resource
) -> dict[str, Any]:
    """The ``standing_order.occurrence`` event: the outcome, with the booking or the refusal,
    and the start in UTC and in the resource's local time."""
    zone = ZoneInfo(resource.timezone)
    refusal = None
    if occurrence.status == "refused":
        refusal = {
            "code": occurrence.refusal_code,
            "status": occurrence.refusal_status,
            "detail": occurrence.refusal_detail,
        }
    payload = {
        "standing_order_id": order.id,
        "resource_id": resource.id,
        "resource_name": resource.name,
        "holder": {"sub": order.holder_id, "name": order.holder_name},
        "starts_at": occurrence.starts_at.isoformat(),
        "ends_at": occurrence.ends_at.isoformat(),
        "local_start": occurrence.starts_at.astimezone(zone).isoformat(),
        "local_end": occurrence.ends_at.astimezone(zone).isoformat(),
        "outcome": occurrence.status,
        "booking_id": occurrence.booking_id,
        "booking_status": occurrence.booking_status,
        "refusal": refusal,
    }
    return payload
