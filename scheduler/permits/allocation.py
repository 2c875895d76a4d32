"""Booking a permit's nights as a whole, and the release of a month's applications.

A permit is booked through ``SeriesService`` in all-or-nothing mode with ``unit_policy``
``same``: every night through the same rules as any booking (under
``permit_occurrence_policy``), one unit free on every night (the preferred one if it is),
capacity taken in the ledger, whose conditional update has the last word. At a month's
release the applications are decided in order (a seeded lottery when oversubscribed) and
each winner's nights are booked in a savepoint, so a refused application leaves nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler import metrics
from scheduler.auth.tokens import Principal
from scheduler.bookings import schemas as booking_schemas
from scheduler.bookings.series import SeriesService
from scheduler.core import lottery
from scheduler.core import permits as core
from scheduler.core.policy import Policy
from scheduler.db.catalogue import Resource, User
from scheduler.db.permits import Permit
from scheduler.errors import BookingRefused, SchedulerError, SeriesRefused, ValidationFailed
from scheduler.ids import new_id
from scheduler.outbox.repositories import OutboxRepository
from scheduler.permits.repositories import PermitRepository, RoundRepository

SYSTEM = "system:permits"
# Refusals of a night that only mean "no unit was free on every night": the application
# lost to others (``not_selected``); any other refusal means it could not be had (``refused``).
CAPACITY_CODES = frozenset({"capacity", "unit_taken"})


def permit_policy(resource: Resource) -> core.PermitPolicy | None:
    return msgspec.convert(resource.policy, Policy).permit


def series_request(
    permit: Permit, resource: Resource, now: datetime, lead_minutes: int
) -> booking_schemas.SeriesCreate | None:
    """The permit's remaining nights as an all-or-nothing series (None: no night is left)."""
    offer = permit_policy(resource)
    assert offer is not None
    zone = ZoneInfo(resource.timezone)
    period = core.parse_period(permit.period)
    left = core.remaining_nights(offer, period, zone, now, timedelta(minutes=lead_minutes))
    if not left:
        return None
    last = left[-1].start.astimezone(zone).date()
    return booking_schemas.SeriesCreate(
        resource_id=resource.id,
        starts_at=left[0].start,
        ends_at=left[0].end,
        unit=permit.preferred_unit,
        rrule=f"FREQ=DAILY;UNTIL={last:%Y%m%d}",
        mode="all_or_nothing",
        unit_policy="same",
        note=f"permit {permit.id}",
        fields=dict(permit.fields) if permit.fields else None,
    )


def permit_event(
    session: AsyncSession,
    event_type: str,
    permit: Permit,
    resource: Resource,
    now: datetime,
    **extra: object,
) -> None:
    """Record ``permit.<something>`` in the outbox, in the caller's transaction."""
    payload: dict[str, object] = {
        "permit_id": permit.id,
        "resource_id": permit.resource_id,
        "period": permit.period,
        "state": permit.state,
        "holder": {"sub": permit.holder_id, "name": permit.holder_name},
        "unit": permit.unit,
        "release_at": permit.release_at.isoformat(),
        "reason": permit.reason,
        **extra,
    }
    OutboxRepository(session).emit(
        event_type, payload, now, resource_id=resource.id, partner_id=resource.partner_id
    )


class PermitAllocation:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.series = SeriesService(session)
        self.permits = PermitRepository(session)
        self.rounds = RoundRepository(session)

    async def book(
        self,
        permit: Permit,
        resource: Resource,
        caller: Principal,
        now: datetime,
        data: booking_schemas.SeriesCreate,
    ) -> booking_schemas.Series:
        """Book every night of ``data`` for the permit; raises ``SeriesRefused`` (nothing
        kept) unless all of them got one unit.

        The unit plan is read once, before the nights are booked; a concurrent permit can
        take the planned unit meanwhile (the ledger then refuses a night ``unit_taken``).
        When the plan had a unit free throughout, the whole series is undone and planned
        again from what is held now, up to once per unit, so racing applicants end up on
        different units instead of all but one being refused."""
        permit_id = permit.id
        attempts = max(len(resource.units), 1)
        for attempt in range(attempts):
            savepoint = await self.session.begin_nested()
            try:
                series = await self.series.create(
                    data, caller, now, series_id=permit_id, as_permit=True
                )
            except SeriesRefused as refusal:
                await savepoint.rollback()
                # A rolled-back savepoint expires the loaded rows: read them again.
                await self.session.refresh(permit)
                await self.session.refresh(resource)
                if attempt + 1 < attempts and _lost_a_race(refusal):
                    continue
                raise
            except BaseException:
                await savepoint.rollback()
                raise
            await savepoint.commit()
            break
        permit.state = "confirmed"
        permit.unit = series.unit
        permit.decided_at = now
        permit.updated_at = now
        await self.session.flush()
        permit_event(self.session, "permit.confirmed", permit, resource, now, nights=series.booked)
        return series

    async def run_due(self, now: datetime, resource_id: str | None = None) -> int:
        """Release every month whose instant has come; returns how many permits were decided."""
        decided = 0
        for due_resource, period in await self.permits.due(now, resource_id):
            decided += await self.release(due_resource, period, now)
        return decided

    async def release(self, resource_id: str, period: str, now: datetime) -> int:
        """Decide the month's applications as wholes, exactly once per (resource, month);
        applications committed after the round (a request racing the instant) are then
        decided one by one, first come first served."""
        resource = await self.session.get(Resource, resource_id)
        offer = permit_policy(resource) if resource is not None else None
        if resource is None or offer is None:
            return 0
        seed = lottery.new_seed()
        round_id = new_id("prd")
        applications = await self.permits.applications(resource_id, period)
        due = [a for a in applications if a.release_at <= now]
        if not due:
            return 0
        claimed = await self.rounds.claim(
            round_id, resource_id, period, due[0].release_at, now, seed
        )
        units = len(resource.units) if resource.units else resource.capacity or 0
        ids = [a.id for a in due]
        order, drawn = core.allocation_order(ids, seed, offer.lottery and claimed, units)
        by_id = {a.id: a for a in due}
        lead = msgspec.convert(resource.policy, Policy).min_lead_minutes
        winners = []
        for permit_id in order:
            if await self._decide(by_id[permit_id], resource, now, lead, drawn):
                winners.append(permit_id)
        if claimed:
            await self.rounds.record(round_id, drawn, sorted(ids), winners)
            metrics.count_draw()
        await self.session.flush()
        return len(order)

    async def _decide(
        self, permit: Permit, resource: Resource, now: datetime, lead: int, drawn: bool
    ) -> bool:
        holder = await self.session.get(User, permit.holder_id)
        data = series_request(permit, resource, now, lead)
        if holder is None or data is None:
            await self._turn_down(permit, resource, now, "refused", "no night of the month is left")
            return False
        caller = Principal(
            sub=holder.id,
            role=holder.role,
            name=holder.name,
            community=holder.community,
            tags=tuple(permit.holder_tags),
        )
        permit_id = permit.id
        savepoint = await self.session.begin_nested()
        try:
            await self.book(permit, resource, caller, now, data)
        except (SeriesRefused, BookingRefused, ValidationFailed) as error:
            await savepoint.rollback()
            permit = await self._reloaded(permit_id)
            state, reason = _outcome(error, drawn)
            await self._turn_down(permit, resource, now, state, reason)
            return False
        except SchedulerError:
            await savepoint.rollback()
            raise
        await savepoint.commit()
        return True

    async def _reloaded(self, permit_id: str) -> Permit:
        # A rolled-back savepoint expires the loaded rows: read the permit again.
        permit = await self.permits.get(permit_id)
        assert permit is not None
        await self.session.refresh(permit)
        return permit

    async def _turn_down(
        self, permit: Permit, resource: Resource, now: datetime, state: str, reason: str
    ) -> None:
        permit.state, permit.reason = state, reason
        permit.decided_at = permit.updated_at = now
        await self.session.flush()
        permit_event(self.session, "permit.not_selected", permit, resource, now)


def _refused_codes(error: SchedulerError) -> set[str]:
    return {
        occurrence["problem"]["code"]
        for occurrence in error.extensions.get("occurrences", [])
        if occurrence.get("problem")
    }


def _lost_a_race(refusal: SeriesRefused) -> bool:
    """The plan saw a unit free on every night, yet a night was refused only for capacity:
    someone took it since the plan was read."""
    return bool(refusal.extensions.get("units_free_throughout")) and (
        _refused_codes(refusal) <= CAPACITY_CODES
    )


def _outcome(error: SchedulerError, drawn: bool) -> tuple[str, str]:
    """``not_selected`` when the nights were only taken by others, else ``refused``."""
    if isinstance(error, SeriesRefused) and _refused_codes(error) <= CAPACITY_CODES:
        how = "in the lottery order" if drawn else "first come, first served"
        return "not_selected", f"no unit was left free on every night ({how})"
    return "refused", error.detail
