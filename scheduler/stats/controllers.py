"""HTTP surface of usage reports."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.params import QueryParameter

from scheduler.auth.middleware import MANAGERS
from scheduler.dependencies import Caller, DbSession
from scheduler.downloads import AlsoCsv, json_or_csv
from scheduler.openapi import problems
from scheduler.stats import schemas
from scheduler.stats.services import PeopleService, UtilizationService, as_csv, people_csv

# Plain strings, parsed by the service, so a bad value is reported under its own name.
ReportFrom = Annotated[
    str, QueryParameter(name="from", description="First local day of the report, YYYY-MM-DD")
]
ReportTo = Annotated[
    str,
    QueryParameter(
        name="to",
        description="Last local day of the report, YYYY-MM-DD, inclusive; 366 days at most",
    ),
]
GroupByParam = Annotated[
    schemas.GroupBy, QueryParameter(description="One row per zone, partner or resource")
]


class StatsController(Controller):
    path = "/api/v1/stats"
    tags = ["Reports"]

    @get(
        "/utilization",
        operation_id="getUtilization",
        guards=[MANAGERS],
        responses=problems(403),
        operation_class=AlsoCsv,
    )
    async def utilization(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        principal: Caller,
        start: ReportFrom,
        end: ReportTo,
        group_by: GroupByParam = "resource",
    ) -> Response[schemas.Utilization]:
        """Open, capacity and booked hours, utilization, no-show rate and bookings by status
        over the local days `from` to `to`, inclusive (partners: their own resources; staff:
        all). Send `Accept: text/csv` for CSV."""
        report = await UtilizationService(db_session).report(principal, start, end, group_by)
        name = f"utilization-{group_by}-{report.from_.isoformat()}-{report.to.isoformat()}.csv"
        return json_or_csv(request, report, lambda: as_csv(report), name)

    @get(
        "/people",
        operation_id="getPeopleServed",
        guards=[MANAGERS],
        responses=problems(403),
        operation_class=AlsoCsv,
    )
    async def people(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: DbSession,
        principal: Caller,
        start: ReportFrom,
        end: ReportTo,
    ) -> Response[schemas.People]:
        """Distinct residents served, bookings made by themselves or for them (proxy), and
        walk-ins, overall, by community and by tag (e.g. `elderly`), for bookings starting on
        the local days `from` to `to` (partners: their own resources; staff: all). Send
        `Accept: text/csv` for CSV."""
        zone = ZoneInfo(state.settings.default_timezone)
        report = await PeopleService(db_session).report(principal, start, end, zone)
        name = f"people-{report.from_.isoformat()}-{report.to.isoformat()}.csv"
        return json_or_csv(request, report, lambda: people_csv(report), name)
