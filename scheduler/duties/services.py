"""The service's time-driven duties. Each is idempotent: it acts on what is due at ``now``
and leaves things so that running it again changes nothing more."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.availability.services import AvailabilityService
from scheduler.bookings.capacity import hold_capacity
from scheduler.bookings.common import emit_booking_event
from scheduler.bookings.draws import DrawService
from scheduler.bookings.lifecycle import BookingLifecycle
from scheduler.core.policy import Policy
from scheduler.core.reminders import (
    DEFAULT_LEAD_MINUTES,
    LONGEST_LEAD_MINUTES,
    Reminder,
    due_at,
    lead_minutes,
    reminder_state,
)
from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import Booking
from scheduler.db.catalogue import Resource
from scheduler.duties.repositories import DutyRepository
from scheduler.idempotency.repositories import IdempotencyRepository
from scheduler.residents.privacy import PrivacyService
from scheduler.residents.suspensions import SuspensionService
from scheduler.standing.services import StandingOrderService

SYSTEM = "system:jobs"
SHORTEST_PENDING_EXPIRY = timedelta(minutes=5)
LONGEST_REMINDER = timedelta(minutes=LONGEST_LEAD_MINUTES)


class DutyService:
    def __init__(
        self,
        session: AsyncSession,
        retention_months: int = 0,
        reminder_lead_minutes: int = DEFAULT_LEAD_MINUTES,
    ) -> None:
        self.session = session
        self.retention_months = retention_months
        self.reminder_lead_minutes = reminder_lead_minutes
        self.due = DutyRepository(session)
        self.lifecycle = BookingLifecycle(session)
        self._policies: dict[str, tuple[Resource, Policy]] = {}

    async def _policy(self, resource_id: str) -> tuple[Resource, Policy]:
        if resource_id not in self._policies:
            resource = await self.session.get(Resource, resource_id)
            assert resource is not None
            self._policies[resource_id] = (resource, msgspec.convert(resource.policy, Policy))
        return self._policies[resource_id]

    async def expire_pending(self, now: datetime) -> int:
        """Pending bookings not decided by their start, or by the policy's deadline, expire."""
        expired = 0
        for booking in await self.due.pending_started_or_old(now, now - SHORTEST_PENDING_EXPIRY):
            _, policy = await self._policy(booking.resource_id)
            deadline = booking.starts_at
            if policy.pending_expiry_minutes is not None:
                # Counted from when it became pending (updated_at: pending bookings change only
                # by transitions), so a lottery winner or an accepted offer gets the full time.
                decided_by = booking.updated_at + timedelta(minutes=policy.pending_expiry_minutes)
                deadline = min(deadline, decided_by)
            if deadline <= now:
                await self.lifecycle.transition(
                    booking, "expire", SYSTEM, now, "not decided in time"
                )
                expired += 1
        return expired

    async def finish_ended(self, now: datetime) -> int:
        """Ended bookings complete; where check-in is required, unchecked ones are no-shows,
        and repeated no-shows suspend the holder's booking rights."""
        finished = 0
        for booking in await self.due.ended(now):
            resource, policy = await self._policy(booking.resource_id)
            if booking.status == "confirmed" and policy.check_in_required:
                await self.lifecycle.transition(booking, "no_show", SYSTEM, now, "did not check in")
                await self._maybe_suspend(booking.holder_id, resource, policy, now)
            else:
                await self.lifecycle.transition(booking, "complete", SYSTEM, now)
            finished += 1
        return finished

    async def _maybe_suspend(
        self, holder_id: str, resource: Resource, policy: Policy, now: datetime
    ) -> None:
        await SuspensionService(self.session).reconsider(holder_id, resource, policy.no_show, now)

    async def lapse_offers(self, now: datetime) -> int:
        lapsed = 0
        for booking in await self.due.lapsed_offers(now):
            await self.lifecycle.transition(
                booking, "lapse", SYSTEM, now, "offer not accepted in time"
            )
            lapsed += 1
        return lapsed

    async def offer_waitlist(self, now: datetime) -> int:
        """Offer freed capacity to waitlisted bookings in the order they joined (a time-limited
        hold); waitlist places whose slot has started are dropped."""
        for booking in await self.due.waitlisted_before_start(now):
            await self.lifecycle.transition(booking, "cancel", SYSTEM, now, "the slot started")
        offered = 0
        for booking in await self.due.waitlisted(now):
            resource, policy = await self._policy(booking.resource_id)
            if await self._hold(booking, resource, now):
                deadline = min(booking.starts_at, now + timedelta(minutes=policy.offer_minutes))
                booking.offer_expires_at = deadline
                offer = {
                    "expires_at": deadline,
                    "local_expires_at": deadline.astimezone(ZoneInfo(resource.timezone)),
                }
                await self.lifecycle.transition(
                    booking, "offer", SYSTEM, now, "capacity freed up", {"offer": offer}
                )
                offered += 1
        return offered

    async def _hold(self, booking: Booking, resource: Resource, now: datetime) -> bool:
        span = TimeRange(booking.starts_at, booking.ends_at)
        slots = await AvailabilityService(self.session).slots(resource, span, now)
        capacities = {
            slot.range.start: slot.capacity for slot in slots if slot.status in ("open", "full")
        }
        return await hold_capacity(self.session, booking, resource, capacities)

    async def remind(self, now: datetime) -> int:
        """Emit ``booking.reminder`` once per booking, its resource's lead before it starts
        (``core.reminders``): late after downtime if the slot has not started, else never."""
        leads: dict[str, int] = {}
        for resource_id in await self.due.with_reminders_ahead(now, LONGEST_REMINDER):
            _, policy = await self._policy(resource_id)
            leads[resource_id] = lead_minutes(policy.reminder_minutes, self.reminder_lead_minutes)
        reminded = 0
        for booking in await self.due.to_remind(now, leads):
            lead = leads[booking.resource_id]
            if reminder_state(booking.starts_at, lead, now) != "send":
                continue
            if not await self.due.mark_reminded(booking.id, now):
                continue  # another run reminded it first
            resource, _ = await self._policy(booking.resource_id)
            reminder = Reminder(lead_minutes=lead, due_at=due_at(booking.starts_at, lead))
            emit_booking_event(
                self.session, "booking.reminder", booking, resource, now, {"reminder": reminder}
            )
            reminded += 1
        await self.session.flush()
        return reminded

    async def purge_idempotency_keys(self, now: datetime) -> int:
        return await IdempotencyRepository(self.session).purge_expired(now)

    async def anonymise_inactive(self, now: datetime) -> int:
        """Residents inactive for ``SCHEDULER_RETENTION_MONTHS`` lose their personal data."""
        return await PrivacyService(self.session).anonymise_inactive(now, self.retention_months)

    async def draw_due(self, now: datetime) -> int:
        return await DrawService(self.session).run_due(now)

    async def book_standing_orders(self, now: datetime) -> int:
        """Book a batch of the standing-order occurrences whose release moment has come; the
        job repeats it while batches come back full (``jobs.tasks.BATCHED``). The runner also
        schedules a run at each upcoming release moment, so this catches up."""
        return await StandingOrderService(self.session).book_due(now)


DUTIES: tuple[str, ...] = (
    "draw_due",
    "book_standing_orders",
    "expire_pending",
    "lapse_offers",
    "offer_waitlist",
    "finish_ended",
    "remind",
    "purge_idempotency_keys",
    "anonymise_inactive",
)
