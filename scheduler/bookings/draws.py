"""Lottery draws at the release instant: seeded, recorded, exactly once (the public record
of draws is read through ``scheduler.release``)."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler import metrics
from scheduler.availability.services import AvailabilityService
from scheduler.bookings.capacity import hold_capacity
from scheduler.bookings.common import slot_starts
from scheduler.bookings.lifecycle import BookingLifecycle
from scheduler.bookings.repositories import DrawRepository
from scheduler.core import lottery
from scheduler.core.lifecycle import Action
from scheduler.core.people import over_group_limit
from scheduler.core.policy import Policy
from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import Booking, Draw
from scheduler.db.catalogue import Resource
from scheduler.groups.services import GroupService
from scheduler.ids import new_id
from scheduler.ledger.repositories import CapacityLedger
from scheduler.outbox.repositories import OutboxRepository

SYSTEM = "system:lottery"
_SECOND = timedelta(seconds=1)


class DrawService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.draws = DrawRepository(session)
        self.ledger = CapacityLedger(session)
        self.lifecycle = BookingLifecycle(session)
        self.groups = GroupService(session)

    async def run_due(self, now: datetime, resource_id: str | None = None) -> int:
        """Draw every release whose instant has come; returns how many draws this call made."""
        made = 0
        for due_resource, release_at in await self.draws.due(now, resource_id):
            made += await self.draw(due_resource, release_at, now) is not None
        return made

    async def draw(self, resource_id: str, release_at: datetime, now: datetime) -> Draw | None:
        """Shuffle the entries with a fresh seed and confirm winners while capacity lasts."""
        resource = await self.session.get(Resource, resource_id)
        seed = lottery.new_seed()
        draw_id = new_id("drw")
        if resource is None:
            return None
        if not await self.draws.claim(draw_id, resource_id, release_at, now, seed):
            await self._turn_away_late_entries(resource_id, release_at, now)
            return None
        policy = msgspec.convert(resource.policy, Policy)
        entries = await self.draws.entries(resource_id, release_at)
        capacities = await self._capacities(resource, entries, now)
        held = (
            await self.ledger.held(resource_id, min(capacities), max(capacities) + _SECOND)
            if capacities
            else {}
        )
        free = {start: capacity - held.get(start, 0) for start, capacity in capacities.items()}
        pool = [
            lottery.Entry(b.id, b.holder_id, b.quantity, tuple(slot_starts(b))) for b in entries
        ]
        winners = set(lottery.select_winners(pool, seed, free))
        confirmed = [
            entry for entry in lottery.draw_order([e.id for e in pool], seed) if entry in winners
        ]
        by_id = {booking.id: booking for booking in entries}
        won: list[str] = []
        withdrawn: dict[str, str] = {}
        grouped = bool(await self.groups.groups.of_resource(resource_id))
        for entry_id in confirmed:
            booking = by_id[entry_id]
            group = await self._group_held(booking) if grouped else None
            if group is not None:
                withdrawn[entry_id] = group
            elif await self._award(booking, resource, policy, capacities, now):
                won.append(entry_id)
        for booking in entries:
            if booking.id in withdrawn:
                reason = f"lottery {draw_id}: withdrawn, holds a booking in {withdrawn[booking.id]}"
                await self.lifecycle.transition(booking, "lose", SYSTEM, now, reason)
            elif booking.id not in won:
                await self.lifecycle.transition(booking, "lose", SYSTEM, now, f"lottery {draw_id}")
        await self.draws.record(draw_id, sorted(by_id), won, sorted(withdrawn))
        metrics.count_draw()
        payload = {
            "draw_id": draw_id,
            "resource_id": resource_id,
            "release_at": release_at.isoformat(),
            "seed": seed,
            "entries": len(by_id),
            "winners": won,
        }
        OutboxRepository(self.session).emit(
            "draw.completed", payload, now, resource_id=resource_id, partner_id=resource.partner_id
        )
        await self.session.flush()
        return await self.session.get(Draw, draw_id)

    async def _turn_away_late_entries(
        self, resource_id: str, release_at: datetime, now: datetime
    ) -> None:
        """Entries committed just after their release was drawn are not selected (they were
        not in the draw); they never stay ``entered`` forever."""
        for booking in await self.draws.entries(resource_id, release_at):
            await self.lifecycle.transition(booking, "lose", SYSTEM, now, "entered after the draw")

    async def _capacities(
        self, resource: Resource, entries: list[Booking], now: datetime
    ) -> dict[datetime, int]:
        """The capacity in force at every slot an entry asks for."""
        if not entries:
            return {}
        span = TimeRange(min(b.starts_at for b in entries), max(b.ends_at for b in entries))
        slots = await AvailabilityService(self.session).slots(resource, span, now)
        return {slot.range.start: slot.capacity for slot in slots if slot.status != "closed"}

    async def _group_held(self, booking: Booking) -> str | None:
        """The name of a resource group in which the entrant already holds as many bookings
        as it allows for that time (having won another draw of the group), else None."""
        request = TimeRange(booking.starts_at, booking.ends_at)
        groups = await self.groups.usage(booking.resource_id, booking.holder_id, request)
        over = over_group_limit(groups, entering=False)
        return over.name if over is not None else None

    async def _award(
        self,
        booking: Booking,
        resource: Resource,
        policy: Policy,
        capacities: dict[datetime, int],
        now: datetime,
    ) -> bool:
        if not await hold_capacity(self.session, booking, resource, capacities):
            return False
        action: Action = "win_for_approval" if policy.approval == "staff" else "win"
        await self.lifecycle.transition(booking, action, SYSTEM, now, "won the lottery")
        return True
