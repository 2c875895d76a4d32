"""Seasonal allocation rounds: the round's states, who competes with whom, the fair allocation
and the dates of a season. Pure: values in, values out; ``now`` is a parameter.

The fair allocation (docs/allocation-rounds.md, "The algorithm"):

1. Slots already decided by staff by hand stay as they are; their grants hold capacity.
2. The remaining slots are decided in **priority rounds**: first every applicant's
   priority-1 slot, then every priority-2 slot, and so on.
3. Within a priority round, the next slot decided is the one whose applicant has the
   **fewest weekly minutes granted so far** in this round; among equals, the applicant drawn
   first in the round's **seeded draw** (``draw_order`` of the applicant ids with the seed
   ``"<seed>:<priority>"``, so each priority round has its own draw and anyone holding the
   seed can replay it).
4. A slot is granted when its quantity fits the resource's capacity beside every slot
   already granted on the same resource, weekday and overlapping time; otherwise declined
   (``capacity``).

A slot's minutes count once per week, so a club granted two hours on Tuesday waits behind a
club granted nothing yet, whatever their priorities elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from scheduler.core import refusals as kinds
from scheduler.core.availability import Slot
from scheduler.core.lottery import draw_order
from scheduler.core.refusals import CapacityFacts, FullSlot, Refusal, TimingFacts, WindowFacts
from scheduler.core.rules import Request, covering_slots
from scheduler.core.timerange import TimeRange

RoundState = Literal["draft", "open", "closed", "allocated"]
Decision = Literal["pending", "granted", "declined"]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_SEASON_DAYS = 366

# Staff actions and the states they start from (the ``round_state_conflict`` refusal).
ACTIONS: dict[str, tuple[RoundState, ...]] = {
    "open": ("draft",),
    "close": ("open",),
    "allocate": ("closed",),
    "decide": ("closed",),
    "confirm": ("closed",),
}
NEXT_STATE: dict[str, RoundState] = {"open": "open", "close": "closed", "confirm": "allocated"}


def effective_state(stored: RoundState, closes_at: datetime, now: datetime) -> RoundState:
    """An open round whose application period has ended is closed, job or no job."""
    if stored == "open" and now >= closes_at:
        return "closed"
    return stored


def accepts_applications(
    state: RoundState, opens_at: datetime, closes_at: datetime, now: datetime
) -> bool:
    """Applications are taken, changed and withdrawn only while open and in the period."""
    return state == "open" and opens_at <= now < closes_at


def season_problems(
    starts_on: date, ends_on: date, opens_at: datetime, closes_at: datetime
) -> list[tuple[str, str]]:
    """Why a round's dates are unacceptable, as (field, message) pairs."""
    found = []
    if ends_on < starts_on:
        found.append(("season_ends_on", "must not be before season_starts_on"))
    elif (ends_on - starts_on).days >= MAX_SEASON_DAYS:
        found.append(("season_ends_on", f"a season lasts at most {MAX_SEASON_DAYS} days"))
    if closes_at <= opens_at:
        found.append(("applications_close_at", "must be after applications_open_at"))
    return found


@dataclass(frozen=True, slots=True)
class SlotRequest:
    """One recurring slot of one application, with what has been decided about it."""

    id: str
    applicant: str
    resource_id: str
    weekday: int  # 0 = Monday, as ``date.weekday``
    starts: int  # minutes after local midnight
    ends: int
    quantity: int
    priority: int
    decision: Decision = "pending"
    manual: bool = False

    def competes_with(self, other: SlotRequest) -> bool:
        return (
            self.resource_id == other.resource_id
            and self.weekday == other.weekday
            and self.starts < other.ends
            and other.starts < self.ends
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    slot_id: str
    decision: Decision
    reason: str
    step: int  # the order in which the algorithm decided it (0 for manual decisions)


@dataclass(frozen=True, slots=True)
class Allocation:
    """What the algorithm decided, and the draw of each priority round (for replaying)."""

    seed: str
    verdicts: tuple[Verdict, ...]
    draws: Mapping[int, tuple[str, ...]] = field(default_factory=dict)


def fits(slot: SlotRequest, granted: Iterable[SlotRequest], capacity: int) -> bool:
    """Whether ``slot`` fits beside ``granted`` at every minute it covers."""
    rivals = [other for other in granted if other.id != slot.id and slot.competes_with(other)]
    # The most held at once within the slot is reached at its start or at a rival's start.
    for instant in {slot.starts, *(other.starts for other in rivals if other.starts > slot.starts)}:
        held = sum(o.quantity for o in rivals if o.starts <= instant < o.ends)
        if held + slot.quantity > capacity:
            return False
    return True


def allocate(slots: Sequence[SlotRequest], capacities: Mapping[str, int], seed: str) -> Allocation:
    """The fair allocation of every undecided slot (see the module docstring)."""
    granted = [s for s in slots if s.manual and s.decision == "granted"]
    minutes: dict[str, int] = {}
    for slot in granted:
        minutes[slot.applicant] = minutes.get(slot.applicant, 0) + slot.ends - slot.starts
    pending = [s for s in slots if not s.manual]
    verdicts: list[Verdict] = []
    draws: dict[int, tuple[str, ...]] = {}
    for priority in sorted({s.priority for s in pending}):
        candidates = [s for s in pending if s.priority == priority]
        order = draw_order(sorted({s.applicant for s in candidates}), f"{seed}:{priority}")
        draws[priority] = tuple(order)
        rank = {applicant: index for index, applicant in enumerate(order)}
        while candidates:
            slot = min(
                candidates,
                key=lambda s: (minutes.get(s.applicant, 0), rank[s.applicant], s.id),
            )
            candidates.remove(slot)
            step = len(verdicts) + 1
            if fits(slot, granted, capacities.get(slot.resource_id, 0)):
                granted.append(slot)
                minutes[slot.applicant] = minutes.get(slot.applicant, 0) + slot.ends - slot.starts
                verdicts.append(Verdict(slot.id, "granted", "allocated", step))
            else:
                verdicts.append(Verdict(slot.id, "declined", "capacity", step))
    return Allocation(seed, tuple(verdicts), draws)


@dataclass(frozen=True, slots=True)
class Competition:
    """Slots on one resource and weekday whose times overlap, directly or through others."""

    resource_id: str
    weekday: int
    starts: int
    ends: int
    slots: tuple[SlotRequest, ...]

    def requested(self) -> int:
        return sum(slot.quantity for slot in self.slots)


def competitions(slots: Sequence[SlotRequest]) -> list[Competition]:
    """The slots grouped for the side-by-side view, by resource, weekday and start."""
    ordered = sorted(slots, key=lambda s: (s.resource_id, s.weekday, s.starts, s.ends, s.id))
    found: list[Competition] = []
    for slot in ordered:
        last = found[-1] if found else None
        if (
            last is not None
            and (last.resource_id, last.weekday) == (slot.resource_id, slot.weekday)
            and slot.starts < last.ends
        ):
            found[-1] = Competition(
                last.resource_id,
                last.weekday,
                last.starts,
                max(last.ends, slot.ends),
                (*last.slots, slot),
            )
        else:
            found.append(
                Competition(slot.resource_id, slot.weekday, slot.starts, slot.ends, (slot,))
            )
    return found


def season_occurrences(
    starts_on: date, ends_on: date, weekday: int, starts: int, ends: int, zone: ZoneInfo
) -> list[TimeRange]:
    """Every ``weekday`` of the season ``[starts_on, ends_on]`` from local ``starts`` to
    ``ends`` (minutes after midnight), as UTC ranges. A slot lying wholly in an hour a spring
    clock change skips does not exist that day and is left out."""
    first = starts_on + timedelta(days=(weekday - starts_on.weekday()) % 7)
    found = []
    day = first
    while day <= ends_on:
        midnight = datetime(day.year, day.month, day.day)
        begins = (midnight + timedelta(minutes=starts)).replace(tzinfo=zone).astimezone(UTC)
        finishes = (midnight + timedelta(minutes=ends)).replace(tzinfo=zone).astimezone(UTC)
        if begins < finishes:
            found.append(TimeRange(begins, finishes))
        day += timedelta(days=7)
    return found


def check_occurrence(request: Request, slots: Sequence[Slot]) -> list[Slot]:
    """The slots one occurrence of a granted slot takes, or the refusal saying why not: open
    windows must cover it exactly, no closure may meet it, and every slot must have room.
    Timing (lead time, horizon), release, audience and the person rules do not apply: staff
    allocated the slot for the whole season, which is the one scoped exemption."""
    covering = covering_slots(request, slots)
    if any(slot.status == "past" for slot in covering):
        raise Refusal(
            kinds.LEAD_TIME,
            "This occurrence has already begun: the season started before confirmation.",
            TimingFacts(rule="season_started"),
        )
    closed = [slot for slot in covering if slot.status == "closed"]
    if closed:
        raise Refusal(
            kinds.CLOSED,
            f"Closed: {closed[0].closure_reason or 'no reason given'}.",
            WindowFacts(
                rule="closure", reason=closed[0].closure_reason, closed_from=closed[0].range.start
            ),
        )
    full = [slot for slot in covering if slot.available < request.quantity]
    if full:
        raise Refusal(
            kinds.CAPACITY,
            "Not enough places left: the time is already booked.",
            CapacityFacts(
                rule="capacity",
                requested=request.quantity,
                full_slots=[FullSlot(s.range.start, s.range.end, s.available) for s in full],
            ),
        )
    return covering
