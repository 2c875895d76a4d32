"""Changing bookings: approve, reject, cancel, check in; every change leaves a history entry."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.bookings.common import emit_booking_event, may_see, slot_starts
from scheduler.bookings.repositories import BookingRepository, HoldingRepository
from scheduler.core.lifecycle import Action, ImpossibleTransition, next_status, releases_capacity
from scheduler.core.policy import Policy
from scheduler.db.bookings import Booking, BookingEvent
from scheduler.db.catalogue import Resource
from scheduler.errors import BookingRefused, Forbidden, InvalidTransition, NotFound
from scheduler.versioning import check_version


class BookingLifecycle:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.bookings = BookingRepository(session)
        self.holdings = HoldingRepository(session)

    async def _load(
        self, booking_id: str, caller: Principal, if_match: str | None
    ) -> tuple[Booking, Resource]:
        booking = await self.bookings.get_for_update(booking_id)
        resource = await self.session.get(Resource, booking.resource_id) if booking else None
        if booking is None or resource is None or not may_see(caller, booking, resource):
            raise NotFound(f"No booking {booking_id!r}.")
        check_version(booking.version, if_match)
        return booking, resource

    async def transition(
        self, booking: Booking, action: Action, actor: str, now: datetime, reason: str | None = None
    ) -> Booking:
        """Move ``booking`` along ``action``, giving back its capacity if it stops holding any."""
        before = booking.status
        try:
            after = next_status(action, before)
        except ImpossibleTransition as exc:
            raise InvalidTransition(
                str(exc), current_status=before, allowed_from=exc.allowed
            ) from exc
        if releases_capacity(before, after):
            await self.holdings.release(
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
        partner_id = resource.partner_id if resource else ""
        emit_booking_event(self.session, f"booking.{after}", booking, partner_id, now)
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
        policy = msgspec.convert(resource.policy, Policy)
        partner_allowed = (
            caller.role == "partner"
            and caller.partner == resource.partner_id
            and policy.partner_may_approve
        )
        if not (caller.is_staff or partner_allowed):
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
        if not (caller.is_staff or caller.role == "partner"):
            policy = msgspec.convert(resource.policy, Policy)
            deadline = booking.starts_at - timedelta(minutes=policy.cancel_deadline_minutes)
            if now > deadline and booking.status in ("confirmed", "pending"):
                raise BookingRefused(
                    "cancel_deadline",
                    409,
                    f"Cancel at least {policy.cancel_deadline_minutes} minutes before the start.",
                    rule="policy.cancel_deadline_minutes",
                    limit=policy.cancel_deadline_minutes,
                    deadline=deadline.astimezone(ZoneInfo(resource.timezone)),
                )
        return await self.transition(booking, "cancel", caller.sub, now, reason)

    async def accept(
        self, booking_id: str, caller: Principal, if_match: str | None, now: datetime
    ) -> Booking:
        """The holder takes up a waitlist offer before it lapses (it already holds capacity)."""
        booking, resource = await self._load(booking_id, caller, if_match)
        if booking.holder_id != caller.sub and not caller.is_staff:
            raise Forbidden("Only the holder (or staff) may accept an offer.")
        if (
            booking.status == "offered"
            and booking.offer_expires_at
            and now >= booking.offer_expires_at
        ):
            raise InvalidTransition(
                "The offer has lapsed.", current_status="lapsed", allowed_from=["offered"]
            )
        policy = msgspec.convert(resource.policy, Policy)
        action: Action = "accept_for_approval" if policy.approval == "staff" else "accept"
        booking.offer_expires_at = None
        return await self.transition(booking, action, caller.sub, now)

    async def check_in(
        self, booking_id: str, caller: Principal, if_match: str | None, now: datetime
    ) -> Booking:
        """The holder checks in from ``check_in_opens_minutes`` before the start until
        ``check_in_closes_minutes`` after it; the partner and staff until the end."""
        booking, resource = await self._load(booking_id, caller, if_match)
        policy = msgspec.convert(resource.policy, Policy)
        opens = booking.starts_at - timedelta(minutes=policy.check_in_opens_minutes)
        closes = (
            booking.ends_at
            if caller.role != "resident"
            else booking.starts_at + timedelta(minutes=policy.check_in_closes_minutes)
        )
        if booking.status == "confirmed" and not opens <= now <= closes:
            raise BookingRefused(
                "check_in_window",
                409,
                "Check-in is not open now.",
                rule="policy.check_in_opens_minutes",
                opens_at=opens.astimezone(ZoneInfo(resource.timezone)),
                closes_at=closes.astimezone(ZoneInfo(resource.timezone)),
            )
        return await self.transition(booking, "check_in", caller.sub, now)
