"""Making bookings: load the facts, let the core decide, then write what it decided.

Every rule and their order live in ``scheduler.core.booking.decide``. This module only loads
what that decision needs (the resource and its policy, the holder, the slots around the
request, the holder's usage when a quota applies), takes capacity in the ledger, and records
the booking, its history entry and its outbox event. A request becomes a booking holding
capacity (first come, first served), a lottery entry (before a lottery release; drawn at the
release instant), or a waitlist place (when full and the client asked for it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.availability.facts import CalendarFacts, Facts, ResourceFacts
from scheduler.availability.services import AvailabilityService
from scheduler.bookings import schemas
from scheduler.bookings.common import booking_event_row, load_held, refused
from scheduler.bookings.draws import DrawService
from scheduler.bookings.holders import Holders, HolderState
from scheduler.bookings.repositories import BookingRepository
from scheduler.core import booking as core
from scheduler.core.booking_fields import FieldValue, check_values
from scheduler.core.lifecycle import may_see
from scheduler.core.policy import Policy, permit_occurrence_policy
from scheduler.core.refusals import Refusal
from scheduler.core.release import head_start
from scheduler.core.rules import Booker, Request, Usage
from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import Booking
from scheduler.db.catalogue import Resource, User
from scheduler.errors import FieldError, NotFound, SchedulerError, ValidationFailed
from scheduler.ids import new_id
from scheduler.ledger.repositories import CapacityLedger
from scheduler.resources.services import LOADED_RESOURCES, ResourceService, declared_fields

ALTERNATIVES_SPAN = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Checked:
    """A request that passed every rule, and what the core decided it becomes."""

    resource: ResourceFacts
    holder: User
    policy: Policy
    request: Request
    decision: core.Decision
    person_checked: bool = True
    # The booking field values, checked against the resource's declarations and normalised.
    fields: dict[str, FieldValue] = field(default_factory=dict)


class BookingService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.bookings = BookingRepository(session)
        self.ledger = CapacityLedger(session)
        self.resources = ResourceService(session)
        self.availability = AvailabilityService(session)
        self.facts = Facts(session)
        self.holders = Holders(session)

    async def _usage(self, resource: ResourceFacts, holder_id: str, request: Request) -> Usage:
        """The holder's bookings that the quotas count, in the request's local week and day."""
        zone = resource.tz
        day_start = request.range.start.astimezone(zone).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        week_start = day_start - timedelta(days=day_start.weekday())
        week = await self.bookings.counted_between(
            resource.id, holder_id, week_start, week_start + timedelta(days=7)
        )
        day = TimeRange(day_start, day_start + timedelta(days=1))
        overlaps = (day.intersect(TimeRange(b.starts_at, b.ends_at)) for b in week)
        minutes = sum(int(o.duration / timedelta(minutes=1)) for o in overlaps if o)
        return Usage(active_in_week=len(week), minutes_in_day=minutes)

    async def _facts(
        self,
        resource: ResourceFacts,
        calendar: CalendarFacts,
        policy: Policy,
        request: Request,
        state: HolderState,
        data: schemas.BookingCreate,
        now: datetime,
        as_permit: bool = False,
    ) -> core.BookingFacts:
        """Load the rest of what ``core.decide`` needs: the slots around the request (for a
        walk-in, as they stood at its start; one ledger read, the other facts are cached) and
        the holder's usage when a quota applies."""
        early = head_start(policy.release, state.booker.tags)
        granule = timedelta(minutes=policy.granularity_minutes)
        span = TimeRange(request.range.start - granule, request.range.end)
        seen_at = request.range.start if data.walk_in else now
        held = await self.ledger.held(resource.id, span.start, span.end)
        slots = [
            seen.slot
            for seen in self.availability.of_facts(
                resource, calendar, held, span, seen_at, early, released=as_permit
            )
        ]
        return core.BookingFacts(
            request=request,
            policy=policy,
            units=resource.units,
            booker=state.booker,
            slots=slots,
            now=now,
            head_start=early,
            wants_waitlist=data.waitlist,
            usage=await self._usage(resource, state.booker.sub, request)
            if core.needs_usage(policy)
            else Usage(),
            person=state.person,
            groups=state.groups,
            walk_in=data.walk_in,
        )

    async def check(
        self,
        data: schemas.BookingCreate,
        caller: Principal,
        now: datetime,
        dry_run: bool = False,
        as_permit: bool = False,
    ) -> Checked:
        """The core's decision on the request, or the refusal it gave (with alternatives).
        ``as_permit``: a night of a permit, under ``permit_occurrence_policy``."""
        if data.ends_at <= data.starts_at:
            raise ValidationFailed.one("ends_at", "must be after starts_at")
        # The cached facts serve until the holder read below returns their versions; only
        # the partner (which never changes) is used before that.
        resource = await self.facts.get(data.resource_id)
        holder = await self.holders.resolve(caller, data, resource, now, dry_run)
        request = Request(
            TimeRange.utc(data.starts_at, data.ends_at), data.quantity, data.unit, data.unit_exact
        )
        state = await self.holders.state(holder, caller, resource, request.range, now)
        resource, calendar = await self._validated(resource, state)
        values = checked_fields(resource, data.fields)
        policy = permit_occurrence_policy(resource.policy) if as_permit else resource.policy
        try:
            # Refuse what needs no more loaded state before loading anything else.
            core.screen(request, policy, resource.units, state.booker, now, data.walk_in)
            facts = await self._facts(
                resource, calendar, policy, request, state, data, now, as_permit
            )
            decision = core.decide(facts)
        except Refusal as refusal:
            raise await self._explained(
                refusal, resource, calendar, request, state.booker, now
            ) from None
        return Checked(resource, holder.user, policy, request, decision, holder.checked, values)

    async def _validated(
        self, resource: ResourceFacts, state: HolderState
    ) -> tuple[ResourceFacts, CalendarFacts]:
        """The facts as of the versions the holder read returned (read them if it did not)."""
        if state.versions is None:
            resource, calendar = await self.facts.current(resource.id)
        else:
            resource, calendar = await self.facts.validated(resource, *state.versions)
        # The booking views read the resource's name and zone from here (no second read).
        self.session.info.setdefault(LOADED_RESOURCES, {})[resource.id] = resource
        return resource, calendar

    async def _explained(
        self,
        refusal: Refusal,
        resource: ResourceFacts,
        calendar: CalendarFacts,
        request: Request,
        booker: Booker,
        now: datetime,
    ) -> SchedulerError:
        """The refusal as a problem, with nearby bookable times where its kind suggests some:
        one more ledger read, since the other facts are cached (a sold-out slot costs no
        window, closure or calendar read)."""
        span = core.alternatives_span(request, now, ALTERNATIVES_SPAN)
        if not refusal.kind.alternatives or span is None:
            return refused(refusal, resource.tz)
        recent = self.facts.cache.alternatives
        # What the suggestions depend on: the facts, this process's changes of the holdings
        # (other processes' are seen within a second), the request, who asks, and the minute.
        key = (
            resource.id,
            resource.version,
            calendar.version,
            self.ledger.changes(resource.id),
            request,
            booker.role,
            booker.community,
            booker.tags,
            now.replace(second=0, microsecond=0),
        )
        options = recent.get(key)
        if options is None:
            held = await self.ledger.held(resource.id, span.start, span.end)
            slots = [
                seen.slot
                for seen in self.availability.of_facts(resource, calendar, held, span, now)
            ]
            options = core.suggested(refusal, request, booker, slots, resource.policy, now)
            recent.keep(key, options)
        refusal = refusal.with_alternatives(options)
        return refused(refusal, resource.tz)

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
        checked = await self.check(data, caller, now, dry_run=True)
        unit = None
        if checked.resource.units and checked.decision.mode == "book":
            unit = await self._unit(checked)
        return schemas.BookingPreview(
            dry_run=True,
            would_be_status=checked.decision.status,
            resource_id=checked.resource.id,
            starts_at=checked.request.range.start,
            ends_at=checked.request.range.end,
            quantity=checked.request.quantity,
            unit=unit,
            holder=schemas.Holder(sub=checked.holder.id, name=checked.holder.name),
            person_checked=checked.person_checked,
        )

    async def _unit(self, checked: Checked) -> str:
        taken = await self.ledger.taken_units(checked.resource.id, checked.decision.starts)
        try:
            return core.choose_unit(checked.resource.units, checked.request, taken)
        except Refusal as refusal:
            raise refused(refusal, checked.resource.tz) from None

    async def create(
        self,
        data: schemas.BookingCreate,
        caller: Principal,
        now: datetime,
        series_id: str | None = None,
        as_permit: bool = False,
    ) -> Booking:
        """Check, then (for a booking) take capacity and a unit in the database, then record it.

        On a lottery resource, a release that is due but not yet drawn is drawn first, so
        fairness never waits for a job; the draw is kept even if this request is refused."""
        drawn = await self._draw_due(data.resource_id, now)
        savepoint = await self.session.begin_nested() if drawn else None
        try:
            booking = await self._create(data, caller, now, series_id, as_permit)
        except SchedulerError as error:
            if savepoint is not None:
                await savepoint.rollback()
                error.keep_prior_work = True
            raise
        if savepoint is not None:
            await savepoint.commit()
        return booking

    async def _draw_due(self, resource_id: str, now: datetime) -> int:
        # The cached policy decides (validated later in the request): a resource that turned
        # into a lottery seconds ago has its due draw made by the release job instead.
        try:
            facts = await self.facts.get(resource_id)
        except NotFound:
            return 0
        if facts.policy.allocation != "lottery":
            return 0
        return await DrawService(self.session).run_due(now, resource_id)

    async def _take_capacity(self, checked: Checked, wants_waitlist: bool) -> Checked:
        """Take the decided capacity in the ledger, which has the last word: a slot found full
        now (a concurrent booking won) makes the request a waitlist place or a refusal."""
        decision, resource = checked.decision, checked.resource
        slots = [(slot.range.start, slot.capacity) for slot in decision.covering]
        full = await self.ledger.take(resource.id, slots, checked.request.quantity)
        if not full:
            return checked
        try:
            after = core.on_ledger_full(decision, checked.request, full, wants_waitlist)
        except Refusal as refusal:
            raise refused(refusal, resource.tz) from None
        return replace(checked, decision=after)

    async def _create(
        self,
        data: schemas.BookingCreate,
        caller: Principal,
        now: datetime,
        series_id: str | None,
        as_permit: bool = False,
    ) -> Booking:
        checked = await self.check(data, caller, now, as_permit=as_permit)
        if checked.decision.mode == "book":
            checked = await self._take_capacity(checked, data.waitlist)
        resource, request, decision = checked.resource, checked.request, checked.decision
        books = decision.mode == "book"
        unit = request.unit  # an entry or a waitlist place keeps the preferred unit
        if books:
            unit = await self._unit(checked) if resource.units else None
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
            status=decision.status,
            note=data.note,
            fields=checked.fields,
            series_id=series_id,
            draw_at=decision.draw_at,
            walk_in=data.walk_in,
            version=1,
            created_at=now,
            updated_at=now,
        )
        reason = "booked on behalf of the holder" if caller.sub != checked.holder.id else None
        if data.walk_in:
            reason = "walk-in, checked in at once"
        history = {
            "at": now,
            "actor": caller.sub,
            "from_status": None,
            "to_status": decision.status,
            "reason": reason,
        }
        await self.bookings.insert_new(
            booking, history, booking_event_row("booking.created", booking, resource, now)
        )
        if books and unit is not None:
            await self.ledger.hold_unit(resource.id, unit, decision.starts, booking.id)
        return booking

    async def visible(self, booking_id: str, caller: Principal) -> Booking:
        """The booking if ``caller`` may see it; otherwise 404, never 403 (no probing)."""
        booking = await self.bookings.get(booking_id)
        resource = await self.session.get(Resource, booking.resource_id) if booking else None
        if booking is None or resource is None:
            raise NotFound(f"No booking {booking_id!r}.")
        if not may_see(caller, await load_held(self.session, booking, resource, caller)):
            raise NotFound(f"No booking {booking_id!r}.")
        return booking


def checked_fields(
    resource: Resource | ResourceFacts, values: dict[str, FieldValue] | None
) -> dict[str, FieldValue]:
    """``values`` checked against the resource's booking fields (422 naming each bad field)."""
    clean, problems = check_values(declared_fields(resource), values or {})
    if problems:
        raise ValidationFailed([FieldError(name, message) for name, message in problems])
    return clean
