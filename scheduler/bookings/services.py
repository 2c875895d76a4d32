"""Making bookings: check every rule in the core, then take capacity in the database.

A request becomes one of three things: a booking holding capacity (first come, first
served), a lottery entry (before a lottery release; drawn at the release instant), or a
waitlist place (when full and the client asked for it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.availability.services import AvailabilityService
from scheduler.bookings import schemas
from scheduler.bookings.common import emit_booking_event, may_see, pick_unit, refused
from scheduler.bookings.repositories import BookingRepository, HoldingRepository
from scheduler.core import rules
from scheduler.core.availability import Slot
from scheduler.core.policy import Policy
from scheduler.core.release import head_start
from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import Booking, BookingEvent
from scheduler.db.catalogue import Resource, User
from scheduler.errors import BookingRefused, Forbidden, NotFound, SchedulerError, ValidationFailed
from scheduler.ids import new_id
from scheduler.release.services import DrawService
from scheduler.resources.services import ResourceService
from scheduler.users.repositories import UserRepository

ALTERNATIVES_SPAN = timedelta(days=2)
Mode = Literal["book", "enter", "waitlist"]


@dataclass(frozen=True, slots=True)
class Checked:
    """A request that passed every rule, and what it will become."""

    resource: Resource
    holder: User
    policy: Policy
    request: rules.Request
    covering: list[Slot]
    mode: Mode
    draw_at: datetime | None = None

    @property
    def starts(self) -> list[datetime]:
        return [slot.range.start for slot in self.covering]


class BookingService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.bookings = BookingRepository(session)
        self.holdings = HoldingRepository(session)
        self.resources = ResourceService(session)
        self.availability = AvailabilityService(session)
        self.users = UserRepository(session)

    async def holder_for(
        self, caller: Principal, data: schemas.BookingCreate, resource: Resource, now: datetime
    ) -> User:
        """The person who will own the booking: the caller, or the resident booked for."""
        if data.on_behalf_of is None:
            user = await self.users.get(caller.sub)
            assert user is not None, "callers are provisioned before services run"
            return user
        if not (
            caller.is_staff or (caller.role == "partner" and caller.partner == resource.partner_id)
        ):
            raise Forbidden(
                "Only staff, or the resource's partner, may book on behalf of a resident."
            )
        proxy = data.on_behalf_of
        return await self.users.ensure_resident(proxy.sub, proxy.name, proxy.community, now)

    async def _usage(
        self, resource: Resource, holder: User, request: rules.Request, zone: ZoneInfo
    ) -> rules.Usage:
        day_start = request.range.start.astimezone(zone).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        week_start = day_start - timedelta(days=day_start.weekday())
        week = await self.bookings.counted_between(
            resource.id, holder.id, week_start, week_start + timedelta(days=7)
        )
        day = TimeRange(day_start, day_start + timedelta(days=1))
        overlaps = (day.intersect(TimeRange(b.starts_at, b.ends_at)) for b in week)
        minutes = sum(int(o.duration / timedelta(minutes=1)) for o in overlaps if o)
        return rules.Usage(active_in_week=len(week), minutes_in_day=minutes)

    async def check(self, data: schemas.BookingCreate, caller: Principal, now: datetime) -> Checked:
        """Every rule, in order; what the request will become if it may be made."""
        if data.ends_at <= data.starts_at:
            raise ValidationFailed.one("ends_at", "must be after starts_at")
        resource, _ = await self.resources.get(data.resource_id)
        holder = await self.holder_for(caller, data, resource, now)
        policy = msgspec.convert(resource.policy, Policy)
        has_quota = (
            policy.max_active_bookings_per_week is not None
            or policy.max_minutes_per_day is not None
        )
        if has_quota or policy.allocation == "lottery" or data.waitlist:
            # Quotas and one-entry-per-slot read the holder's bookings: serialize that person.
            await self.bookings.lock_holder(holder.id)
        request = rules.Request(
            TimeRange.utc(data.starts_at, data.ends_at), data.quantity, data.unit, data.unit_exact
        )
        tags = tuple(set(holder.tags) | (set(caller.tags) if holder.id == caller.sub else set()))
        booker = rules.Booker(
            holder.id, holder.role, holder.community, tags, holder.suspended_until
        )
        try:
            covering, mode, draw_at = await self._check_rules(
                resource, holder, policy, request, booker, data.waitlist, now
            )
        except rules.Refusal as refusal:
            raise await self._explained(refusal, resource, request, booker, now) from None
        return Checked(resource, holder, policy, request, covering, mode, draw_at)

    async def _check_rules(
        self,
        resource: Resource,
        holder: User,
        policy: Policy,
        request: rules.Request,
        booker: rules.Booker,
        waitlist: bool,
        now: datetime,
    ) -> tuple[list[Slot], Mode, datetime | None]:
        rules.check_shape(request, policy, resource.units)
        rules.check_person(booker, policy, now)
        rules.check_timing(request, policy, now)
        granule = timedelta(minutes=policy.granularity_minutes)
        span = TimeRange(request.range.start - granule, request.range.end)
        early = head_start(policy.release, booker.tags)
        covering = rules.covering_slots(
            request, await self.availability.slots(resource, span, now, early)
        )
        mode: Mode = "book"
        try:
            rules.check_slots(request, covering, booker)
        except rules.Refusal as refusal:
            if refusal.code == "not_released" and policy.allocation == "lottery":
                rules.check_slots(request, covering, booker, release=False, capacity=False)
                mode = "enter"
            elif refusal.code == "capacity" and waitlist:
                rules.check_slots(request, covering, booker, capacity=False)
                mode = "waitlist"
            else:
                raise
        if (
            policy.max_active_bookings_per_week is not None
            or policy.max_minutes_per_day is not None
        ):
            usage = await self._usage(resource, holder, request, ZoneInfo(resource.timezone))
            rules.check_quota(request, policy, usage)
        if mode != "book" and await self.bookings.holder_waiting(
            resource.id, holder.id, request.range
        ):
            raise rules.Refusal(
                "duplicate_entry",
                409,
                "You already have an entry or waitlist place for this time.",
                {"rule": "one_entry_per_slot"},
            )
        # Entries are drawn at the general release, whatever head start their holder has.
        releases = [slot.releases_at + early for slot in covering if slot.releases_at]
        return covering, mode, min(releases) if mode == "enter" and releases else None

    async def _explained(
        self,
        refusal: rules.Refusal,
        resource: Resource,
        request: rules.Request,
        booker: rules.Booker,
        now: datetime,
    ) -> BookingRefused:
        if refusal.status != 409 or refusal.code in ("quota_exceeded", "duplicate_entry"):
            return refused(refusal, ZoneInfo(resource.timezone))
        around = TimeRange(
            max(now, request.range.start - ALTERNATIVES_SPAN), request.range.end + ALTERNATIVES_SPAN
        )
        if around.start >= around.end:
            return refused(refusal, ZoneInfo(resource.timezone))
        policy = msgspec.convert(resource.policy, Policy)
        slots = await self.availability.slots(resource, around, now)
        options = rules.suggest_alternatives(request, booker, slots, policy, now)
        return refused(refusal, ZoneInfo(resource.timezone), options)

    async def preview(
        self, data: schemas.BookingCreate, caller: Principal, now: datetime
    ) -> schemas.BookingPreview:
        """Every check of ``create``, inside a savepoint that is always rolled back, so even a
        proxy holder's first-sight user record is not written."""
        savepoint = await self.session.begin_nested()
        try:
            return await self._preview(data, caller, now)
        finally:
            await savepoint.rollback()

    async def _preview(
        self, data: schemas.BookingCreate, caller: Principal, now: datetime
    ) -> schemas.BookingPreview:
        await self._draw_due(data.resource_id, now)
        checked = await self.check(data, caller, now)
        unit = None
        if checked.resource.units and checked.mode == "book":
            unit = pick_unit(
                checked.resource,
                checked.request,
                await self.holdings.taken_units(checked.resource.id, checked.starts),
            )
        return schemas.BookingPreview(
            dry_run=True,
            would_be_status=self._initial_status(checked),
            resource_id=checked.resource.id,
            starts_at=checked.request.range.start,
            ends_at=checked.request.range.end,
            quantity=checked.request.quantity,
            unit=unit,
            holder=schemas.Holder(sub=checked.holder.id, name=checked.holder.name),
        )

    @staticmethod
    def _initial_status(checked: Checked) -> schemas.InitialStatus:
        if checked.mode == "enter":
            return "entered"
        if checked.mode == "waitlist":
            return "waitlisted"
        return "pending" if checked.policy.approval == "staff" else "confirmed"

    async def create(
        self,
        data: schemas.BookingCreate,
        caller: Principal,
        now: datetime,
        series_id: str | None = None,
    ) -> Booking:
        """Check, then (for a booking) take capacity and a unit in the database, then record it.

        On a lottery resource, a release that is due but not yet drawn is drawn first, so
        fairness never waits for a job; the draw is kept even if this request is refused."""
        drawn = await self._draw_due(data.resource_id, now)
        savepoint = await self.session.begin_nested() if drawn else None
        try:
            booking = await self._create(data, caller, now, series_id)
        except SchedulerError as error:
            if savepoint is not None:
                await savepoint.rollback()
                error.keep_prior_work = True
            raise
        if savepoint is not None:
            await savepoint.commit()
        return booking

    async def _draw_due(self, resource_id: str, now: datetime) -> int:
        resource = await self.session.get(Resource, resource_id)
        if resource is None or resource.policy.get("allocation") != "lottery":
            return 0
        return await DrawService(self.session).run_due(now, resource_id)

    async def _create(
        self, data: schemas.BookingCreate, caller: Principal, now: datetime, series_id: str | None
    ) -> Booking:
        checked = await self.check(data, caller, now)
        resource, request = checked.resource, checked.request
        unit = request.unit if checked.mode != "book" else None
        if checked.mode == "book":
            slots = [(slot.range.start, slot.capacity) for slot in checked.covering]
            full = await self.holdings.acquire(resource.id, slots, request.quantity)
            if full and data.waitlist:
                checked = replace(checked, mode="waitlist")
            elif full:
                raise BookingRefused(
                    "capacity",
                    409,
                    "Not enough places left.",
                    rule="capacity",
                    requested=request.quantity,
                    full_slots=[{"starts_at": start} for start in full],
                )
        if checked.mode == "book" and resource.units:
            unit = pick_unit(
                resource, request, await self.holdings.taken_units(resource.id, checked.starts)
            )
        status = self._initial_status(checked)
        booking = Booking(
            id=new_id("bkg"),
            resource_id=resource.id,
            holder_id=checked.holder.id,
            holder_name=checked.holder.name,
            created_by=caller.sub,
            starts_at=request.range.start,
            ends_at=request.range.end,
            granularity_minutes=checked.policy.granularity_minutes,
            quantity=request.quantity,
            unit=unit,
            status=status,
            note=data.note,
            series_id=series_id,
            draw_at=checked.draw_at,
            version=1,
            created_at=now,
            updated_at=now,
        )
        self.bookings.add(booking)
        await self.session.flush()
        if unit is not None and checked.mode == "book":
            await self.holdings.hold_unit(resource.id, unit, checked.starts, booking.id)
        reason = "booked on behalf of the holder" if caller.sub != checked.holder.id else None
        self.bookings.record(
            BookingEvent(
                booking_id=booking.id,
                at=now,
                actor=caller.sub,
                from_status=None,
                to_status=status,
                reason=reason,
            )
        )
        emit_booking_event(self.session, "booking.created", booking, resource.partner_id, now)
        await self.session.flush()
        return booking

    async def visible(self, booking_id: str, caller: Principal) -> Booking:
        """The booking if ``caller`` may see it; otherwise 404, never 403 (no probing)."""
        booking = await self.bookings.get(booking_id)
        resource = await self.session.get(Resource, booking.resource_id) if booking else None
        if booking is None or resource is None or not may_see(caller, booking, resource):
            raise NotFound(f"No booking {booking_id!r}.")
        return booking
