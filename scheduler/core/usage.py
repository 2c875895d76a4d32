"""Usage arithmetic for reports: open, capacity and booked hours, utilization, no-show rate.

Pure: slots and bookings in, numbers out. Times are counted in whole seconds, so sums over
many resources and days are exact and only the final figures are rounded.

- open time: every slot that is not closed, once (resource-hours);
- capacity time: every slot that is not closed, times its capacity (place-hours);
- booked time: bookings that took their place (confirmed, checked in, completed, no-show),
  clipped to the report's span, times their quantity;
- bookings are counted by status in the span where they start, so the counts of consecutive
  spans add up, and so do their hours.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from scheduler.core.availability import Slot
from scheduler.core.timerange import TimeRange

BOOKED_STATUSES = frozenset({"confirmed", "checked_in", "completed", "no_show"})
# A no-show rate is over bookings whose time came and that were (or should have been) used.
TURNED_UP = frozenset({"checked_in", "completed"})
_SECOND = timedelta(seconds=1)
HOUR_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class BookedTime:
    """What a report needs to know about one booking."""

    range: TimeRange
    quantity: int
    status: str


@dataclass(frozen=True, slots=True)
class Usage:
    open_seconds: int = 0
    capacity_seconds: int = 0
    booked_seconds: int = 0
    statuses: Mapping[str, int] = field(default_factory=dict)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.open_seconds + other.open_seconds,
            self.capacity_seconds + other.capacity_seconds,
            self.booked_seconds + other.booked_seconds,
            dict(Counter(self.statuses) + Counter(other.statuses)),
        )

    @property
    def utilization(self) -> float:
        """Booked place-hours over capacity place-hours; 0 when nothing was open. It can
        exceed 1 when bookings outlive their slots (a closure added over confirmed bookings)."""
        if not self.capacity_seconds:
            return 0.0
        return self.booked_seconds / self.capacity_seconds

    @property
    def no_show_rate(self) -> float | None:
        """no_show / (checked_in + completed + no_show); None when there were none."""
        no_shows = self.statuses.get("no_show", 0)
        due = no_shows + sum(self.statuses.get(status, 0) for status in TURNED_UP)
        return no_shows / due if due else None


def slot_usage(slots: Iterable[Slot]) -> Usage:
    """Open and capacity time of slots; closed slots count for nothing."""
    open_seconds = capacity_seconds = 0
    for slot in slots:
        if slot.status == "closed":
            continue
        seconds = slot.range.duration // _SECOND
        open_seconds += seconds
        capacity_seconds += seconds * slot.capacity
    return Usage(open_seconds, capacity_seconds)


def booking_usage(bookings: Iterable[BookedTime], span: TimeRange) -> Usage:
    """Booked time of ``bookings`` inside ``span``, and their counts by status."""
    booked_seconds = 0
    statuses: Counter[str] = Counter()
    for booking in bookings:
        if span.contains_instant(booking.range.start):
            statuses[booking.status] += 1
        inside = span.intersect(booking.range)
        if booking.status in BOOKED_STATUSES and inside is not None:
            booked_seconds += (inside.duration // _SECOND) * booking.quantity
    return Usage(booked_seconds=booked_seconds, statuses=dict(statuses))


def total(usages: Iterable[Usage]) -> Usage:
    """The sum of ``usages`` (rates are recomputed from the sums, never averaged)."""
    result = Usage()
    for usage in usages:
        result = result + usage
    return result


def hours(seconds: int) -> float:
    return round(seconds / HOUR_SECONDS, 4)
