"""Use case: what can be booked, computed from windows, closures, calendar and holdings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.availability import schemas
from scheduler.availability.facts import CalendarFacts, Facts, ResourceFacts
from scheduler.calendar.repositories import CalendarRepository
from scheduler.closures.repositories import ClosureRepository
from scheduler.core import availability as core
from scheduler.core.calendar import DayCalendar
from scheduler.core.limits import MAX_SEARCH_WINDOW_SLOTS, MAX_WINDOW_SLOTS
from scheduler.core.policy import Policy
from scheduler.core.release import releases_at
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


def slot_out(slot: core.Slot, zone: ZoneInfo) -> schemas.Slot:
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
    )


def windows_out(windows: Sequence[Window], slots: Sequence[core.Slot]) -> list[schemas.SlotWindow]:
    """The windows the slots refer to, each once, in the resource's order."""
    used = {window_id for slot in slots for window_id in slot.window_ids}
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


def computed(
    resource: core.Resource,
    policy: Policy,
    windows: Sequence[Window],
    calendar: DayCalendar,
    closures: Sequence[core.Closure],
    held: Mapping[datetime, int],
    span: TimeRange,
    now: datetime,
    head_start: timedelta,
    max_window_slots: int | None,
) -> list[core.Slot]:
    """``core.compute_slots`` with the policy's release rule (moved ``head_start`` earlier);
    too many window slots is a 422."""
    release = None
    if policy.release is not None:
        rule, zone = policy.release, resource.timezone

        def release(day: date) -> datetime:
            return releases_at(rule, day, zone) - head_start

    try:
        return core.compute_slots(
            resource, windows, calendar, closures, held, span, now, release, max_window_slots
        )
    except core.TooManySlots as exc:
        raise LimitExceeded(
            "to",
            f"the range holds more than {exc.limit} window slots; ask for a shorter one",
            exc.limit,
        ) from exc


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
    ) -> list[core.Slot]:
        """Every slot of ``resource`` starting in ``span``; reads only rows in that range.
        ``head_start`` moves releases earlier for people with early access; with
        ``max_window_slots`` a range holding more window slots is refused (422)."""
        return (await self._computed(resource, span, now, head_start, max_window_slots))[1]

    async def _computed(
        self,
        resource: Resource,
        span: TimeRange,
        now: datetime,
        head_start: timedelta,
        max_window_slots: int | None,
    ) -> tuple[list[Window], list[core.Slot]]:
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
        held = await self.ledger.held(resource.id, span.start, span.end)
        facts = core.Resource(resource.capacity, zone, policy.granularity_minutes)
        slots = computed(
            facts,
            policy,
            windows,
            calendar,
            closures,
            held,
            span,
            now,
            head_start,
            max_window_slots,
        )
        return windows, slots

    def of_facts(
        self,
        facts: ResourceFacts,
        calendar: CalendarFacts,
        held: Mapping[datetime, int],
        span: TimeRange,
        now: datetime,
        head_start: timedelta = timedelta(0),
        max_window_slots: int | None = None,
    ) -> list[core.Slot]:
        """The slots of cached ``facts`` starting in ``span``, given the ledger's ``held``
        (no statement: the caller read the ledger with the facts' versions)."""
        resource = core.Resource(facts.capacity, facts.tz, facts.policy.granularity_minutes)
        return computed(
            resource,
            facts.policy,
            facts.windows,
            calendar.for_partner(facts),
            facts.closures,
            held,
            span,
            now,
            head_start,
            max_window_slots,
        )

    async def current_slots(
        self,
        resource_id: str,
        span: TimeRange,
        now: datetime,
        max_window_slots: int | None = None,
    ) -> tuple[ResourceFacts, list[core.Slot]]:
        """Validated facts and slots in one statement when the facts are cached: the ledger
        read also returns the versions (the cold path loads the facts first)."""
        facts = await self.facts.get(resource_id)
        version, calendar_version, held = await self.ledger.held_and_versions(
            resource_id, span.start, span.end
        )
        facts, calendar = await self.facts.validated(facts, version, calendar_version)
        slots = self.of_facts(facts, calendar, held, span, now, timedelta(0), max_window_slots)
        return facts, slots

    async def for_resource(
        self, resource_id: str, start_text: str | None, end_text: str | None, now: datetime
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
        facts, slots = await self.current_slots(resource_id, span, now, MAX_WINDOW_SLOTS)
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
        results = []
        budget = MAX_SEARCH_WINDOW_SLOTS
        for resource, resource_zone in rows:
            local = ZoneInfo(resource.timezone)
            windows, slots = await self._computed(resource, span, now, timedelta(0), budget)
            budget -= sum(len(slot.window_ids) for slot in slots)
            open_slots: Sequence[core.Slot] = [
                slot for slot in slots if slot.status == "open" and slot.available >= min_available
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
