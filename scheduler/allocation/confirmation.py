"""Confirming an allocation: every granted slot becomes the season's series at once.

This is the one place where bookings are made beyond a resource's ``horizon_days``, without
its lead time or release: staff allocated the slot for the season in a closed round, so the
timing rules of the booking API do not apply. The exemption is scoped by construction: only
``confirm`` (staff, a closed round) reaches this code, and only for the granted slots' own
weekdays between the round's season dates. Everything that protects other people still
applies to every occurrence: the resource must be open (windows), no closure may meet it,
and capacity is taken through the ledger, which refuses over-booking. An occurrence that
meets a booking or a closure is refused and reported on its own; the others are booked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.allocation import schemas
from scheduler.allocation.allocating import AllocatingService, Competing
from scheduler.allocation.services import check_action
from scheduler.allocation.views import local_time, to_round
from scheduler.auth.tokens import Principal
from scheduler.availability.services import AvailabilityService
from scheduler.bookings.common import emit_booking_event
from scheduler.core import refusals as kinds
from scheduler.core.allocation import WEEKDAYS, check_occurrence, season_occurrences
from scheduler.core.availability import Slot
from scheduler.core.policy import Policy
from scheduler.core.refusals import CapacityFacts, Refusal
from scheduler.core.rules import Request
from scheduler.core.timerange import TimeRange
from scheduler.core.unit_plan import plan_units
from scheduler.db.allocation import AllocationApplication, AllocationSlot
from scheduler.db.bookings import Booking, BookingEvent
from scheduler.db.catalogue import Resource
from scheduler.ids import new_id
from scheduler.ledger.repositories import CapacityLedger
from scheduler.outbox.repositories import OutboxRepository


def _problem(refusal: Refusal) -> dict[str, Any]:
    kind = refusal.kind
    facts = msgspec.to_builtins(refusal.fact_values())
    return {"code": kind.code, "status": kind.status, "detail": refusal.detail, **facts}


class ConfirmationService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.allocating = AllocatingService(session)
        self.availability = AvailabilityService(session)
        self.ledger = CapacityLedger(session)
        self.outbox = OutboxRepository(session)

    async def confirm(
        self, round_id: str, caller: Principal, now: datetime
    ) -> schemas.AllocationConfirmation:
        """Book the season of every granted slot, tell every applicant (outbox), and mark the
        round allocated. Slots still pending are declined ("not allocated")."""
        loaded = await self.allocating.load(round_id, lock=True)
        check_action(loaded.round, "confirm", now)
        results = []
        for slot in loaded.slots:
            application = loaded.applications[slot.application_id]
            resource = loaded.resources[slot.resource_id]
            if slot.decision == "pending":
                slot.decision, slot.decision_reason = "declined", "not allocated"
            if slot.decision == "granted" and resource.deleted_at is not None:
                slot.decision, slot.decision_reason = "declined", "the resource was retired"
            if slot.decision == "granted":
                await self._book_season(loaded, slot, application, resource, caller, now)
            self._tell(loaded, slot, application, resource, now)
            occurrences = [
                msgspec.convert(o, schemas.AllocatedOccurrence) for o in slot.occurrences
            ]
            booked = sum(1 for o in occurrences if o.outcome == "booked")
            results.append(
                schemas.ConfirmedApplicationSlot(
                    slot_id=slot.id,
                    application_id=application.id,
                    organisation=application.organisation,
                    resource_id=slot.resource_id,
                    decision=slot.decision,  # type: ignore[arg-type]
                    series_id=slot.series_id,
                    booked=booked,
                    refused=len(occurrences) - booked,
                    occurrences=occurrences,
                )
            )
        row = loaded.round
        row.state, row.confirmed_at, row.confirmed_by, row.updated_at = (
            "allocated",
            now,
            caller.sub,
            now,
        )
        await self.session.flush()
        return schemas.AllocationConfirmation(to_round(row, sorted(loaded.resources), now), results)

    async def _book_season(
        self,
        loaded: Competing,
        slot: AllocationSlot,
        application: AllocationApplication,
        resource: Resource,
        caller: Principal,
        now: datetime,
    ) -> None:
        zone = ZoneInfo(resource.timezone)
        ranges = season_occurrences(
            loaded.round.season_starts_on,
            loaded.round.season_ends_on,
            slot.weekday,
            slot.starts_minute,
            slot.ends_minute,
            zone,
        )
        units = await self._units(resource, ranges) if resource.units and ranges else None
        slot.series_id = new_id("ser")
        granule = timedelta(minutes=msgspec.convert(resource.policy, Policy).granularity_minutes)
        # One read of the season's slots (windows, closures, calendar, holdings) instead of one
        # per occurrence; the ledger still has the last word on each occurrence's capacity.
        season = (
            await self.availability.slots(
                resource, TimeRange(ranges[0].start - granule, ranges[-1].end), now
            )
            if ranges
            else []
        )
        outcomes = []
        for index, occurrence in enumerate(ranges):
            unit = units[index] if units is not None else None
            around = TimeRange(occurrence.start - granule, occurrence.end)
            slots = [s for s in season if s.range.overlaps(around)]
            try:
                async with self.session.begin_nested():
                    booking = await self._book_one(
                        loaded, slot, application, resource, (occurrence, slots), unit, caller, now
                    )
            except Refusal as refusal:
                outcomes.append(
                    schemas.AllocatedOccurrence(
                        occurrence.start, occurrence.end, "refused", problem=_problem(refusal)
                    )
                )
                continue
            outcomes.append(
                schemas.AllocatedOccurrence(
                    booking.starts_at, booking.ends_at, "booked", booking.id, booking.unit
                )
            )
        slot.occurrences = [msgspec.to_builtins(o) for o in outcomes]

    async def _units(self, resource: Resource, ranges: list[TimeRange]) -> list[str | None]:
        """One unit for the whole season where one is free throughout (fewest changes else)."""
        policy = msgspec.convert(resource.policy, Policy)
        step = timedelta(minutes=policy.granularity_minutes)
        held: dict[datetime, set[str]] = {}
        for unit, start in await self.ledger.units_held_between(
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
        return list(plan_units(resource.units, taken, None, "fewest_changes").units)

    async def _book_one(
        self,
        loaded: Competing,
        slot: AllocationSlot,
        application: AllocationApplication,
        resource: Resource,
        wanted: tuple[TimeRange, list[Slot]],
        unit: str | None,
        caller: Principal,
        now: datetime,
    ) -> Booking:
        """One occurrence (with the slots around it): checked, then taken in the ledger."""
        occurrence, slots = wanted
        policy = msgspec.convert(resource.policy, Policy)
        request = Request(occurrence, slot.quantity)
        covering = check_occurrence(request, slots)
        if resource.units and unit is None:
            raise Refusal(
                kinds.UNIT_TAKEN,
                "Every unit is taken at this time.",
                CapacityFacts(rule="units", requested=slot.quantity),
            )
        starts = [s.range.start for s in covering]
        full = await self.ledger.take(
            resource.id, [(s.range.start, s.capacity) for s in covering], slot.quantity
        )
        if full:  # a concurrent booking took the place after the slots were read
            raise Refusal(
                kinds.CAPACITY,
                "Not enough places left: the time is already booked.",
                CapacityFacts(rule="capacity", requested=slot.quantity),
            )
        booking = Booking(
            id=new_id("bkg"),
            resource_id=resource.id,
            holder_id=application.applicant_id,
            holder_name=application.organisation,
            created_by=caller.sub,
            starts_at=occurrence.start,
            ends_at=occurrence.end,
            granularity_minutes=policy.granularity_minutes,
            quantity=slot.quantity,
            unit=unit,
            status="confirmed",
            note=f"Allocation round {loaded.round.name}: {application.organisation}",
            series_id=slot.series_id,
            walk_in=False,
            version=1,
            created_at=now,
            updated_at=now,
        )
        self.session.add(booking)
        await self.session.flush()
        if unit is not None:
            await self.ledger.hold_unit(resource.id, unit, starts, booking.id)
        self.session.add(
            BookingEvent(
                booking_id=booking.id,
                at=now,
                actor=caller.sub,
                from_status=None,
                to_status="confirmed",
                reason=f"allocated in round {loaded.round.id}",
            )
        )
        emit_booking_event(self.session, "booking.created", booking, resource, now)
        await self.session.flush()
        return booking

    def _tell(
        self,
        loaded: Competing,
        slot: AllocationSlot,
        application: AllocationApplication,
        resource: Resource,
        now: datetime,
    ) -> None:
        """``allocation.granted`` or ``allocation.declined`` for the applicant's city app."""
        refused = [o for o in slot.occurrences if o.get("outcome") == "refused"]
        payload: dict[str, Any] = {
            "round_id": loaded.round.id,
            "round_name": loaded.round.name,
            "application_id": application.id,
            "applicant": application.applicant_id,
            "organisation": application.organisation,
            "slot_id": slot.id,
            "resource_id": resource.id,
            "resource_name": resource.name,
            "timezone": resource.timezone,
            "weekday": WEEKDAYS[slot.weekday],
            "starts_local": local_time(slot.starts_minute),
            "ends_local": local_time(slot.ends_minute),
            "quantity": slot.quantity,
            "priority": slot.priority,
            "season_starts_on": loaded.round.season_starts_on.isoformat(),
            "season_ends_on": loaded.round.season_ends_on.isoformat(),
            "reason": slot.decision_reason,
        }
        if slot.decision == "granted":
            payload |= {
                "series_id": slot.series_id,
                "booked": len(slot.occurrences) - len(refused),
                "refused": len(refused),
                "refused_occurrences": refused,
            }
        self.outbox.emit(
            f"allocation.{slot.decision}",
            payload,
            now,
            resource_id=resource.id,
            partner_id=resource.partner_id,
        )
