"""Availability: windows - closures - held capacity -> slots. Pure; ``now`` is a parameter.

Each open window occurrence is cut into granules of the resource's granularity, stepping in
real (UTC) time from the occurrence's start, so a 60-minute slot is always 60 real minutes
and a local hour skipped by a daylight-saving change yields no slot. Where windows overlap,
identical granules merge (capacity is the larger, audiences are united) and a granule that
only partly overlaps an earlier one is dropped, so slots never overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from scheduler.core.calendar import DayCalendar
from scheduler.core.timerange import TimeRange
from scheduler.core.windows import Window, occurrences

SlotStatus = Literal["open", "full", "closed", "not_released", "past"]


@dataclass(frozen=True, slots=True)
class Closure:
    range: TimeRange
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Slot:
    range: TimeRange
    capacity: int
    held: int
    status: SlotStatus
    audience: tuple[str, ...]
    window_ids: tuple[str, ...]
    label: str = ""
    opened_on: date | None = None
    releases_at: datetime | None = None
    closure_reason: str | None = None

    @property
    def available(self) -> int:
        if self.status in ("closed", "past"):
            return 0
        return max(self.capacity - self.held, 0)


@dataclass(frozen=True, slots=True)
class Resource:
    """What availability needs to know about a resource."""

    capacity: int
    timezone: ZoneInfo
    granularity_minutes: int


ReleaseFunction = Callable[[date], datetime | None]


def granules(occurrence: TimeRange, minutes: int) -> Iterator[TimeRange]:
    step = timedelta(minutes=minutes)
    start = occurrence.start
    while start + step <= occurrence.end:
        yield TimeRange(start, start + step)
        start += step


class TooManySlots(Exception):
    """The range holds more window slots than the caller's budget: ask for a shorter one."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} window slots")
        self.limit = limit


def _count_granules(occurrence: TimeRange, minutes: int) -> int:
    return int((occurrence.end - occurrence.start) / timedelta(minutes=minutes))


def _open_granules(
    resource: Resource,
    windows: Sequence[Window],
    calendar: DayCalendar,
    span: TimeRange,
    max_granules: int | None,
) -> list[Slot]:
    by_window = [
        (order, window, occurrences(window, calendar, resource.timezone, span))
        for order, window in enumerate(windows)
    ]
    if max_granules is not None:
        # Counted before any is made: the work and the answer stay within the budget.
        planned = sum(
            _count_granules(occurrence, resource.granularity_minutes)
            for _, _, found in by_window
            for occurrence in found
        )
        if planned > max_granules:
            raise TooManySlots(max_granules)
    candidates: list[tuple[TimeRange, int, Window, date]] = []
    for order, window, found in by_window:
        for occurrence in found:
            opened_on = occurrence.start.astimezone(resource.timezone).date()
            for granule in granules(occurrence, resource.granularity_minutes):
                if span.contains_instant(granule.start):
                    candidates.append((granule, order, window, opened_on))
    candidates.sort(key=lambda item: (item[0].start, item[1]))
    kept: list[Slot] = []
    for granule, _, window, opened_on in candidates:
        capacity = window.capacity or resource.capacity
        if kept and kept[-1].range == granule:
            last = kept[-1]
            kept[-1] = replace(
                last,
                capacity=max(last.capacity, capacity),
                window_ids=(*last.window_ids, window.id),
            )
        elif not kept or kept[-1].range.end <= granule.start:
            kept.append(
                Slot(granule, capacity, 0, "open", (), (window.id,), window.label, opened_on)
            )
    return kept


def _audiences(slots: list[Slot], windows: Sequence[Window]) -> list[tuple[str, ...]]:
    """Each slot's audience: the union of its windows' audiences, in window order, computed
    once per distinct set of windows (slots share a handful of them)."""
    audience_of = {window.id: window.audience for window in windows}
    united: dict[tuple[str, ...], tuple[str, ...]] = {}
    found: list[tuple[str, ...]] = []
    for slot in slots:
        audience = united.get(slot.window_ids)
        if audience is None:
            merged = (entry for key in slot.window_ids for entry in audience_of[key])
            audience = united[slot.window_ids] = tuple(dict.fromkeys(merged))
        found.append(audience)
    return found


def compute_slots(
    resource: Resource,
    windows: Sequence[Window],
    calendar: DayCalendar,
    closures: Sequence[Closure],
    held: Mapping[datetime, int],
    span: TimeRange,
    now: datetime,
    release: ReleaseFunction | None = None,
    max_granules: int | None = None,
) -> list[Slot]:
    """Every slot starting inside ``span`` with its capacity, holdings and status.

    Status precedence: ``closed`` (a closure overlaps it) > ``past`` (it has started) >
    ``not_released`` > ``full`` > ``open``. ``held`` maps a slot's UTC start to the
    quantity held there by active bookings. With ``max_granules``, a range whose windows
    open more granules than that (a granule counted once per window) raises
    ``TooManySlots`` before any slot is made.
    """
    slots: list[Slot] = []
    opened = _open_granules(resource, windows, calendar, span, max_granules)
    for slot, audience in zip(opened, _audiences(opened, windows), strict=True):
        taken = held.get(slot.range.start, 0)
        closure = next((c for c in closures if c.range.overlaps(slot.range)), None)
        # A night crossing midnight is released as one: by the date its window opened.
        releases = release(slot.opened_on) if release and slot.opened_on else None
        status: SlotStatus
        if closure is not None:
            status = "closed"
        elif slot.range.start < now:
            status = "past"
        elif releases is not None and now < releases:
            status = "not_released"
        elif taken >= slot.capacity:
            status = "full"
        else:
            status = "open"
        slots.append(
            Slot(
                slot.range,
                slot.capacity,
                taken,
                status,
                audience,
                slot.window_ids,
                slot.label,
                slot.opened_on,
                releases if status == "not_released" else None,
                closure.reason if closure else None,
            )
        )
    return slots
