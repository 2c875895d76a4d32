"""HTTP surface of availability."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, QueryParameter

from scheduler.availability import schemas
from scheduler.availability.services import AvailabilityService
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.openapi import problems
from scheduler.partners.schemas import ZoneKey
from scheduler.resources.schemas import Kind
from scheduler.schemas import Limit, Offset
from scheduler.timeparams import FromParam, ToParam

MinAvailable = Annotated[int, QueryParameter(ge=1, le=100_000, description="Places needed")]


class AvailabilityController(Controller):
    tags = ["Windows and availability"]

    @get(
        "/api/v1/resources/{resource_id:str}/availability",
        operation_id="getAvailability",
        responses=problems(404),
    )
    async def for_resource(
        self,
        resource_id: FromPath[str],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        start: FromParam = None,
        end: ToParam = None,
    ) -> schemas.Availability:
        """Slots of one resource from `from` (default now) to `to` (default 7 days; at most 62)."""
        return await AvailabilityService(db_session).for_resource(
            resource_id, start, end, now, principal
        )

    @get("/api/v1/availability", operation_id="searchAvailability", responses=problems())
    async def search(
        self,
        db_session: DbSession,
        now: Now,
        state: State,
        principal: Caller,
        zone: FromQuery[ZoneKey | None] = None,
        kind: FromQuery[Kind | None] = None,
        start: FromParam = None,
        end: ToParam = None,
        min_available: MinAvailable = 1,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> schemas.AvailabilitySearch:
        """Open slots across resources ("a free court tonight"); at most 7 days at once."""
        return await AvailabilityService(db_session).search(
            zone_key=zone,
            kind=kind,
            start_text=start,
            end_text=end,
            min_available=min_available,
            limit=limit,
            offset=offset,
            now=now,
            default_timezone=state.settings.default_timezone,
            caller=principal,
        )
