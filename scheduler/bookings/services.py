"""Making bookings: check every rule in the core, then take capacity in the database."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.availability.services import AvailabilityService
from scheduler.bookings import schemas
from scheduler.bookings.repositories import BookingRepository, HoldingRepository
from scheduler.core import rules
from scheduler.core.availability import Slot
from scheduler.core.policy import Policy
from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import Booking, BookingEvent
from scheduler.db.catalogue import Resource, User
from scheduler.errors import BookingRefused, Forbidden, NotFound, ValidationFailed
from scheduler.ids import new_id
from scheduler.resources.services import ResourceService
from scheduler.users.repositories import UserRepository

ALTERNATIVES_SPAN = timedelta(days=2)


def refused(
    refusal: rules.Refusal,
    alternatives: list[TimeRange] | None = None,
    zone: ZoneInfo | None = None,
) -> BookingRefused:
    facts = dict(refusal.facts)
    if alternatives:
        facts["alternatives"] = [
            {"starts_at": option.start.astimezone(zone), "ends_at": option.end.astimezone(zone)}
            for option in alternatives
        ]
    return BookingRefused(refusal.code, refusal.status, refusal.detail, **facts)


def to_schema(booking: Booking) -> schemas.Booking:
    return schemas.Booking(
        id=booking.id,
        resource_id=booking.resource_id,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        quantity=booking.quantity,
        unit=booking.unit,
        status=booking.status,
        holder=schemas.Holder(sub=booking.holder_id, name=booking.holder_name),
        created_by=booking.created_by,
        note=booking.note,
        series_id=booking.series_id,
        decision_note=booking.decision_note,
        version=booking.version,
        created_at=booking.created_at,
        updated_at=booking.updated_at,
    )


def slot_starts(booking: Booking) -> list[datetime]:
    step = timedelta(minutes=booking.granularity_minutes)
    starts, cursor = [], booking.starts_at
    while cursor < booking.ends_at:
        starts.append(cursor)
        cursor += step
    return starts


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
        local_start = request.range.start.astimezone(zone)
        day_start = local_start.replace(hour=0, minute=0, second=0, microsecond=0)
        week_start = day_start - timedelta(days=day_start.weekday())
        week = await self.bookings.active_between(
            resource.id, holder.id, week_start, week_start + timedelta(days=7)
        )
        day_range = TimeRange(day_start, day_start + timedelta(days=1))
        minutes = 0
        for booking in week:
            overlap = day_range.intersect(TimeRange(booking.starts_at, booking.ends_at))
            minutes += int(overlap.duration / timedelta(minutes=1)) if overlap else 0
        return rules.Usage(active_in_week=len(week), minutes_in_day=minutes)

    async def _slots(self, resource: Resource, span: TimeRange, now: datetime) -> list[Slot]:
        return await self.availability.slots(resource, span, now)

    async def check(
        self, data: schemas.BookingCreate, caller: Principal, now: datetime
    ) -> tuple[Resource, User, Policy, rules.Request, list[Slot]]:
        """Every rule, in order; the covering slots if the booking may be made."""
        if data.ends_at <= data.starts_at:
            raise ValidationFailed.one("ends_at", "must be after starts_at")
        resource, _ = await self.resources.get(data.resource_id)
        holder = await self.holder_for(caller, data, resource, now)
        await self.bookings.lock_holder(holder.id)
        policy = msgspec.convert(resource.policy, Policy)
        zone = ZoneInfo(resource.timezone)
        request = rules.Request(
            TimeRange.utc(data.starts_at, data.ends_at), data.quantity, data.unit, data.unit_exact
        )
        booker = rules.Booker(
            holder.id, holder.role, holder.community, tuple(holder.tags), holder.suspended_until
        )
        granule = timedelta(minutes=policy.granularity_minutes)
        try:
            rules.check_shape(request, policy, resource.units)
            rules.check_person(booker, policy, now)
            rules.check_timing(request, policy, now)
            slots = await self._slots(
                resource, TimeRange(request.range.start - granule, request.range.end), now
            )
            covering = rules.covering_slots(request, slots)
            rules.check_slots(request, covering, booker)
            rules.check_quota(request, policy, await self._usage(resource, holder, request, zone))
        except rules.Refusal as refusal:
            raise await self._explained(refusal, resource, request, booker, now) from None
        return resource, holder, policy, request, covering

    async def _explained(
        self,
        refusal: rules.Refusal,
        resource: Resource,
        request: rules.Request,
        booker: rules.Booker,
        now: datetime,
    ) -> BookingRefused:
        zone = ZoneInfo(resource.timezone)
        if refusal.status != 409 or refusal.code == "quota_exceeded":
            return refused(refusal)
        around = TimeRange(
            max(now, request.range.start - ALTERNATIVES_SPAN), request.range.end + ALTERNATIVES_SPAN
        )
        if around.start >= around.end:
            return refused(refusal)
        options = rules.suggest_alternatives(
            request, booker, await self._slots(resource, around, now)
        )
        return refused(refusal, options, zone)

    async def preview(
        self, data: schemas.BookingCreate, caller: Principal, now: datetime
    ) -> schemas.BookingPreview:
        resource, holder, policy, request, _ = await self.check(data, caller, now)
        unit = None
        if resource.units:
            taken = await self.holdings.taken_units(resource.id, self._starts(request, policy))
            unit = self._pick_unit(resource, request, taken)
        return schemas.BookingPreview(
            dry_run=True,
            would_be_status="pending" if policy.approval == "staff" else "confirmed",
            resource_id=resource.id,
            starts_at=request.range.start,
            ends_at=request.range.end,
            quantity=request.quantity,
            unit=unit,
            holder=schemas.Holder(sub=holder.id, name=holder.name),
        )

    @staticmethod
    def _starts(request: rules.Request, policy: Policy) -> list[datetime]:
        step = timedelta(minutes=policy.granularity_minutes)
        count = int(request.range.duration / step)
        return [request.range.start + step * index for index in range(count)]

    @staticmethod
    def _pick_unit(resource: Resource, request: rules.Request, taken: set[str]) -> str:
        free = [unit for unit in resource.units if unit not in taken]
        if request.unit is not None and request.unit in free:
            return request.unit
        if request.unit is not None and request.unit_exact:
            raise BookingRefused(
                "unit_taken",
                409,
                f"Unit {request.unit!r} is taken then.",
                rule="units",
                unit=request.unit,
                free_units=free[:20],
            )
        if not free:
            raise BookingRefused(
                "capacity", 409, "No unit is free for all of this time.", rule="units"
            )
        return free[0]

    async def create(
        self,
        data: schemas.BookingCreate,
        caller: Principal,
        now: datetime,
        series_id: str | None = None,
    ) -> Booking:
        """Check, then take capacity (and a unit) in the database, then record the booking."""
        resource, holder, policy, request, covering = await self.check(data, caller, now)
        starts = [slot.range.start for slot in covering]
        full = await self.holdings.acquire(
            resource.id, [(s.range.start, s.capacity) for s in covering], request.quantity
        )
        if full:
            raise BookingRefused(
                "capacity",
                409,
                "Not enough places left.",
                rule="capacity",
                requested=request.quantity,
                full_slots=[{"starts_at": start} for start in full],
            )
        unit = None
        if resource.units:
            unit = self._pick_unit(
                resource, request, await self.holdings.taken_units(resource.id, starts)
            )
        status = "pending" if policy.approval == "staff" else "confirmed"
        booking = Booking(
            id=new_id("bkg"),
            resource_id=resource.id,
            holder_id=holder.id,
            holder_name=holder.name,
            created_by=caller.sub,
            starts_at=request.range.start,
            ends_at=request.range.end,
            granularity_minutes=policy.granularity_minutes,
            quantity=request.quantity,
            unit=unit,
            status=status,
            note=data.note,
            series_id=series_id,
            version=1,
            created_at=now,
            updated_at=now,
        )
        self.bookings.add(booking)
        await self.session.flush()
        if unit is not None:
            await self.holdings.hold_unit(resource.id, unit, starts, booking.id)
        reason = "booked on behalf of the holder" if caller.sub != holder.id else None
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
        await self.session.flush()
        return booking

    async def visible(self, booking_id: str, caller: Principal) -> Booking:
        """The booking if ``caller`` may see it; otherwise 404, never 403 (no probing)."""
        booking = await self.bookings.get(booking_id)
        resource = await self.session.get(Resource, booking.resource_id) if booking else None
        if booking is None or resource is None or not may_see(caller, booking, resource):
            raise NotFound(f"No booking {booking_id!r}.")
        return booking


def may_see(caller: Principal, booking: Booking, resource: Resource) -> bool:
    """Holders see their own bookings, partners those on their resources, staff all."""
    if caller.is_staff or booking.holder_id == caller.sub:
        return True
    return caller.role == "partner" and resource.partner_id == caller.partner
