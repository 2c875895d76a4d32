"""HTTP surface of the day lists (gate, kitchen, room lists), as JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, QueryParameter

from scheduler.auth.middleware import MANAGERS
from scheduler.daylists import schemas
from scheduler.daylists.services import DayListService, as_csv
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.downloads import AlsoCsv, json_or_csv
from scheduler.openapi import problems

DayParam = Annotated[
    str | None,
    QueryParameter(
        name="date", description="Local day of the resource, YYYY-MM-DD (default: today)"
    ),
]


class DayListController(Controller):
    tags = ["Day lists"]

    @get(
        "/api/v1/resources/{resource_id:str}/day-list",
        operation_id="getDayList",
        guards=[MANAGERS],
        responses=problems(403, 404),
        operation_class=AlsoCsv,
    )
    async def day_list(
        self,
        request: Request[Any, Any, Any],
        resource_id: FromPath[str],
        db_session: DbSession,
        principal: Caller,
        now: Now,
        day: DayParam = None,
    ) -> Response[schemas.DayList]:
        """The gate's, kitchen's or room's list of one local day: bookings starting that day
        (confirmed, checked in, completed) with the booking fields your role may read, and
        places per choice. Send `Accept: text/csv` for CSV."""
        listing = await DayListService(db_session).day_list(resource_id, day, principal, now)
        name = f"day-list-{listing.resource_id}-{listing.date.isoformat()}.csv"
        return json_or_csv(request, listing, lambda: as_csv(listing), name)
