"""HTTP surface of the calendar and school terms."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from scheduler.auth.middleware import MANAGERS, STAFF
from scheduler.calendar import schemas
from scheduler.calendar.services import CalendarService
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.openapi import problems

DateFrom = Annotated[
    str | None, QueryParameter(name="from", max_length=10, description="YYYY-MM-DD")
]
DateTo = Annotated[
    str | None, QueryParameter(name="to", max_length=10, description="YYYY-MM-DD, inclusive")
]


def _term(row: object) -> schemas.Term:
    return msgspec.convert(row, schemas.Term, from_attributes=True)


class CalendarController(Controller):
    path = "/api/v1/calendar/days"
    tags = ["Calendar"]

    @get("/", operation_id="listCalendarDays", responses=problems(404))
    async def list_days(
        self,
        db_session: DbSession,
        now: Now,
        state: State,
        principal: Caller,
        first: DateFrom = None,
        last: DateTo = None,
        partner_id: FromQuery[str | None] = None,
    ) -> list[schemas.CalendarDay]:
        """Day types from `from` to `to` (default: from the 1st of this month, 31 days).

        With `partner_id`, school_day / non_school_day follow that partner's terms."""
        today = now.astimezone(ZoneInfo(state.settings.default_timezone)).date()
        return await CalendarService(db_session).days(first, last, partner_id, today)

    @put("/{day:str}", operation_id="correctCalendarDay", guards=[STAFF], responses=problems(403))
    async def correct(
        self,
        day: FromPath[str],
        data: JSONBody[schemas.DayCorrection],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> schemas.CalendarDay:
        """Correct or extend the official calendar for one date (staff, admin)."""
        return await CalendarService(db_session).correct(day, data, principal, now)

    @delete(
        "/{day:str}", operation_id="revertCalendarDay", guards=[STAFF], responses=problems(403, 404)
    )
    async def revert(self, day: FromPath[str], db_session: DbSession, principal: Caller) -> None:
        """Drop a correction: the date follows the official calendar again."""
        await CalendarService(db_session).revert(day)


class TermController(Controller):
    path = "/api/v1/partners/{partner_id:str}/terms"
    tags = ["Calendar"]

    @get("/", operation_id="listTerms", responses=problems(404))
    async def list_terms(
        self, partner_id: FromPath[str], db_session: DbSession, principal: Caller
    ) -> list[schemas.Term]:
        """A partner's school terms; days outside every term are vacation (non-school days)."""
        return [_term(row) for row in await CalendarService(db_session).terms(partner_id)]

    @post("/", operation_id="createTerm", guards=[MANAGERS], responses=problems(403, 404))
    async def create(
        self,
        partner_id: FromPath[str],
        data: JSONBody[schemas.TermCreate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> schemas.Term:
        """Add a term (the partner itself, staff, admin)."""
        return _term(await CalendarService(db_session).add_term(partner_id, data, principal, now))

    @delete(
        "/{term_id:str}", operation_id="deleteTerm", guards=[MANAGERS], responses=problems(403, 404)
    )
    async def delete_term(
        self,
        partner_id: FromPath[str],
        term_id: FromPath[str],
        db_session: DbSession,
        principal: Caller,
    ) -> None:
        """Remove a term."""
        await CalendarService(db_session).delete_term(partner_id, term_id, principal)
