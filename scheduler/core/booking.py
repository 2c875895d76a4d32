"""The booking decision: every rule, in its documented order, over facts already loaded.

The service loads the facts (``BookingFacts``), calls ``decide`` and writes what it returns;
nothing else orders the rules. ``decide`` either returns what the request becomes (a
booking, a lottery entry or a waitlist place, with its initial status) or raises the first
``Refusal``. ``screen`` is its prefix that needs no loaded state, so the service can refuse
a hopeless request before loading anything.

Rule order (docs/bookings.md, "Rule order"):

1. shape (422): whole slots, duration bounds, quantity, unit name;
2. person (403): suspension, eligibility tags;
3. timing (409): lead time, horizon;
4. windows (409/422): the request is exactly covered by open slots on slot boundaries;
5. slots (409): closure, then release (before a lottery release: an entry), then audience,
   then capacity (when full and the client asked for it: a waitlist place);
6. quota (409): active bookings per week, minutes per day;
7. one entry or waitlist place per person and time (409 ``duplicate_entry``);
8. per person on this resource (409 ``person_limit``): bookings and places one person may
   hold at one time;
9. per person across a group of resources (409 ``group_limit``).

A walk-in (recorded by staff, a worker or the owning partner for the slot in progress)
replaces the lead-time and horizon rules of step 3 by "the slot is in progress", is never an
entry or a waitlist place, and is checked in at once.

The ledger has the last word on capacity: ``on_ledger_full`` says what a request becomes
when the database finds a slot full after the rules passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from scheduler.core import refusals as kinds
from scheduler.core import rules
from scheduler.core.availability import Slot
from scheduler.core.people import GroupUsage, PersonUsage, over_group_limit
from scheduler.core.policy import Policy
from scheduler.core.refusals import (
    Alternative,
    CapacityFacts,
    FullSlot,
    QuotaFacts,
    Refusal,
    TimingFacts,
)
from scheduler.core.rules import Booker, Request, Usage
from scheduler.core.timerange import TimeRange

Mode = Literal["book", "enter", "waitlist"]
InitialStatus = Literal["confirmed", "pending", "entered", "waitlisted", "checked_in"]


@dataclass(frozen=True, slots=True)
class BookingFacts:
    """Everything the decision needs, as values.

    ``slots`` are the resource's slots from one granule before the request to its end, as
    ``booker`` sees them (their early access already applied; for a walk-in, as they were at
    the request's start); ``usage`` is what the quota counts (zero unless ``needs_usage``);
    ``person`` what the holder already has on this resource overlapping the request;
    ``groups`` the resource's groups with the holder's use of each in the request's period.
    """

    request: Request
    policy: Policy
    units: Sequence[str]
    booker: Booker
    slots: Sequence[Slot]
    now: datetime
    head_start: timedelta = timedelta(0)
    wants_waitlist: bool = False
    usage: Usage = field(default_factory=Usage)
    person: PersonUsage = field(default_factory=PersonUsage)
    groups: Sequence[GroupUsage] = ()
    walk_in: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """What the request becomes: ``covering`` are its slots; ``draw_at`` is set for entries."""

    mode: Mode
    status: InitialStatus
    covering: tuple[Slot, ...]
    draw_at: datetime | None = None

    @property
    def starts(self) -> list[datetime]:
        return [slot.range.start for slot in self.covering]


def needs_usage(policy: Policy) -> bool:
    """Whether the decision counts the holder's bookings (a quota is set)."""
    return policy.max_active_bookings_per_week is not None or policy.max_minutes_per_day is not None


def may_wait(policy: Policy, wants_waitlist: bool) -> bool:
    """Whether the request could become an entry or a waitlist place."""
    return policy.allocation == "lottery" or wants_waitlist


def screen(
    request: Request,
    policy: Policy,
    units: Sequence[str],
    booker: Booker,
    now: datetime,
    walk_in: bool = False,
) -> None:
    """Rules 1-3, which need nothing from the database."""
    rules.check_shape(request, policy, units)
    rules.check_person(booker, policy, now)
    if walk_in:
        _check_in_progress(request, now)
    else:
        rules.check_timing(request, policy, now)


def _check_in_progress(request: Request, now: datetime) -> None:
    if not request.range.contains_instant(now):
        raise Refusal(
            kinds.NOT_IN_PROGRESS,
            "A walk-in is recorded for the time in progress: it must include now.",
            TimingFacts(rule="walk_in", opens_at=request.range.start, closes_at=request.range.end),
        )


def initial_status(mode: Mode, policy: Policy, walk_in: bool = False) -> InitialStatus:
    if walk_in:
        return "checked_in"
    if mode == "enter":
        return "entered"
    if mode == "waitlist":
        return "waitlisted"
    return "pending" if policy.approval == "staff" else "confirmed"


def _slot_mode(facts: BookingFacts, covering: Sequence[Slot]) -> Mode:
    """Rule 5: closure, release, audience and capacity, with the lottery and waitlist ways
    out (never for a walk-in: the person is at the desk now)."""
    request, booker = facts.request, facts.booker
    try:
        rules.check_slots(request, covering, booker)
    except Refusal as refusal:
        if facts.walk_in:
            raise
        if refusal.kind is kinds.NOT_RELEASED and facts.policy.allocation == "lottery":
            rules.check_slots(request, covering, booker, release=False, capacity=False)
            return "enter"
        if refusal.kind is kinds.CAPACITY and facts.wants_waitlist:
            rules.check_slots(request, covering, booker, capacity=False)
            return "waitlist"
        raise
    return "book"


def _check_person_limits(facts: BookingFacts, mode: Mode) -> None:
    """Rules 7-9: one entry per time, then per person on the resource, then per group."""
    person, policy = facts.person, facts.policy
    if mode != "book" and person.waiting:
        raise Refusal(
            kinds.DUPLICATE_ENTRY,
            "You already have an entry or waitlist place for this time.",
            QuotaFacts(rule="one_entry_per_slot"),
        )
    held = person.bookings + person.waiting
    limit = policy.max_bookings_per_person_per_slot
    if held + 1 > limit:
        raise Refusal(
            kinds.PERSON_LIMIT,
            f"One person may hold at most {limit} booking(s) at one time here.",
            QuotaFacts(rule="policy.max_bookings_per_person_per_slot", limit=limit, current=held),
        )
    places = policy.max_places_per_person_per_slot
    if places is not None and person.places + facts.request.quantity > places:
        raise Refusal(
            kinds.PERSON_LIMIT,
            f"One person may hold at most {places} place(s) at one time here.",
            QuotaFacts(
                rule="policy.max_places_per_person_per_slot", limit=places, current=person.places
            ),
        )
    group = over_group_limit(facts.groups, entering=mode != "book")
    if group is not None:
        entering = mode != "book"
        raise Refusal(
            kinds.GROUP_LIMIT,
            f"You already hold what one person may in {group.name} for that time.",
            QuotaFacts(
                rule="group.max_entries" if entering else "group.max_bookings",
                limit=group.max_entries if entering else group.max_bookings,
                current=group.entries if entering else group.bookings,
                group_id=group.group_id,
                group_name=group.name,
            ),
        )


def decide(facts: BookingFacts) -> Decision:
    """Every rule in order; what the request becomes, or the first ``Refusal``."""
    screen(facts.request, facts.policy, facts.units, facts.booker, facts.now, facts.walk_in)
    covering = rules.covering_slots(facts.request, facts.slots)
    mode = _slot_mode(facts, covering)
    if needs_usage(facts.policy):
        rules.check_quota(facts.request, facts.policy, facts.usage)
    _check_person_limits(facts, mode)
    draw_at = None
    if mode == "enter":
        # Entries are drawn at the general release, whatever head start their holder has.
        releases = [slot.releases_at + facts.head_start for slot in covering if slot.releases_at]
        draw_at = min(releases) if releases else None
    status = initial_status(mode, facts.policy, facts.walk_in)
    return Decision(mode, status, tuple(covering), draw_at)


@dataclass(frozen=True, slots=True)
class Outlook:
    """What a booking of one place of a slot would become for one person: ``book`` or
    ``enter`` (a lottery entry), or ``refused`` with the refusal ``code`` it would get."""

    outcome: Literal["book", "enter", "refused"]
    code: str | None = None


def outlook(slot: Slot, policy: Policy, booker: Booker, now: datetime) -> Outlook:
    """The person, timing and slot rules (2, 3 and 5) for one place of ``slot``, computed as
    ``booker`` sees it (their early access applied), in the order ``decide`` applies them.
    Rules that depend on what the person already holds (quotas, rules 7-9) are not applied:
    they depend on the request as well as the slot."""
    request = Request(slot.range)
    facts = BookingFacts(
        request=request, policy=policy, units=(), booker=booker, slots=(slot,), now=now
    )
    try:
        rules.check_person(booker, policy, now)
        rules.check_timing(request, policy, now)
        mode = _slot_mode(facts, (slot,))
    except Refusal as refusal:
        return Outlook("refused", refusal.kind.code)
    return Outlook("enter" if mode == "enter" else "book")


def on_ledger_full(
    decision: Decision, request: Request, full: Sequence[datetime], wants_waitlist: bool
) -> Decision:
    """The ledger found ``full`` slots after the rules passed (a concurrent booking won):
    a waitlist place if the client asked for one, else a capacity refusal."""
    if wants_waitlist:
        return replace(decision, mode="waitlist", status="waitlisted")
    raise Refusal(
        kinds.CAPACITY,
        "Not enough places left.",
        CapacityFacts(
            rule="capacity",
            requested=request.quantity,
            full_slots=[FullSlot(start) for start in full],
        ),
    )


def choose_unit(units: Sequence[str], request: Request, taken: set[str]) -> str:
    """The preferred unit if free (refused if it must be exactly that one), else the first free."""
    free = [unit for unit in units if unit not in taken]
    if request.unit is not None and request.unit in free:
        return request.unit
    if request.unit is not None and request.unit_exact:
        raise Refusal(
            kinds.UNIT_TAKEN,
            f"Unit {request.unit!r} is taken then.",
            CapacityFacts(rule="units", unit=request.unit, free_units=free[:20]),
        )
    if not free:
        raise Refusal(
            kinds.CAPACITY, "No unit is free for all of this time.", CapacityFacts(rule="units")
        )
    return free[0]


def alternatives(
    refusal: Refusal,
    request: Request,
    booker: Booker,
    slots: Sequence[Slot],
    policy: Policy,
    now: datetime,
) -> Refusal:
    """``refusal`` with the nearest bookable ranges of the same length in ``slots``, if its
    kind suggests any."""
    return refusal.with_alternatives(suggested(refusal, request, booker, slots, policy, now))


def suggested(
    refusal: Refusal,
    request: Request,
    booker: Booker,
    slots: Sequence[Slot],
    policy: Policy,
    now: datetime,
) -> list[Alternative]:
    """What ``alternatives`` adds to ``refusal`` (none if its kind suggests none), for a
    caller that keeps them for the next identical refusal."""
    if not refusal.kind.alternatives:
        return []
    options = rules.suggest_alternatives(request, booker, slots, policy, now)
    return [Alternative(o.start, o.end) for o in options]


def alternatives_span(request: Request, now: datetime, around: timedelta) -> TimeRange | None:
    """Where to look for alternatives: ``around`` either side of the request, from now on."""
    start = max(now, request.range.start - around)
    end = request.range.end + around
    return TimeRange(start, end) if start < end else None
