"""Use case: what can be booked, computed from windows, closures, calendar and holdings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.availability import schemas
from scheduler.availability.facts import CalendarFacts, Facts, ResourceFacts
from scheduler.availability.repositories import CallerRepository
from scheduler.calendar.repositories import CalendarRepository
from scheduler.closures.repositories import ClosureRepository
from scheduler.core import availability as core
from scheduler.core.booking import Outlook, outlook
from scheduler.core.calendar import DayCalendar
from scheduler.core.limits import MAX_SEARCH_WINDOW_SLOTS, MAX_WINDOW_SLOTS
from scheduler.core.people import Suspension, suspended_until
from scheduler.core.policy import Policy
from scheduler.core.release import head_start as early_access
from scheduler.core.release import releases_at
from scheduler.core.rules import Booker
from scheduler.core.timerange import TimeRange
from scheduler.core.windows import Window
from scheduler.db.catalogue import Resource
from scheduler.errors import LimitExceeded
from scheduler.ledger.repositories import CapacityLedger
from scheduler.resources.repositories import ResourceRepository
from scheduler.resources.services import ResourceService
from scheduler.timeparams import parse_span
from scheduler.windows.repositories import WindowRepository
from scheduler.windows.services import to_core

MAX_RANGE_DAYS = 62
DEFAULT_RANGE_DAYS = 7
MAX_SEARCH_DAYS = 7
DEFAULT_SEARCH_DAYS = 1


@dataclass(frozen=True, slots=True)
class Viewer:
    """The caller as the booking rules see them: availability marks each slot with what
    booking one place of it would answer them."""

    user_id: str
    role: str
    community: str | None
    tags: tuple[str, ...]
    suspensions: tuple[Suspension, ...]

    def booker(self, resource: Resource | ResourceFacts, now: datetime) -> Booker:
        until = suspended_until(self.suspensions, resource.id, resource.partner_id, now)
        return Booker(self.user_id, self.role, self.community, self.tags, until)


@dataclass(frozen=True, slots=True)
class Seen:
    """A slot as everyone sees it and, when there is a viewer, what it is for them."""

    slot: core.Slot
    outlook: Outlook | None = None
    opens_for_you_at: datetime | None = None


def slot_out(seen: Seen, zone: ZoneInfo) -> schemas.Slot:
    slot = seen.slot
    for_you = None
    if seen.outlook is not None:
        opens = seen.opens_for_you_at
        for_you = schemas.ForYou(
            bookable=seen.outlook.outcome == "book",
            outcome=seen.outlook.outcome,
            refusal=seen.outlook.code,
            opens_at=opens.astimezone(zone) if opens is not None else None,
        )
    return schemas.Slot(
        starts_at=slot.range.start.astimezone(zone),
        ends_at=slot.range.end.astimezone(zone),
        capacity=slot.capacity,
        held=slot.held,
        available=slot.available,
        status=slot.status,
        window_ids=list(slot.window_ids),
        releases_at=slot.releases_at.astimezone(zone) if slot.releases_at else None,
        closure_reason=slot.closure_reason,
        for_you=for_you,
    )


def windows_out(windows: Sequence[Window], slots: Sequence[Seen]) -> list[schemas.SlotWindow]:
    """The windows the slots refer to, each once, in the resource's order."""
    used = {window_id for seen in slots for window_id in seen.slot.window_ids}
    return [
        schemas.SlotWindow(
            id=window.id,
            label=window.label,
            audience=list(window.audience),
            capacity=window.capacity,
        )
        for window in windows
        if window.id in used
    ]


@dataclass(frozen=True, slots=True)
class SlotInputs:
    """What slots are computed from, besides the ledger."""

    resource: core.Resource
    policy: Policy
    windows: Sequence[Window]
    calendar: DayCalendar
    closures: Sequence[core.Closure]


def computed(
    inputs: SlotInputs,
    held: Mapping[datetime, int],
    span: TimeRange,
    now: datetime,
    head_start: timedelta,
    max_window_slots: int | None,
) -> list[core.Slot]:
    """``core.compute_slots`` with the policy's release rule moved ``head_start`` earlier;
    too many window slots is a 422."""
    release = None
    if inputs.policy.release is not None:
        rule, zone = inputs.policy.release, inputs.resource.timezone

        def release(day: date) -> datetime:
            return releases_at(rule, day, zone) - head_start

    try:
        return core.compute_slots(
            inputs.resource,
            inputs.windows,
            inputs.calendar,
            inputs.closures,
            held,
            span,
            now,
            release,
            max_window_slots,
        )
    except core.TooManySlots as exc:
        raise LimitExceeded(
            "to",
            f"the range holds more than {exc.limit} window slots; ask for a shorter one",
            exc.limit,
        ) from exc


def seen_slots(
    inputs: SlotInputs,
    held: Mapping[datetime, int],
    span: TimeRange,
    now: datetime,
    head_start: timedelta,
    max_window_slots: int | None,
) -> list[Seen]:
    return [Seen(slot) for slot in computed(inputs, held, span, now, head_start, max_window_slots)]


def for_viewer(
    inputs: SlotInputs,
    seen: list[Seen],
    held: Mapping[datetime, int],
    span: TimeRange,
    now: datetime,
    max_window_slots: int | None,
    viewer: Viewer,
    resource: Resource | ResourceFacts,
) -> list[Seen]:
    """Each slot with what booking one place of it would answer ``viewer`` (their own early
    access moves its release earlier)."""
    booker = viewer.booker(resource, now)
    head = early_access(inputs.policy.release, booker.tags)
    theirs = (
        {s.range.start: s for s in computed(inputs, held, span, now, head, max_window_slots)}
        if head
        else {}
    )
    marked = []
    for one in seen:
        slot = one.slot
        own = theirs.get(slot.range.start, slot)
        opens = slot.releases_at - head if head and slot.releases_at is not None else None
        marked.append(Seen(slot, outlook(own, inputs.policy, booker, now), opens))
    return marked


class AvailabilityService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.resources = ResourceService(session)
        self.windows = WindowRepository(session)
        self.closures = ClosureRepository(session)
        self.calendar = CalendarRepository(session)
        self.ledger = CapacityLedger(session)
        self.facts = Facts(session)

    async def slots(
        self,
        resource: Resource,
        span: TimeRange,
        now: datetime,
        head_start: timedelta = timedelta(0),
        max_window_slots: int | None = None,
        released: bool = False,
    ) -> list[core.Slot]:
        """Every slot of ``resource`` starting in ``span``; reads only rows in that range.
        ``head_start`` moves releases earlier for people with early access; with
        ``max_window_slots`` a range holding more window slots is refused (422);
        ``released`` ignores the release policy (a permit's nights, released as a whole)."""
        _, seen = await self._computed(
            resource, span, now, head_start, max_window_slots, released=released
        )
        return [one.slot for one in seen]

    async def viewer(self, caller: Principal, now: datetime) -> Viewer:
        """The caller as the booking rules would see them (their record's community and
        tags with the token's, and their running suspensions)."""
        user, suspensions = await CallerRepository(self.session).person(caller.sub, now)
        tags = set(caller.tags)
        community = caller.community
        role = caller.role
        if user is not None:
            tags |= set(user.tags)
            community = user.community
            role = user.role
        return Viewer(caller.sub, role, community, tuple(sorted(tags)), tuple(suspensions))

    async def _computed(
        self,
        resource: Resource,
        span: TimeRange,
        now: datetime,
        head_start: timedelta,
        max_window_slots: int | None,
        viewer: Viewer | None = None,
        released: bool = False,
    ) -> tuple[list[Window], list[Seen]]:
        """Slots read from the database (callers holding a resource row: duties, draws,
        reports); the request paths use the cached facts (``of_facts``)."""
        zone = ZoneInfo(resource.timezone)
        policy = msgspec.convert(resource.policy, Policy)
        first = span.start.astimezone(zone).date() - timedelta(days=1)
        last = span.end.astimezone(zone).date()
        windows = [to_core(row) for row in await self.windows.for_resource(resource.id)]
        closures = [
            core.Closure(TimeRange(row.starts_at, row.ends_at), row.reason)
            for row in await self.closures.overlapping(
                resource.id, span.start, span.end + timedelta(days=1)
            )
        ]
        calendar = await self.calendar.day_calendar(resource.partner_id, first, last)
        facts = core.Resource(resource.capacity, zone, policy.granularity_minutes)
        held = await self.ledger.held(resource.id, span.start, span.end)
        if released:
            policy = msgspec.structs.replace(policy, release=None)
        inputs = SlotInputs(facts, policy, windows, calendar, closures)
        seen = seen_slots(inputs, held, span, now, head_start, max_window_slots)
        if viewer is not None:
            seen = for_viewer(inputs, seen, held, span, now, max_window_slots, viewer, resource)
        return windows, seen

    def of_facts(
        self,
        facts: ResourceFacts,
        calendar: CalendarFacts,
        held: Mapping[datetime, int],
        span: TimeRange,
        now: datetime,
        head_start: timedelta = timedelta(0),
        max_window_slots: int | None = None,
        viewer: Viewer | None = None,
        released: bool = False,
    ) -> list[Seen]:
        """The slots of cached ``facts`` starting in ``span``, given the ledger's ``held``
        (no statement: the caller read the ledger with the facts' versions); ``released``
        ignores the release policy (a permit's nights)."""
        resource = core.Resource(facts.capacity, facts.tz, facts.policy.granularity_minutes)
        policy = msgspec.structs.replace(facts.policy, release=None) if released else facts.policy
        inputs = SlotInputs(
            resource, policy, facts.windows, calendar.for_partner(facts), facts.closures
        )
        seen = seen_slots(inputs, held, span, now, head_start, max_window_slots)
        if viewer is not None:
            seen = for_viewer(inputs, seen, held, span, now, max_window_slots, viewer, facts)
        return seen

    async def current_slots(
        self,
        resource_id: str,
        span: TimeRange,
        now: datetime,
        max_window_slots: int | None = None,
        viewer: Viewer | None = None,
    ) -> tuple[ResourceFacts, list[Seen]]:
        """Validated facts and slots in one statement when the facts are cached: the ledger
        read also returns the versions (the cold path loads the facts first)."""
        facts = await self.facts.get(resource_id)
        version, calendar_version, held = await self.ledger.held_and_versions(
            resource_id, span.start, span.end
        )
        facts, calendar = await self.facts.validated(facts, version, calendar_version)
        seen = self.of_facts(
            facts, calendar, held, span, now, timedelta(0), max_window_slots, viewer
        )
        return facts, seen

    async def for_resource(
        self,
        resource_id: str,
        start_text: str | None,
        end_text: str | None,
        now: datetime,
        caller: Principal | None = None,
    ) -> schemas.Availability:
        facts = await self.facts.get(resource_id)
        span = parse_span(
            start_text,
            end_text,
            facts.tz,
            now,
            default_days=DEFAULT_RANGE_DAYS,
            max_days=MAX_RANGE_DAYS,
        )
        viewer = await self.viewer(caller, now) if caller is not None else None
        facts, slots = await self.current_slots(resource_id, span, now, MAX_WINDOW_SLOTS, viewer)
        zone = facts.tz
        return schemas.Availability(
            resource_id=facts.id,
            timezone=facts.timezone,
            granularity_minutes=facts.policy.granularity_minutes,
            starts_at=span.start.astimezone(zone),
            ends_at=span.end.astimezone(zone),
            windows=windows_out(facts.windows, slots),
            slots=[slot_out(slot, zone) for slot in slots],
        )

    async def search(
        self,
        *,
        zone_key: str | None,
        kind: str | None,
        start_text: str | None,
        end_text: str | None,
        min_available: int,
        limit: int,
        offset: int,
        now: datetime,
        default_timezone: str,
        caller: Principal | None = None,
    ) -> schemas.AvailabilitySearch:
        """Open slots with at least ``min_available`` places across matching resources."""
        zone = ZoneInfo(default_timezone)
        span = parse_span(
            start_text,
            end_text,
            zone,
            now,
            default_days=DEFAULT_SEARCH_DAYS,
            max_days=MAX_SEARCH_DAYS,
        )
        rows, total = await ResourceRepository(self.session).list(
            zone=zone_key, kind=kind, partner_id=None, limit=limit, offset=offset
        )
        viewer = await self.viewer(caller, now) if caller is not None else None
        # A constant number of statements whatever the page size: the page (with each
        # resource's facts_version), the facts of the resources not cached at that version
        # (three statements for all of them), one ledger read for the whole page.
        page = await self.facts.page(rows)
        calendar_version, held = await self.ledger.held_of_many(
            [facts.id for facts in page], span.start, span.end
        )
        calendar = await self.facts.calendar(calendar_version)
        results = []
        budget = MAX_SEARCH_WINDOW_SLOTS
        for resource in page:
            resource_zone = resource.zone
            local = resource.tz
            windows = resource.windows
            slots = self.of_facts(
                resource,
                calendar,
                held.get(resource.id, {}),
                span,
                now,
                timedelta(0),
                budget,
                viewer,
            )
            budget -= sum(len(seen.slot.window_ids) for seen in slots)
            open_slots: Sequence[Seen] = [
                seen
                for seen in slots
                if seen.slot.available >= min_available
                and (
                    seen.slot.status == "open" or (seen.outlook and seen.outlook.outcome == "book")
                )
            ]
            if open_slots:
                results.append(
                    schemas.ResourceSlots(
                        resource_id=resource.id,
                        name=resource.name,
                        partner_id=resource.partner_id,
                        zone=resource_zone,
                        kind=resource.kind,
                        timezone=resource.timezone,
                        windows=windows_out(windows, open_slots),
                        slots=[slot_out(slot, local) for slot in open_slots],
                    )
                )
        return schemas.AvailabilitySearch(
            starts_at=span.start.astimezone(zone),
            ends_at=span.end.astimezone(zone),
            min_available=min_available,
            results=results,
            total_resources=total,
            limit=limit,
            offset=offset,
        )
