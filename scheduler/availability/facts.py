"""The facts that change rarely, cached per process and validated by one version number.

A booking or an availability read needs the resource (capacity, units, zone, policy), its
opening windows and closures, its partner's school terms and the calendar corrections. They
change a few times a week; bookings arrive many times a second. So each process keeps them
here, keyed by resource, with the ``resources.facts_version`` they were read at, and the
calendar corrections with ``calendar_version``. Database triggers (migration 0015) give those
columns a fresh random value on every insert, update or delete of the rows they cover, so no
write path (API, console, CLI, demo, duties, a manual ``psql``) can forget to invalidate.

A request reads the current versions in a statement it sends anyway (the holder read of a
booking, the ledger read of an availability) and reloads what is stale before deciding. The
cache can therefore only be as old as the request's own snapshot, like the rows it replaces;
and the ledger's conditional upsert still decides every booking, so a cached fact can make a
request fail fast but never let one through that the database would refuse.

Versions are read *before* the rows they label (in the same statement or an earlier one), so
facts are at worst newer than their label, which a later validation then reloads.
"""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import BindParameter, Engine, ScalarSelect, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.core import availability as core
from scheduler.core.calendar import DayCalendar, OfficialDay, Term
from scheduler.core.policy import Policy
from scheduler.core.refusals import Alternative
from scheduler.core.timerange import TimeRange
from scheduler.core.windows import Window
from scheduler.db.catalogue import Partner, Resource
from scheduler.db.schedule import (
    CalendarCorrection,
    CalendarVersion,
    Closure,
    OpeningWindow,
    SchoolTerm,
)
from scheduler.errors import NotFound
from scheduler.windows.services import to_core

MAX_CACHED_RESOURCES = 4096
# How long a refusal's suggested alternatives are reused for the same request (RecentAlternatives).
ALTERNATIVES_MEMO_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class ResourceFacts:
    """A resource as availability and the booking rules see it, with its windows, closures
    and its partner's terms, read at ``version``. Plain values: shared by every request of
    the process, never attached to a session."""

    id: str
    partner_id: str
    name: str
    kind: str
    capacity: int
    units: list[str]
    timezone: str
    policy: Policy
    zone: str
    version: int
    windows: tuple[Window, ...] = ()
    closures: tuple[core.Closure, ...] = ()
    terms: tuple[Term, ...] = ()
    # The booking field declarations, as stored (``resources.services.declared_fields``).
    booking_fields: tuple[dict[str, Any], ...] = ()
    tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", ZoneInfo(self.timezone))


@dataclass(frozen=True, slots=True)
class CalendarFacts:
    """Every calendar correction, read at ``version`` (None: the version row is missing, so
    nothing can validate it and it is never kept)."""

    version: int | None
    corrections: Mapping[date, OfficialDay]

    def for_partner(self, facts: ResourceFacts) -> DayCalendar:
        return DayCalendar(corrections=self.corrections, terms=facts.terms)


class RecentAlternatives:
    """The alternatives suggested with a refusal, remembered for ``seconds`` (monotonic time)
    under a key naming what they were computed from, so a rush of refusals for one sold-out
    slot computes them once a second instead of once per request. Only the suggestions are
    remembered: whether a request is refused is decided from the ledger every time, and a
    suggestion is advice (it may be taken by the time the client asks) whether it is a
    second old or not."""

    def __init__(
        self,
        seconds: float = ALTERNATIVES_MEMO_SECONDS,
        size: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds, self.size, self.clock = seconds, size, clock
        self._found: dict[Hashable, tuple[float, list[Alternative]]] = {}

    def get(self, key: Hashable) -> list[Alternative] | None:
        found = self._found.get(key)
        if found is None:
            return None
        if self.clock() - found[0] >= self.seconds:
            del self._found[key]
            return None
        return found[1]

    def keep(self, key: Hashable, alternatives: list[Alternative]) -> None:
        if len(self._found) >= self.size:
            del self._found[next(iter(self._found))]
        self._found[key] = (self.clock(), alternatives)


class FactsCache:
    """One process's facts for one database (a least-recently-used bound on resources), and
    the alternatives it suggested a moment ago."""

    def __init__(self, max_resources: int = MAX_CACHED_RESOURCES) -> None:
        self.max_resources = max_resources
        self._resources: OrderedDict[str, ResourceFacts] = OrderedDict()
        self.calendar: CalendarFacts | None = None
        self.alternatives = RecentAlternatives()

    def resource(self, resource_id: str) -> ResourceFacts | None:
        found = self._resources.get(resource_id)
        if found is not None:
            self._resources.move_to_end(resource_id)
        return found

    def keep(self, facts: ResourceFacts) -> None:
        self._resources[facts.id] = facts
        self._resources.move_to_end(facts.id)
        while len(self._resources) > self.max_resources:
            self._resources.popitem(last=False)

    def forget(self, resource_id: str) -> None:
        self._resources.pop(resource_id, None)

    def clear(self) -> None:
        self._resources.clear()
        self.calendar = None
        self.alternatives = RecentAlternatives()


_CACHES: weakref.WeakKeyDictionary[Engine, FactsCache] = weakref.WeakKeyDictionary()


def cache_of(session: AsyncSession) -> FactsCache:
    """The cache of the database ``session`` talks to (tests run several in one process)."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    cache = _CACHES.get(engine)
    if cache is None:
        cache = _CACHES[engine] = FactsCache()
    return cache


def resource_version(resource_id: str | BindParameter[Any]) -> ScalarSelect[Any]:
    """``facts_version`` of a live resource (NULL if deleted or unknown), to add to a
    statement the request sends anyway."""
    return (
        select(Resource.facts_version)
        .where(Resource.id == resource_id, Resource.deleted_at.is_(None))
        .scalar_subquery()
    )


def calendar_version() -> ScalarSelect[Any]:
    return select(CalendarVersion.version).where(CalendarVersion.id == 1).scalar_subquery()


class Facts:
    """Loads, keeps and validates the cached facts for one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.cache = cache_of(session)

    async def get(self, resource_id: str) -> ResourceFacts:
        """The cached facts (not yet validated: pass the versions the request reads to
        ``validated``), or freshly loaded ones; 404 for an unknown or deleted resource."""
        found = self.cache.resource(resource_id)
        if found is None:
            found = await self._load(resource_id)
        return found

    async def validated(
        self, facts: ResourceFacts, version: int | None, calendar: int | None
    ) -> tuple[ResourceFacts, CalendarFacts]:
        """``facts`` and the calendar as of the versions just read, reloading what changed."""
        if version is None:
            self.cache.forget(facts.id)
            raise NotFound(f"No resource {facts.id!r}.")
        if version != facts.version:
            self.cache.forget(facts.id)
            facts = await self._load(facts.id)
        return facts, await self._calendar(calendar)

    async def current(self, resource_id: str) -> tuple[ResourceFacts, CalendarFacts]:
        """Validated facts, spending one statement on the versions when they were cached."""
        facts = self.cache.resource(resource_id)
        if facts is None:
            facts = await self._load(resource_id)
            return facts, await self._calendar(self._loaded_calendar_version)
        versions = select(resource_version(resource_id), calendar_version())
        row = (await self.session.execute(versions)).one()
        return await self.validated(facts, row[0], row[1])

    _loaded_calendar_version: int | None = None

    async def calendar(self, version: int | None) -> CalendarFacts:
        """The calendar as of ``version``, read before this call (reloaded if it changed)."""
        return await self._calendar(version)

    async def page(self, rows: Sequence[tuple[Resource, str]]) -> list[ResourceFacts]:
        """Facts for resource rows just read (with their ``facts_version``): the cached ones
        where the version matches, the others loaded together, in three statements whatever
        their number. Same order as ``rows``."""
        fresh: dict[str, ResourceFacts] = {}
        stale = []
        for resource, zone in rows:
            cached = self.cache.resource(resource.id)
            if cached is not None and cached.version == resource.facts_version:
                fresh[resource.id] = cached
            else:
                stale.append((resource, zone))
        if stale:
            ids = [resource.id for resource, _ in stale]
            partners = sorted({resource.partner_id for resource, _ in stale})
            windows = await self.session.scalars(
                select(OpeningWindow)
                .where(OpeningWindow.resource_id.in_(ids))
                .order_by(OpeningWindow.created_at, OpeningWindow.id)
            )
            closures = await self.session.scalars(
                select(Closure)
                .where(Closure.resource_id.in_(ids))
                .order_by(Closure.starts_at, Closure.id)
            )
            terms = await self.session.scalars(
                select(SchoolTerm)
                .where(SchoolTerm.partner_id.in_(partners))
                .order_by(SchoolTerm.starts_on, SchoolTerm.id)
            )
            by_resource: dict[str, list[OpeningWindow]] = defaultdict(list)
            for window in windows:
                by_resource[window.resource_id].append(window)
            shut: dict[str, list[Closure]] = defaultdict(list)
            for closure in closures:
                shut[closure.resource_id].append(closure)
            terms_of: dict[str, list[SchoolTerm]] = defaultdict(list)
            for term in terms:
                terms_of[term.partner_id].append(term)
            for resource, zone in stale:
                facts = _facts(
                    resource,
                    zone,
                    by_resource[resource.id],
                    shut[resource.id],
                    terms_of[resource.partner_id],
                )
                self.cache.keep(facts)
                fresh[resource.id] = facts
        return [fresh[resource.id] for resource, _ in rows]

    async def _load(self, resource_id: str) -> ResourceFacts:
        # The versions come first, in the same statement as the resource row, so what is
        # read after them can only be newer than the label (see the module docstring).
        query = (
            select(Resource, Partner.zone, calendar_version())
            .join(Partner, Partner.id == Resource.partner_id)
            .where(Resource.id == resource_id, Resource.deleted_at.is_(None))
        )
        row = (await self.session.execute(query)).first()
        if row is None:
            raise NotFound(f"No resource {resource_id!r}.")
        resource, zone, self._loaded_calendar_version = row[0], row[1], row[2]
        windows = await self.session.scalars(
            select(OpeningWindow)
            .where(OpeningWindow.resource_id == resource_id)
            .order_by(OpeningWindow.created_at, OpeningWindow.id)
        )
        closures = await self.session.scalars(
            select(Closure)
            .where(Closure.resource_id == resource_id)
            .order_by(Closure.starts_at, Closure.id)
        )
        terms = await self.session.scalars(
            select(SchoolTerm)
            .where(SchoolTerm.partner_id == resource.partner_id)
            .order_by(SchoolTerm.starts_on, SchoolTerm.id)
        )
        facts = _facts(resource, zone, list(windows), list(closures), list(terms))
        self.cache.keep(facts)
        return facts

    async def _calendar(self, version: int | None) -> CalendarFacts:
        cached = self.cache.calendar
        if cached is not None and version is not None and cached.version == version:
            return cached
        rows = await self.session.scalars(select(CalendarCorrection))
        calendar = CalendarFacts(
            version,
            {
                row.day: OfficialDay(row.day, row.day_type, row.name)  # type: ignore[arg-type]
                for row in rows
            },
        )
        self.cache.calendar = calendar if version is not None else None
        return calendar


def _facts(
    resource: Resource,
    zone: str,
    windows: Sequence[OpeningWindow],
    closures: Sequence[Closure],
    terms: Sequence[SchoolTerm],
) -> ResourceFacts:
    return ResourceFacts(
        id=resource.id,
        partner_id=resource.partner_id,
        name=resource.name,
        kind=resource.kind,
        capacity=resource.capacity,
        units=list(resource.units),
        timezone=resource.timezone,
        policy=msgspec.convert(resource.policy, Policy),
        zone=zone,
        version=resource.facts_version,
        windows=tuple(to_core(window) for window in windows),
        closures=tuple(core.Closure(TimeRange(c.starts_at, c.ends_at), c.reason) for c in closures),
        terms=tuple(Term(t.starts_on, t.ends_on, t.name) for t in terms),
        booking_fields=tuple(resource.booking_fields or ()),
    )
