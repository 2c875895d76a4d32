"""core.usage: open, capacity and booked time, counts by status, utilization, no-show rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core.availability import Slot
from scheduler.core.lifecycle import STATUSES
from scheduler.core.timerange import TimeRange
from scheduler.core.usage import (
    BOOKED_STATUSES,
    BookedTime,
    Usage,
    booking_usage,
    hours,
    slot_usage,
    total,
)

DAY = datetime(2026, 12, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
SPAN = TimeRange(DAY, DAY + timedelta(days=1))


def slot(hour: float, capacity: int = 10, status: str = "open", minutes: int = 60) -> Slot:
    start = DAY + hour * HOUR
    return Slot(
        TimeRange(start, start + timedelta(minutes=minutes)),
        capacity,
        0,
        status,  # type: ignore[arg-type]
        ("public",),
        ("w1",),
    )


def booked(start: float, end: float, status: str = "confirmed", quantity: int = 1) -> BookedTime:
    return BookedTime(TimeRange(DAY + start * HOUR, DAY + end * HOUR), quantity, status)


def test_slot_usage_counts_every_slot_but_closed_ones_once_and_times_capacity() -> None:
    slots = [
        slot(8, capacity=60),
        slot(9, capacity=60, status="full"),
        slot(10, capacity=60, status="past"),
        slot(11, capacity=60, status="not_released"),
        slot(12, capacity=60, status="closed"),
        slot(13, capacity=2, minutes=30),
    ]
    usage = slot_usage(slots)
    assert usage == Usage(open_seconds=4 * 3600 + 1800, capacity_seconds=4 * 3600 * 60 + 3600)
    assert slot_usage([]) == Usage()


def test_booked_time_is_clipped_to_the_span_and_times_the_quantity() -> None:
    bookings = [
        booked(-2, 1, quantity=3),  # started the day before: 1 hour inside, not counted by status
        booked(10, 12, "checked_in"),
        booked(23, 26, "completed", quantity=2),  # 1 hour inside
    ]
    usage = booking_usage(bookings, SPAN)
    assert usage.booked_seconds == (3 * 1 + 2 + 2 * 1) * 3600
    assert usage.statuses == {"checked_in": 1, "completed": 1}
    assert (usage.open_seconds, usage.capacity_seconds) == (0, 0)


@pytest.mark.parametrize("status", sorted(STATUSES))
def test_which_statuses_count_as_booked_time(status: str) -> None:
    usage = booking_usage([booked(10, 11, status, quantity=2)], SPAN)
    assert usage.statuses == {status: 1}
    expected = 7200 if status in ("confirmed", "checked_in", "completed", "no_show") else 0
    assert usage.booked_seconds == expected


def test_booked_statuses_are_those_that_took_their_place() -> None:
    assert {"confirmed", "checked_in", "completed", "no_show"} == BOOKED_STATUSES


def test_a_booking_outside_the_span_counts_for_nothing() -> None:
    assert booking_usage([booked(24, 25), booked(-3, 0)], SPAN) == Usage(statuses={})


def test_utilization_is_booked_over_capacity_and_zero_when_nothing_was_open() -> None:
    assert Usage().utilization == 0.0
    assert Usage(booked_seconds=5, capacity_seconds=0).utilization == 0.0
    assert Usage(capacity_seconds=400, booked_seconds=100).utilization == 0.25
    # a closure added over confirmed bookings: more booked than open
    assert Usage(capacity_seconds=100, booked_seconds=150).utilization == 1.5


@pytest.mark.parametrize(
    ("statuses", "rate"),
    [
        ({}, None),
        ({"confirmed": 4, "cancelled": 2}, None),
        ({"no_show": 1}, 1.0),
        ({"no_show": 1, "checked_in": 2, "completed": 1, "cancelled": 9}, 0.25),
        ({"checked_in": 3}, 0.0),
    ],
)
def test_no_show_rate(statuses: dict[str, int], rate: float | None) -> None:
    assert Usage(statuses=statuses).no_show_rate == rate


def test_usages_add_up_and_rates_come_from_the_sums() -> None:
    a = Usage(3600, 7200, 3600, {"no_show": 1, "completed": 1})
    b = Usage(3600, 3600, 0, {"completed": 2, "cancelled": 1})
    summed = total([a, b])
    assert summed == Usage(7200, 10800, 3600, {"no_show": 1, "completed": 3, "cancelled": 1})
    assert summed.no_show_rate == 0.25  # not the mean of 0.5 and 0.0
    assert summed.utilization == pytest.approx(1 / 3)
    assert total([]) == Usage()


def test_hours_are_rounded_to_four_places() -> None:
    assert hours(3600) == 1.0
    assert hours(5400) == 1.5
    assert hours(1) == 0.0003
    assert hours(0) == 0.0


bookings = st.lists(
    st.builds(
        lambda start, length, status, quantity: booked(
            start / 4, (start + length) / 4, status, quantity
        ),
        st.integers(-20, 120),
        st.integers(1, 40),
        st.sampled_from(STATUSES),
        st.integers(1, 5),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(bookings=bookings, cut=st.integers(1, 95))
def test_consecutive_spans_add_up_to_the_whole(bookings: list[BookedTime], cut: int) -> None:
    """Counts and hours of two consecutive spans add up to those of their union, so daily
    figures sum to the weekly ones."""
    middle = DAY + cut * timedelta(minutes=15)
    first, second = TimeRange(DAY, middle), TimeRange(middle, SPAN.end)
    whole = booking_usage(bookings, SPAN)
    assert booking_usage(bookings, first) + booking_usage(bookings, second) == whole
    inside = [b for b in bookings if SPAN.contains_instant(b.range.start)]
    assert sum(whole.statuses.values()) == len(inside)
