"""core.series: which series rules are accepted, and how a first occurrence is repeated in
local wall time (docs/bookings.md, "Series")."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scheduler.core.series import MAX_OCCURRENCES, expand_series, series_problems
from scheduler.core.timerange import TimeRange

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY = date(2026, 12, 1)


def local(day: date, hour: int, minute: int = 0, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def evening(day: date = TUESDAY, zone: ZoneInfo = SHANGHAI) -> TimeRange:
    return TimeRange.utc(local(day, 18, zone=zone), local(day, 19, zone=zone))


def local_days(ranges: list[TimeRange], zone: ZoneInfo = SHANGHAI) -> list[date]:
    return [r.start.astimezone(zone).date() for r in ranges]


# --- Accepted rules ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("FREQ=DAILY;COUNT=1", None),
        ("FREQ=DAILY;COUNT=62", None),
        ("RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=8", None),
        ("FREQ=DAILY;UNTIL=20261201", None),  # the first day itself
        ("FREQ=DAILY;UNTIL=20261231T000000Z", None),
        ("FREQ=DAILY", "give exactly one of COUNT or UNTIL"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20261203", "give exactly one of COUNT or UNTIL"),
        ("FREQ=DAILY;COUNT=0", "COUNT must be between 1 and 62"),
        ("FREQ=DAILY;COUNT=63", "COUNT must be between 1 and 62"),
        ("FREQ=DAILY;COUNT=+3", "COUNT must be between 1 and 62"),
        ("FREQ=DAILY;COUNT=x", "COUNT must be between 1 and 62"),
        ("FREQ=DAILY;COUNT=\u0663", "COUNT must be between 1 and 62"),  # an Arabic-Indic 3
        ("FREQ=DAILY;COUNT", "malformed part 'COUNT'; expected NAME=VALUE"),
        ("FREQ=HOURLY;COUNT=3", "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"),
        ("FREQ=DAILY;BYSETPOS=1;COUNT=2", "unsupported part(s) BYSETPOS"),
        ("FREQ=DAILY;UNTIL=2026", "not a valid RFC 5545 rule: UNTIL must be a date"),
        ("FREQ=DAILY;UNTIL=20261130", "never occurs"),  # before the first day
    ],
)
def test_series_problems(rule: str, problem: str | None) -> None:
    found = series_problems(rule, TUESDAY)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)


@given(count=st.integers(-5, 200))
def test_count_is_accepted_exactly_from_1_to_62(count: int) -> None:
    problem = series_problems(f"FREQ=DAILY;COUNT={count}", TUESDAY)
    assert (problem is None) == (1 <= count <= MAX_OCCURRENCES)


# --- Expansion -----------------------------------------------------------------------------
def test_count_gives_that_many_occurrences_at_the_same_local_time() -> None:
    found = expand_series(evening(), "FREQ=DAILY;COUNT=3", SHANGHAI)
    assert found == [evening(TUESDAY + timedelta(days=n)) for n in range(3)]


def test_until_is_a_local_date_and_inclusive() -> None:
    found = expand_series(evening(), "FREQ=DAILY;UNTIL=20261203", SHANGHAI)
    assert local_days(found) == [date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)]
    # a time given with UNTIL is cut to its date: the whole day still counts
    found = expand_series(evening(), "FREQ=DAILY;UNTIL=20261203T000000Z", SHANGHAI)
    assert local_days(found)[-1] == date(2026, 12, 3)
    assert expand_series(evening(), "FREQ=DAILY;UNTIL=20261201", SHANGHAI) == [evening()]


def test_the_first_date_counts_only_if_it_matches_the_rule() -> None:
    found = expand_series(evening(), "FREQ=WEEKLY;BYDAY=WE,FR;COUNT=3", SHANGHAI)
    assert local_days(found) == [date(2026, 12, 2), date(2026, 12, 4), date(2026, 12, 9)]


def test_an_until_far_away_stops_one_past_the_limit_so_the_caller_can_refuse() -> None:
    found = expand_series(evening(), "FREQ=DAILY;UNTIL=20301231", SHANGHAI)
    assert len(found) == MAX_OCCURRENCES + 1
    assert local_days(found)[-1] == TUESDAY + timedelta(days=MAX_OCCURRENCES)
    assert len(expand_series(evening(), "FREQ=DAILY;COUNT=62", SHANGHAI)) == MAX_OCCURRENCES


def test_a_night_stays_18_to_08_across_the_autumn_change() -> None:
    """Berlin leaves summer time on 25 October 2026: that night is an hour longer."""
    night = TimeRange.utc(
        local(date(2026, 10, 23), 18, zone=BERLIN), local(date(2026, 10, 24), 8, zone=BERLIN)
    )
    found = expand_series(night, "FREQ=DAILY;COUNT=3", BERLIN)
    assert [(r.start.astimezone(BERLIN).hour, r.end.astimezone(BERLIN).hour) for r in found] == [
        (18, 8)
    ] * 3
    assert [r.duration for r in found] == [timedelta(hours=h) for h in (14, 15, 14)]


def test_a_night_stays_18_to_08_across_the_spring_change() -> None:
    night = TimeRange.utc(
        local(date(2026, 3, 27), 18, zone=BERLIN), local(date(2026, 3, 28), 8, zone=BERLIN)
    )
    found = expand_series(night, "FREQ=DAILY;COUNT=3", BERLIN)
    assert [r.duration for r in found] == [timedelta(hours=h) for h in (14, 13, 14)]


def test_an_occurrence_starting_in_the_skipped_hour_starts_when_the_clock_resumes() -> None:
    """02:00-04:00 on the night the clocks jump from 02:00 to 03:00 is 03:00-04:00."""
    early = TimeRange.utc(
        local(date(2026, 3, 28), 2, zone=BERLIN), local(date(2026, 3, 28), 4, zone=BERLIN)
    )
    found = expand_series(early, "FREQ=DAILY;COUNT=2", BERLIN)
    assert found[1] == TimeRange.utc(
        local(date(2026, 3, 29), 3, zone=BERLIN), local(date(2026, 3, 29), 4, zone=BERLIN)
    )


def test_an_occurrence_wholly_in_the_skipped_hour_is_left_out() -> None:
    first = TimeRange.utc(
        local(date(2026, 3, 28), 2, 30, zone=BERLIN), local(date(2026, 3, 28), 3, 30, zone=BERLIN)
    )
    found = expand_series(first, "FREQ=DAILY;COUNT=3", BERLIN)
    assert [r.start.astimezone(BERLIN).day for r in found] == [28, 30]


@settings(max_examples=150, deadline=None)
@given(
    day=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
    hour=st.integers(5, 21),  # clear of the hours a daylight-saving change skips or repeats
    hours=st.integers(1, 14),
    zone=st.sampled_from([SHANGHAI, BERLIN, ZoneInfo("America/New_York")]),
    count=st.integers(1, MAX_OCCURRENCES),
    interval=st.integers(1, 3),
)
def test_every_occurrence_keeps_the_local_start_and_local_length(
    day: date, hour: int, hours: int, zone: ZoneInfo, count: int, interval: int
) -> None:
    # The end, too, clear of the small hours a daylight-saving change skips or repeats
    # (a night from 12:00 to 02:00 on Berlin's spring-forward day ends at 03:00).
    assume(hour + hours <= 24 or hour + hours - 24 >= 4)
    start = local(day, hour, zone=zone)
    end_local = datetime.combine(day, time(hour)) + timedelta(hours=hours)
    first = TimeRange.utc(start, end_local.replace(tzinfo=zone))
    found = expand_series(first, f"FREQ=DAILY;INTERVAL={interval};COUNT={count}", zone)
    assert len(found) == count
    assert found[0] == first
    for n, occurrence in enumerate(found):
        starts = occurrence.start.astimezone(zone)
        assert starts.date() == day + timedelta(days=n * interval)
        assert starts.time() == time(hour)
        ends = occurrence.end.astimezone(zone).replace(tzinfo=None)
        assert ends - starts.replace(tzinfo=None) == timedelta(hours=hours)
