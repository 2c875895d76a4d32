"""Use cases for the official calendar, its corrections, and school terms."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.calendar import schemas
from scheduler.calendar.repositories import CalendarRepository
from scheduler.core.calendar import DayCalendar, days_between
from scheduler.db.schedule import CalendarCorrection, SchoolTerm
from scheduler.errors import FieldError, NotFound, ValidationFailed
from scheduler.ids import new_id
from scheduler.partners.services import PartnerService
from scheduler.resources.services import ensure_manages
from scheduler.timeparams import parse_day

MAX_CALENDAR_DAYS = 366
MAX_TERM_DAYS = 366


def describe(calendar: DayCalendar, day: date, corrected: bool) -> schemas.CalendarDay:
    official = calendar.classify(day)
    return schemas.CalendarDay(
        date=day,
        day_type=official.kind,
        day_types=sorted(calendar.day_types(day)),
        name=official.name,
        source="correction" if corrected else "official",
    )


class CalendarService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.calendar = CalendarRepository(session)

    async def days(
        self, first_text: str | None, last_text: str | None, partner_id: str | None, today: date
    ) -> list[schemas.CalendarDay]:
        first = parse_day(first_text, "from") if first_text else today.replace(day=1)
        last = parse_day(last_text, "to") if last_text else first + timedelta(days=30)
        if last < first:
            raise ValidationFailed([FieldError("to", "must not be before from")])
        if (last - first).days >= MAX_CALENDAR_DAYS:
            raise ValidationFailed([FieldError("to", f"at most {MAX_CALENDAR_DAYS} days at once")])
        if partner_id:
            await PartnerService(self.session).get(partner_id)
        calendar = await self.calendar.day_calendar(partner_id, first, last)
        return [
            describe(calendar, day, day in calendar.corrections)
            for day in days_between(first, last)
        ]

    async def correct(
        self, day_text: str, data: schemas.DayCorrection, caller: Principal, now: datetime
    ) -> schemas.CalendarDay:
        day = parse_day(day_text, "date")
        row = await self.calendar.correction(day)
        if row is None:
            row = CalendarCorrection(
                day=day,
                day_type=data.day_type,
                name=data.name,
                updated_by=caller.sub,
                updated_at=now,
            )
            self.calendar.add(row)
        else:
            row.day_type, row.name, row.updated_by, row.updated_at = (
                data.day_type,
                data.name,
                caller.sub,
                now,
            )
        await self.session.flush()
        return describe(await self.calendar.day_calendar(None, day, day), day, True)

    async def revert(self, day_text: str) -> None:
        day = parse_day(day_text, "date")
        row = await self.calendar.correction(day)
        if row is None:
            raise NotFound(f"No correction on {day.isoformat()}; it follows the official calendar.")
        await self.calendar.delete(row)
        await self.session.flush()

    async def terms(self, partner_id: str) -> list[SchoolTerm]:
        await PartnerService(self.session).get(partner_id)
        return await self.calendar.terms(partner_id)

    async def add_term(
        self, partner_id: str, data: schemas.TermCreate, caller: Principal, now: datetime
    ) -> SchoolTerm:
        ensure_manages(caller, partner_id)
        await PartnerService(self.session).get(partner_id)
        if data.ends_on < data.starts_on:
            raise ValidationFailed([FieldError("ends_on", "must not be before starts_on")])
        if (data.ends_on - data.starts_on).days >= MAX_TERM_DAYS:
            raise ValidationFailed(
                [FieldError("ends_on", f"a term lasts at most {MAX_TERM_DAYS} days")]
            )
        term = SchoolTerm(
            id=new_id("trm"),
            partner_id=partner_id,
            name=data.name,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            created_at=now,
        )
        self.calendar.add(term)
        await self.session.flush()
        return term

    async def delete_term(self, partner_id: str, term_id: str, caller: Principal) -> None:
        ensure_manages(caller, partner_id)
        term = await self.calendar.term(partner_id, term_id)
        if term is None:
            raise NotFound(f"No term {term_id!r} for partner {partner_id!r}.")
        await self.calendar.delete(term)
        await self.session.flush()
