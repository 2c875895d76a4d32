"""Changing bookings: approve, reject, cancel, accept, check in. Who may do what when is the
core's (``core.lifecycle``); this module loads, asks, and records: every change leaves a
history entry and an outbox event, and gives back capacity when it stops holding any."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.bookings.common import emit_booking_event, held, load_held, refused, slot_starts
from scheduler.bookings.repositories import BookingRepository
from scheduler.core import lifecycle as rules
from scheduler.core.lifecycle import Action, ImpossibleTransition, next_status, releases_capacity
from scheduler.core.people import suspended_until
from scheduler.core.policy import Policy
from scheduler.core.refusals import Refusal
from scheduler.core.rules import Booker, check_person
from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import Booking, BookingEvent
from scheduler.db.catalogue import Resource, User
from scheduler.errors import Forbidden, InvalidTransition, NotFound
from scheduler.ledger.repositories import CapacityLedger
from scheduler.residents.suspensions import SuspensionService
from scheduler.versioning import check_version


class BookingLifecycle:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.bookings = BookingRepository(session)
        self.ledger = CapacityLedger(session)

    async def _load(
        self, booking_id: str, caller: Principal, if_match: str | None
    ) -> tuple[Booking, Resource]:
        booking = await self.bookings.get_for_update(booking_id)
        resource = await self.session.get(Resource, booking.resource_id) if booking else None
        if booking is None or resource is None:
            raise NotFound(f"No booking {booking_id!r}.")
        if not rules.may_see(caller, await load_held(self.session, booking, resource, caller)):
            raise NotFound(f"No booking {booking_id!r}.")
        check_version(booking.version, if_match)
        return booking, resource

    async def transition(
        self,
        booking: Booking,
        action: Action,
        actor: str,
        now: datetime,
        reason: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Booking:
        """Move ``booking`` along ``action``, giving back its capacity if it stops holding any;
        its ``booking.<new status>`` event carries ``extra`` beside the booking."""
        before = booking.status
        try:
            after = next_status(action, before)
        except ImpossibleTransition as exc:
            raise InvalidTransition(
                str(exc), current_status=before, allowed_from=exc.allowed
            ) from exc
        if releases_capacity(before, after):
            await self.ledger.give_back(
                booking.resource_id, slot_starts(booking), booking.quantity, booking.id
            )
        booking.status = after
        booking.updated_at = now
        self.bookings.record(
            BookingEvent(
                booking_id=booking.id,
                at=now,
                actor=actor,
                from_status=before,
                to_status=after,
                reason=reason,
            )
        )
        await self.session.flush()
        resource = await self.session.get(Resource, booking.resource_id)
        assert resource is not None  # bookings reference their resource (foreign key)
        emit_booking_event(self.session, f"booking.{after}", booking, resource, now, extra)
        return booking

    async def decide(
        self,
        booking_id: str,
        action: Action,
        caller: Principal,
        note: str | None,
        if_match: str | None,
        now: datetime,
    ) -> Booking:
        """Approve or reject a pending booking (staff; the owning partner if policy allows)."""
        booking, resource = await self._load(booking_id, caller, if_match)
        if not rules.may_decide(caller, held(booking, resource), _policy(resource)):
            raise Forbidden(
                "Only staff (or the resource's partner, where its policy allows) decide bookings."
            )
        booking.decision_note = note
        return await self.transition(booking, action, caller.sub, now, note)

    async def cancel(
        self,
        booking_id: str,
        caller: Principal,
        reason: str | None,
        if_match: str | None,
        now: datetime,
    ) -> Booking:
        """The holder cancels before the policy's deadline; staff and the partner at any time."""
        booking, resource = await self._load(booking_id, caller, if_match)
        _refuse_if(rules.check_cancel, caller, booking, resource, now)
        return await self.transition(booking, "cancel", caller.sub, now, reason)

    async def accept(
        self, booking_id: str, caller: Principal, if_match: str | None, now: datetime
    ) -> Booking:
        """The holder takes up a waitlist offer before it lapses (it already holds capacity)."""
        booking, resource = await self._load(booking_id, caller, if_match)
        state = held(booking, resource)
        if not rules.may_accept(caller, state):
            raise Forbidden("Only the holder (or staff) may accept an offer.")
        if rules.offer_lapsed(state, now):
            raise InvalidTransition(
                "The offer has lapsed.", current_status="lapsed", allowed_from=["offered"]
            )
        policy = _policy(resource)
        await self._recheck_person(booking, resource, policy, caller, now)
        action: Action = "accept_for_approval" if policy.approval == "staff" else "accept"
        booking.offer_expires_at = None
        return await self.transition(booking, action, caller.sub, now)

    async def excuse(
        self, booking_id: str, caller: Principal, reason: str, if_match: str | None, now: datetime
    ) -> Booking:
        """Excuse a no-show: it is kept as history but no longer counts, and a suspension the
        no-show duty made in its rule's scope is lifted if the rest no longer reach the limit."""
        booking, resource = await self._load(booking_id, caller, if_match)
        if booking.status != "no_show":
            raise InvalidTransition(
                "Only a no-show can be excused.",
                current_status=booking.status,
                allowed_from=["no_show"],
            )
        if not rules.may_excuse(caller, held(booking, resource)):
            raise Forbidden("Staff, or the resource's partner, excuse a no-show.")
        if booking.excused_at is None:
            booking.excused_at, booking.excused_by, booking.excuse_reason = now, caller.sub, reason
            booking.updated_at = now
            self.bookings.record(
                BookingEvent(
                    booking_id=booking.id,
                    at=now,
                    actor=caller.sub,
                    from_status="no_show",
                    to_status="no_show",
                    reason=f"excused: {reason}",
                )
            )
            await self.session.flush()
            await SuspensionService(self.session).reconsider(
                booking.holder_id, resource, _policy(resource).no_show, now, excused=True
            )
        return booking

    async def _recheck_person(
        self,
        booking: Booking,
        resource: Resource,
        policy: Policy,
        caller: Principal,
        now: datetime,
    ) -> None:
        """An offer is taken up only by someone who may book now: a suspension or a lost
        eligibility since the waitlist place was made refuses the acceptance (the offer
        stays until it lapses, so staff can still lift the suspension in time)."""
        holder = await self.session.get(User, booking.holder_id)
        if holder is None:
            return
        facts = await self.bookings.holder_facts(
            holder.id, resource.id, TimeRange(booking.starts_at, booking.ends_at), now
        )
        booker = Booker(
            holder.id,
            holder.role,
            holder.community,
            tuple(
                sorted(set(holder.tags) | (set(caller.tags) if caller.sub == holder.id else set()))
            ),
            suspended_until(facts.suspensions, resource.id, resource.partner_id, now),
        )
        try:
            check_person(booker, policy, now)
        except Refusal as refusal:
            raise refused(refusal, ZoneInfo(resource.timezone)) from None

    async def check_in(
        self, booking_id: str, caller: Principal, if_match: str | None, now: datetime
    ) -> Booking:
        """Check in at the gate, inside the window ``core.lifecycle.check_in_window`` gives."""
        booking, resource = await self._load(booking_id, caller, if_match)
        _refuse_if(rules.check_check_in, caller, booking, resource, now)
        return await self.transition(booking, "check_in", caller.sub, now)


def _policy(resource: Resource) -> Policy:
    return msgspec.convert(resource.policy, Policy)


def _refuse_if(
    check: Callable[[Principal, rules.Held, Policy, datetime], None],
    caller: Principal,
    booking: Booking,
    resource: Resource,
    now: datetime,
) -> None:
    """Run a lifecycle rule of the core, turning its refusal into the service's problem."""
    try:
        check(caller, held(booking, resource), _policy(resource), now)
    except Refusal as refusal:
        raise refused(refusal, ZoneInfo(resource.timezone)) from None
