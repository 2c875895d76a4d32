"""Every query about calendar corrections and school terms."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.core.calendar import DayCalendar, OfficialDay, Term
from scheduler.db.schedule import CalendarCorrection, SchoolTerm


class CalendarRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def corrections(self, first: date, last: date) -> list[CalendarCorrection]:
        query = select(CalendarCorrection).where(CalendarCorrection.day.between(first, last))
        return list(await self.session.scalars(query.order_by(CalendarCorrection.day)))

    async def correction(self, day: date) -> CalendarCorrection | None:
        return await self.session.get(CalendarCorrection, day)

    def add(self, row: CalendarCorrection | SchoolTerm) -> None:
        self.session.add(row)

    async def delete(self, row: CalendarCorrection | SchoolTerm) -> None:
        await self.session.delete(row)

    async def terms(self, partner_id: str) -> list[SchoolTerm]:
        query = select(SchoolTerm).where(SchoolTerm.partner_id == partner_id)
        return list(await self.session.scalars(query.order_by(SchoolTerm.starts_on, SchoolTerm.id)))

    async def term(self, partner_id: str, term_id: str) -> SchoolTerm | None:
        term = await self.session.get(SchoolTerm, term_id)
        return term if term is not None and term.partner_id == partner_id else None

    async def day_calendar(self, partner_id: str | None, first: date, last: date) -> DayCalendar:
        """The calendar for ``[first, last]``: official days, staff corrections, partner terms."""
        corrections = {
            row.day: OfficialDay(row.day, row.day_type, row.name)  # type: ignore[arg-type]
            for row in await self.corrections(first, last)
        }
        terms = await self.terms(partner_id) if partner_id else []
        return DayCalendar(
            corrections=corrections,
            terms=tuple(
                Term(t.starts_on, t.ends_on, t.name)
                for t in terms
                if t.ends_on >= first and t.starts_on <= last
            ),
        )
