"""Permits: apply for a month of nights, read a permit with its nights, cancel from a date.

An application made before the month's permit release is recorded (``applied``) and decided
with the others at the release (``scheduler.permits.allocation``); one made after it is
booked at once, as a whole, or refused with nothing written. The nights are bookings whose
``series_id`` is the permit's id.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.bookings import schemas as booking_schemas
from scheduler.bookings.common import refused
from scheduler.bookings.holders import Holders
from scheduler.bookings.series_ops import SeriesOperations
from scheduler.bookings.services import checked_fields
from scheduler.bookings.views import views
from scheduler.core import permits as core
from scheduler.core import refusals as kinds
from scheduler.core.booking_fields import FieldValue, visible_values
from scheduler.core.lifecycle import manages, serves
from scheduler.core.policy import Policy
from scheduler.core.refusals import Refusal, TimingFacts
from scheduler.core.rules import check_person
from scheduler.core.timerange import TimeRange
from scheduler.db.catalogue import Resource, User
from scheduler.db.permits import Permit
from scheduler.errors import (
    NotFound,
    PermitExists,
    PermitNotOffered,
    SchedulerError,
    ValidationFailed,
)
from scheduler.ids import new_id
from scheduler.permits import schemas
from scheduler.permits.allocation import PermitAllocation, permit_event, series_request
from scheduler.permits.repositories import PermitRepository
from scheduler.resources.services import ResourceService, declared_fields


class PermitService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.permits = PermitRepository(session)
        self.resources = ResourceService(session)
        self.holders = Holders(session)
        self.allocation = PermitAllocation(session)

    async def apply(
        self, data: schemas.PermitCreate, caller: Principal, now: datetime
    ) -> schemas.Permit:
        """Record an application before the release, or book the permit at once after it."""
        released = await self.allocation.run_due(now, data.resource_id)
        savepoint = await self.session.begin_nested() if released else None
        try:
            permit = await self._apply(data, caller, now)
        except SchedulerError as error:
            if savepoint is not None:
                # The release this request ran is kept even though the request is refused.
                await savepoint.rollback()
                error.keep_prior_work = True
            raise
        if savepoint is not None:
            await savepoint.commit()
        return await self.view(permit, caller)

    async def _apply(self, data: schemas.PermitCreate, caller: Principal, now: datetime) -> Permit:
        resource, _ = await self.resources.get(data.resource_id)
        policy = msgspec.convert(resource.policy, Policy)
        offer = policy.permit
        if offer is None:
            raise PermitNotOffered(f"Resource {resource.id!r} offers no permit.")
        _fields(resource, data)  # refuse bad values before anything else
        if data.unit is not None and data.unit not in resource.units:
            raise ValidationFailed.one("unit", f"the resource has no unit {data.unit!r}")
        zone = ZoneInfo(resource.timezone)
        period = core.parse_period(data.period)
        lead = timedelta(minutes=policy.min_lead_minutes)
        left = core.remaining_nights(offer, period, zone, now, lead)
        first = left[0] if left else core.nights(offer, period, zone)[-1]
        probe = booking_schemas.BookingCreate(
            resource_id=resource.id,
            starts_at=first.start,
            ends_at=first.end,
            on_behalf_of=data.on_behalf_of,
        )
        holder = await self.holders.resolve(caller, probe, resource, now, dry_run=False)
        span = TimeRange(first.start, left[-1].end if left else first.end)
        state = await self.holders.state(holder, caller, resource, span, now)
        try:
            check_person(state.booker, policy, now)
            if not left:
                raise Refusal(
                    kinds.LEAD_TIME,
                    f"No night of {period.text} is left to book.",
                    TimingFacts(rule="policy.permit", earliest_start=now + lead),
                )
            core.check_permit_horizon(offer, left[-1], now)
        except Refusal as refusal:
            raise refused(refusal, zone) from None
        existing = await self.permits.alive(resource.id, holder.user.id, period.text)
        if existing is not None:
            raise PermitExists(
                f"You already have {existing.id} for {period.text} here.", permit_id=existing.id
            )
        permit = Permit(
            id=new_id("pmt"),
            resource_id=resource.id,
            holder_id=holder.user.id,
            holder_name=holder.user.name,
            holder_tags=list(state.booker.tags),
            created_by=caller.sub,
            period=period.text,
            preferred_unit=data.unit,
            fields=_fields(resource, data),
            state="applied",
            release_at=core.releases_at(offer, period, zone),
            version=1,
            created_at=now,
            updated_at=now,
        )
        self.permits.add(permit)
        await self.session.flush()
        if now < permit.release_at:
            permit_event(self.session, "permit.applied", permit, resource, now)
            return permit
        request = series_request(permit, resource, now, policy.min_lead_minutes)
        assert request is not None
        series = msgspec.structs.replace(request, on_behalf_of=data.on_behalf_of)
        await self.allocation.book(permit, resource, caller, now, series)
        return permit

    async def get(self, permit_id: str, caller: Principal, now: datetime) -> schemas.Permit:
        """The permit (its month released first if that is due, so nobody reads an
        application still waiting after its release instant)."""
        await self._release_due(permit_id, now)
        return await self.view(await self._visible(permit_id, caller), caller)

    async def _release_due(self, permit_id: str, now: datetime) -> None:
        permit = await self.permits.get(permit_id)
        if permit is not None and permit.state == "applied" and permit.release_at <= now:
            await self.allocation.run_due(now, permit.resource_id)

    async def _visible(self, permit_id: str, caller: Principal) -> Permit:
        """The permit if ``caller`` may see it (its holder or whoever applied, the partner of
        its resource, staff, a worker serving the holder); otherwise 404, never 403."""
        permit = await self.permits.get(permit_id)
        resource = await self.session.get(Resource, permit.resource_id) if permit else None
        if permit is None or resource is None:
            raise NotFound(f"No permit {permit_id!r}.")
        if caller.sub in (permit.holder_id, permit.created_by) or manages(
            caller, resource.partner_id
        ):
            return permit
        if caller.is_worker:
            holder = await self.session.get(User, permit.holder_id)
            if holder is not None and serves(caller, holder.community):
                return permit
        raise NotFound(f"No permit {permit_id!r}.")

    async def cancel_from(
        self, permit_id: str, data: schemas.PermitCancel, caller: Principal, now: datetime
    ) -> schemas.PermitCancelled:
        """Withdraw an application, or cancel the permit's nights from ``data.from_`` on
        (capacity given back at once); each night goes through the booking lifecycle (who
        may cancel, the cancel deadline) and is reported."""
        await self._release_due(permit_id, now)
        permit = await self._visible(permit_id, caller)
        resource = await self.session.get(Resource, permit.resource_id)
        assert resource is not None
        if permit.state == "applied":
            permit.state, permit.cancelled_from = "cancelled", data.from_
            permit.reason = data.reason or "application withdrawn"
            permit.updated_at = now
            await self.session.flush()
            permit_event(self.session, "permit.cancelled", permit, resource, now, nights=0)
            result = booking_schemas.BatchResult(0, 0, [])
        elif permit.state == "confirmed":
            cancel = booking_schemas.SeriesCancel(from_=data.from_, reason=data.reason)
            result = await SeriesOperations(self.session).cancel_from(
                permit.id, cancel, caller, now
            )
            permit = await self._reloaded(permit_id)
            permit.cancelled_from = data.from_
            permit.updated_at = now
            statuses = [b.status for b in await self.permits.occurrences(permit.id)]
            if core.permit_state("confirmed", statuses) == "cancelled":
                permit.state = "cancelled"
            await self.session.flush()
            permit_event(
                self.session,
                "permit.cancelled",
                permit,
                resource,
                now,
                cancelled_from=data.from_.isoformat(),
                nights=result.done,
            )
        else:
            raise ValidationFailed.one("from", f"a permit {permit.state} has nothing to cancel")
        return schemas.PermitCancelled(
            await self.view(permit, caller), result.done, result.refused, result.results
        )

    async def _reloaded(self, permit_id: str) -> Permit:
        permit = await self.permits.get(permit_id)
        assert permit is not None
        await self.session.refresh(permit)
        return permit

    async def view(self, permit: Permit, caller: Principal) -> schemas.Permit:
        """The permit as ``caller`` may read it (booking fields hidden from roles the
        resource does not show them to, as on its nights)."""
        resource = await self.session.get(Resource, permit.resource_id)
        assert resource is not None
        sees_everything = caller.sub in (permit.holder_id, permit.created_by)
        fields = visible_values(
            declared_fields(resource),
            permit.fields or {},
            caller.role,
            sees_everything or caller.role == "admin",
        )
        zone = ZoneInfo(resource.timezone)
        nights = await self.permits.occurrences(permit.id)
        statuses = [b.status for b in nights]
        active = sum(1 for s in statuses if s in ("confirmed", "pending", "checked_in"))
        return schemas.Permit(
            id=permit.id,
            resource_id=permit.resource_id,
            resource_name=resource.name,
            period=permit.period,
            state=core.permit_state(permit.state, statuses),
            holder=booking_schemas.Holder(sub=permit.holder_id, name=permit.holder_name),
            created_by=permit.created_by,
            preferred_unit=permit.preferred_unit,
            unit=permit.unit,
            plate=str(fields["plate"]) if "plate" in fields else None,
            fields=fields,
            release_at=permit.release_at.astimezone(zone),
            decided_at=permit.decided_at,
            reason=permit.reason,
            cancelled_from=permit.cancelled_from,
            nights=active,
            occurrences=await views(self.session, nights, caller),
            version=permit.version,
            created_at=permit.created_at,
            updated_at=permit.updated_at,
        )


def _fields(resource: Resource, data: schemas.PermitCreate) -> dict[str, FieldValue]:
    """The booking field values every night will carry (``plate`` is ``fields.plate``),
    checked against the resource's declarations: 422 naming ``fields.<name>``."""
    values: dict[str, FieldValue] = dict(data.fields or {})
    if data.plate is not None:
        values["plate"] = data.plate
    return checked_fields(resource, values)
