"""Booking a series: every occurrence through the same checks, all-or-nothing or best-effort."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.bookings import schemas
from scheduler.bookings.services import BookingService, checked_fields
from scheduler.bookings.views import view_one
from scheduler.core.policy import Policy
from scheduler.core.series import MAX_OCCURRENCES, expand_series, series_problems
from scheduler.core.timerange import TimeRange
from scheduler.core.unit_plan import UnitPlan, plan_units
from scheduler.db.catalogue import Resource
from scheduler.errors import BookingRefused, SeriesRefused, ValidationFailed
from scheduler.ids import new_id


class SeriesService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.bookings = BookingService(session)

    async def create(
        self,
        data: schemas.SeriesCreate,
        caller: Principal,
        now: datetime,
        series_id: str | None = None,
        as_permit: bool = False,
    ) -> schemas.Series:
        """Book each occurrence in its own savepoint; in all-or-nothing mode any refusal undoes
        the whole series (409 ``series_refused`` with a result per occurrence). A permit
        passes its own id as ``series_id`` and books its nights ``as_permit``."""
        resource, _ = await self.bookings.resources.get(data.resource_id)
        zone = ZoneInfo(resource.timezone)
        if data.ends_at <= data.starts_at:
            raise ValidationFailed.one("ends_at", "must be after starts_at")
        # The same values go to every occurrence: a bad one is the request's fault (422
        # naming the field), not a refusal of each occurrence.
        checked_fields(resource, data.fields)
        problem = series_problems(data.rrule, data.starts_at.astimezone(zone).date())
        if problem:
            raise ValidationFailed.one("rrule", problem)
        ranges = expand_series(TimeRange.utc(data.starts_at, data.ends_at), data.rrule, zone)
        if len(ranges) > MAX_OCCURRENCES:
            raise ValidationFailed.one(
                "rrule", f"a series has at most {MAX_OCCURRENCES} occurrences"
            )
        series_id = series_id or new_id("ser")
        single = msgspec.structs.asdict(data)
        for key in ("rrule", "mode", "unit_policy"):
            single.pop(key)
        plan = await self._unit_plan(resource, data, ranges) if resource.units else None
        results = []
        for index, r in enumerate(ranges):
            one = {**single, "starts_at": r.start, "ends_at": r.end}
            if plan is not None and plan.units[index] is not None:
                one |= {"unit": plan.units[index], "unit_exact": True}
            results.append(
                await self._one(schemas.BookingCreate(**one), caller, now, series_id, as_permit)
            )
        if plan is not None:
            results = _with_units(results, plan)
        booked = sum(1 for result in results if result.outcome == "booked")
        series = schemas.Series(series_id, data.mode, booked, len(results) - booked, results)
        if plan is not None:
            kept = {unit for unit in plan.units if unit is not None}
            series = msgspec.structs.replace(
                series,
                unit_policy=data.unit_policy,
                units_free_throughout=list(plan.free_throughout),
                unit=kept.pop() if len(kept) == 1 else None,
                unit_changes=plan.changes,
            )
        if booked == 0 or (data.mode == "all_or_nothing" and booked < len(results)):
            refused = len(results) - booked
            undone = [
                msgspec.structs.replace(o, outcome="bookable", booking=None)
                if o.outcome == "booked"
                else o
                for o in results
            ]
            raise SeriesRefused(
                f"{refused} of {len(results)} occurrences were refused; nothing was booked.",
                occurrences=msgspec.to_builtins(undone),
                units_free_throughout=list(plan.free_throughout) if plan else None,
            )
        return series

    async def _unit_plan(
        self, resource: Resource, data: schemas.SeriesCreate, ranges: list[TimeRange]
    ) -> UnitPlan:
        """The unit of every occurrence, from one read of the units held during the series."""
        policy = msgspec.convert(resource.policy, Policy)
        step = timedelta(minutes=policy.granularity_minutes)
        held: dict[datetime, set[str]] = {}
        for unit, start in await self.bookings.ledger.units_held_between(
            resource.id, ranges[0].start, ranges[-1].end
        ):
            held.setdefault(start.astimezone(UTC), set()).add(unit)
        taken = []
        for occurrence in ranges:
            during: set[str] = set()
            start = occurrence.start
            while start < occurrence.end:
                during |= held.get(start, set())
                start += step
            taken.append(during)
        return plan_units(resource.units, taken, data.unit, data.unit_policy, data.unit_exact)

    async def preview(
        self, data: schemas.SeriesCreate, caller: Principal, now: datetime
    ) -> schemas.Series:
        """What ``create`` would do, in a savepoint that is always rolled back."""
        savepoint = await self.session.begin_nested()
        try:
            return await self.create(data, caller, now)
        finally:
            await savepoint.rollback()

    async def _one(
        self,
        data: schemas.BookingCreate,
        caller: Principal,
        now: datetime,
        series_id: str,
        as_permit: bool = False,
    ) -> schemas.Occurrence:
        try:
            async with self.session.begin_nested():
                booking = await self.bookings.create(
                    data, caller, now, series_id=series_id, as_permit=as_permit
                )
        except (BookingRefused, ValidationFailed) as refusal:
            return schemas.Occurrence(
                starts_at=data.starts_at,
                ends_at=data.ends_at,
                outcome="refused",
                problem=schemas.OccurrenceProblem(refusal.code, refusal.status, refusal.detail),
            )
        return schemas.Occurrence(
            starts_at=booking.starts_at,
            ends_at=booking.ends_at,
            outcome="booked",
            booking=await view_one(self.session, booking, caller),
        )


def _with_units(results: list[schemas.Occurrence], plan: UnitPlan) -> list[schemas.Occurrence]:
    """Each occurrence with its planned unit and whether it changed from the previous one."""
    marked, previous = [], None
    for occurrence, unit in zip(results, plan.units, strict=True):
        changed = unit is not None and previous is not None and unit != previous
        marked.append(msgspec.structs.replace(occurrence, unit=unit, unit_changed=changed))
        previous = unit if unit is not None else previous
    return marked
