"""Standing orders: create one, book each occurrence when it is released, pause, resume, end.

Every occurrence is booked through ``BookingService.create``, as the order's creator would
book it by hand at that instant (the same rules, quotas, per-person limits and capacity
ledger), inside its own savepoint so a refusal undoes only that attempt.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.bookings.common import refused
from scheduler.bookings.holders import Holders
from scheduler.bookings.schemas import BookingCreate, OnBehalfOf
from scheduler.bookings.services import BookingService, checked_fields
from scheduler.core import rules
from scheduler.core import standing as core
from scheduler.core.policy import Policy
from scheduler.core.refusals import Refusal
from scheduler.core.release import head_start
from scheduler.core.timerange import TimeRange
from scheduler.db.catalogue import Resource, User
from scheduler.db.standing import StandingOccurrence, StandingOrder
from scheduler.errors import (
    FieldError,
    NotFound,
    SchedulerError,
    StandingOrderState,
    ValidationFailed,
)
from scheduler.outbox.repositories import OutboxRepository
from scheduler.standing import schemas
from scheduler.standing.records import new_order, occurrence_payload, principal_of
from scheduler.standing.repositories import StandingOrderRepository
from scheduler.standing.views import view

OCCURRENCE_EVENT = "standing_order.occurrence"
# Refusals that mean "not yet" (the partner moved the release or shortened the horizon
# after the order was made): the occurrence waits for its new release moment instead.
NOT_YET = ("not_released", "horizon")


class StandingOrderService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.orders = StandingOrderRepository(session)
        self.bookings = BookingService(session)
        self._resources: dict[str, tuple[Resource, Policy]] = {}

    async def _resource(self, resource_id: str) -> tuple[Resource, Policy]:
        if resource_id not in self._resources:
            resource = await self.session.get(Resource, resource_id)
            assert resource is not None, "an order's resource is never deleted under it"
            self._resources[resource_id] = (resource, msgspec.convert(resource.policy, Policy))
        return self._resources[resource_id]

    def _ranges(
        self, data: schemas.StandingOrderCreate, zone: ZoneInfo, now: datetime
    ) -> tuple[core.Pattern, list[TimeRange]]:
        pattern = core.Pattern(
            data.start_time, data.end_time, tuple(data.weekdays or ()), data.rrule
        )
        problems = core.pattern_problems(pattern, data.from_, data.until)
        if problems:
            raise ValidationFailed([FieldError(field, message) for field, message in problems])
        found = core.expand(pattern, data.from_, data.until, zone)
        if len(found) > core.MAX_OCCURRENCES:
            raise ValidationFailed.one(
                "until", f"a standing order has at most {core.MAX_OCCURRENCES} occurrences"
            )
        ranges = [r for r in found if r.start > now]
        if not ranges:
            raise ValidationFailed.one("until", "no occurrence of the pattern is still to come")
        return pattern, ranges

    async def create(
        self, data: schemas.StandingOrderCreate, caller: Principal, now: datetime
    ) -> schemas.StandingOrder:
        """Record the order and every occurrence to come; book those already released."""
        resource, _ = await self.bookings.resources.get(data.resource_id)
        policy = msgspec.convert(resource.policy, Policy)
        zone = ZoneInfo(resource.timezone)
        pattern, ranges = self._ranges(data, zone, now)
        first = BookingCreate(
            resource_id=resource.id,
            starts_at=ranges[0].start,
            ends_at=ranges[0].end,
            quantity=data.quantity,
            on_behalf_of=data.on_behalf_of,
        )
        holder = (await Holders(self.session).resolve(caller, first, resource, now, False)).user
        values = checked_fields(resource, data.fields)
        try:
            # What would refuse every occurrence refuses the order (nothing is written).
            for span in {(r.end - r.start): r for r in ranges}.values():
                request = rules.Request(span, data.quantity, None, False)
                rules.check_shape(request, policy, resource.units)
        except Refusal as refusal:
            raise refused(refusal, zone) from None
        tags = set(holder.tags) | (set(caller.tags) if holder.id == caller.sub else set())
        early = head_start(policy.release, tuple(sorted(tags)))
        order = new_order(data, pattern, resource, holder, caller, now, values)
        occurrences = [
            StandingOccurrence(
                standing_order_id=order.id,
                starts_at=r.start,
                ends_at=r.end,
                release_at=core.release_moment(r, policy, zone, early),
                status="pending",
            )
            for r in ranges
        ]
        await self.orders.add(order, occurrences)
        self._resources[resource.id] = (resource, policy)
        for occurrence in occurrences:
            if occurrence.release_at <= now:
                await self.decide(order, occurrence, now)
        await self.session.flush()
        return await self.get_view(order, resource, caller)

    async def decide(
        self, order: StandingOrder, occurrence: StandingOccurrence, now: datetime
    ) -> bool:
        """Book one released occurrence as the creator would; record and announce the
        outcome. False when it must wait for a later release moment after all."""
        resource, policy = await self._resource(order.resource_id)
        caller = principal_of(order.creator)
        data = BookingCreate(
            resource_id=order.resource_id,
            starts_at=occurrence.starts_at,
            ends_at=occurrence.ends_at,
            quantity=order.quantity,
            on_behalf_of=None if order.holder_id == caller.sub else OnBehalfOf(sub=order.holder_id),
            note=order.note,
            fields=order.fields or None,
        )
        occurrence.decided_at = now
        try:
            async with self.session.begin_nested():
                booking = await self.bookings.create(data, caller, now, series_id=order.id)
        except SchedulerError as error:
            if error.status >= 500:
                raise  # the database is busy or failing: the duty is retried, not refused
            if error.code in NOT_YET and occurrence.starts_at > now:
                later = await self._moment_again(order, occurrence, resource, policy)
                if later > now:
                    occurrence.release_at, occurrence.decided_at = later, None
                    return False
            occurrence.status = "refused"
            occurrence.refusal_code = error.code
            occurrence.refusal_status = error.status
            occurrence.refusal_detail = error.detail
        else:
            occurrence.status = "booked"
            occurrence.booking_id = booking.id
            occurrence.booking_status = booking.status
        self._announce(order, occurrence, resource, now)
        return True

    async def _moment_again(
        self,
        order: StandingOrder,
        occurrence: StandingOccurrence,
        resource: Resource,
        policy: Policy,
    ) -> datetime:
        holder = await self.session.get(User, order.holder_id)
        tags = set(holder.tags if holder else ())
        if order.holder_id == order.created_by:
            tags |= set(order.creator.get("tags") or ())
        early = head_start(policy.release, tuple(sorted(tags)))
        span = TimeRange(occurrence.starts_at, occurrence.ends_at)
        return core.release_moment(span, policy, ZoneInfo(resource.timezone), early)

    def _announce(
        self,
        order: StandingOrder,
        occurrence: StandingOccurrence,
        resource: Resource,
        now: datetime,
    ) -> None:
        payload = occurrence_payload(order, occurrence, resource)
        OutboxRepository(self.session).emit(
            OCCURRENCE_EVENT,
            payload,
            now,
            booking_id=occurrence.booking_id,
            resource_id=resource.id,
            partner_id=resource.partner_id,
        )

    async def book_due(self, now: datetime) -> int:
        """The duty: decide ``DUE_BATCH`` occurrence(s) whose release moment has come
        (catching up any missed while no job ran), oldest first; returns how many it handled,
        so the job runs it again, in a new transaction, while a batch comes back full. An
        occurrence is decided once however many runs race."""
        handled = 0
        await self.orders.one_run_at_a_time()
        for occurrence in await self.orders.due(now):
            if not await self.orders.claim(occurrence.id, now):
                continue
            handled += 1
            order = await self.orders.get(occurrence.standing_order_id)
            assert order is not None
            if order.status != "active":
                # Released while paused: skipped; an ended order closed its pending ones.
                occurrence.status = "skipped" if order.status == "paused" else "ended"
                occurrence.decided_at = now
                continue
            await self.decide(order, occurrence, now)
        await self.session.flush()
        return handled

    async def upcoming_releases(self, now: datetime, within: timedelta) -> list[datetime]:
        return await self.orders.upcoming_releases(now, now + within)

    async def visible(self, order_id: str, caller: Principal) -> tuple[StandingOrder, Resource]:
        """The order if ``caller`` may see it; otherwise 404, never 403 (no probing)."""
        order = await self.orders.get(order_id)
        if order is None:
            raise NotFound(f"No standing order {order_id!r}.")
        resource, _ = await self._resource(order.resource_id)
        community = None
        if caller.is_worker:
            holder = await self.session.get(User, order.holder_id)
            community = holder.community if holder else None
        if not core.may_see_order(
            caller, order.holder_id, order.created_by, resource.partner_id, community
        ):
            raise NotFound(f"No standing order {order_id!r}.")
        return order, resource

    async def get(self, order_id: str, caller: Principal) -> schemas.StandingOrder:
        order, resource = await self.visible(order_id, caller)
        return await self.get_view(order, resource, caller)

    async def get_view(
        self, order: StandingOrder, resource: Resource, caller: Principal
    ) -> schemas.StandingOrder:
        return view(order, resource, caller, await self.orders.occurrences(order.id))

    async def act(
        self,
        order_id: str,
        action: core.Action,
        body: schemas.StandingOrderAction,
        caller: Principal,
        now: datetime,
    ) -> schemas.StandingOrder:
        """Pause, resume or end. Resuming skips what was released during the pause; ending
        closes every occurrence still pending (bookings already made stay)."""
        order, resource = await self.visible(order_id, caller)
        after = core.next_status(order.status, action)
        if after is None:
            raise StandingOrderState(
                f"A standing order that is {order.status} cannot {action}.",
                current_status=order.status,
                action=action,
            )
        if action == "resume":
            await self.orders.close_pending(order.id, "skipped", released_by=now)
        elif action == "end":
            await self.orders.close_pending(order.id, "ended")
        order.status = after
        order.status_reason = body.reason
        order.version += 1
        order.updated_at = now
        await self.session.flush()
        return await self.get_view(order, resource, caller)

    async def listing(
        self, caller: Principal, status: str | None, limit: int, offset: int
    ) -> tuple[list[schemas.StandingOrder], int]:
        rows, total = await self.orders.visible(caller, status, limit, offset)
        counts = await self.orders.counts([row.id for row in rows])
        found = []
        for row in rows:
            resource, _ = await self._resource(row.resource_id)
            found.append(view(row, resource, caller, None, counts.get(row.id, {})))
        return found, total
