"""Standing orders in the core: the pattern's occurrences, each one's release moment, and the
allowed changes of status."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.core.policy import Policy
from scheduler.core.release import EarlyAccess, ReleasePolicy
from scheduler.core.standing import (
    MAX_OCCURRENCES,
    Pattern,
    expand,
    next_status,
    pattern_problems,
    release_moment,
)
from scheduler.core.timerange import TimeRange

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
LUNCH = Pattern("11:30", "12:30", weekdays=("MON", "TUE", "WED", "THU", "FRI"))


def test_weekday_lunches_of_a_month_in_local_time():
    found = expand(LUNCH, date(2027, 3, 1), date(2027, 3, 31), SHANGHAI)
    assert len(found) == 23
    assert found[0] == TimeRange(
        datetime(2027, 3, 1, 3, 30, tzinfo=UTC), datetime(2027, 3, 1, 4, 30, tzinfo=UTC)
    )
    assert {r.start.astimezone(SHANGHAI).weekday() for r in found} == {0, 1, 2, 3, 4}


def test_a_night_ends_the_next_morning_and_keeps_its_wall_times_across_a_clock_change():
    nights = Pattern("18:00", "08:00", rrule="FREQ=DAILY")
    found = expand(nights, date(2027, 3, 27), date(2027, 3, 28), BERLIN)  # DST on the 28th
    assert [(r.start.astimezone(BERLIN).hour, r.end.astimezone(BERLIN).hour) for r in found] == [
        (18, 8),
        (18, 8),
    ]
    assert found[0].duration == timedelta(hours=13)  # one hour skipped that night
    assert found[1].duration == timedelta(hours=14)


def test_an_rrule_picks_the_dates_between_from_and_until():
    tuesdays = Pattern("19:00", "21:00", rrule="FREQ=WEEKLY;BYDAY=TU")
    found = expand(tuesdays, date(2027, 2, 20), date(2027, 7, 1), SHANGHAI)
    assert len(found) == 19 and found[0].start.astimezone(SHANGHAI).date() == date(2027, 2, 23)


@pytest.mark.parametrize(
    ("pattern", "first", "last", "field"),
    [
        (
            Pattern("11:30", "11:30", weekdays=("MON",)),
            date(2027, 3, 1),
            date(2027, 3, 2),
            "end_time",
        ),
        (Pattern("11:30", "12:30"), date(2027, 3, 1), date(2027, 3, 2), "weekdays"),
        (
            Pattern("11:30", "12:30", ("MON",), "FREQ=DAILY"),
            date(2027, 3, 1),
            date(2027, 3, 2),
            "weekdays",
        ),
        (Pattern("11:30", "12:30", ("FUN",)), date(2027, 3, 1), date(2027, 3, 2), "weekdays"),
        (
            Pattern("11:30", "12:30", rrule="FREQ=DAILY;COUNT=3"),
            date(2027, 3, 1),
            date(2027, 3, 2),
            "rrule",
        ),
        (
            Pattern("11:30", "12:30", rrule="FREQ=HOURLY"),
            date(2027, 3, 1),
            date(2027, 3, 2),
            "rrule",
        ),
        (LUNCH, date(2027, 3, 2), date(2027, 3, 1), "until"),
        (LUNCH, date(2027, 1, 1), date(2028, 1, 2), "until"),  # 367 days
        (Pattern("24:00", "12:30", ("MON",)), date(2027, 3, 1), date(2027, 3, 2), "start_time"),
    ],
)
def test_bad_patterns_name_their_field(pattern, first, last, field):
    assert field in [name for name, _ in pattern_problems(pattern, first, last)]


def test_a_valid_pattern_has_no_problem():
    assert pattern_problems(LUNCH, date(2027, 3, 1), date(2027, 12, 31)) == []


def lunch_on(day: int) -> TimeRange:
    start = datetime(2027, 3, day, 3, 30, tzinfo=UTC)
    return TimeRange(start, start + timedelta(hours=1))


@pytest.mark.parametrize(
    ("policy", "head_start", "expected"),
    [
        # No release rule: when the horizon reaches the start.
        (Policy(horizon_days=7), timedelta(0), datetime(2027, 3, 1, 3, 30, tzinfo=UTC)),
        # Released at 16:00 the day before, within the horizon: the release.
        (
            Policy(horizon_days=7, release=ReleasePolicy(days_ahead=1, at="16:00")),
            timedelta(0),
            datetime(2027, 3, 7, 8, 0, tzinfo=UTC),
        ),
        # Released 30 days ahead but the horizon is 7 days: the horizon.
        (
            Policy(horizon_days=7, release=ReleasePolicy(days_ahead=30, at="16:00")),
            timedelta(0),
            datetime(2027, 3, 1, 3, 30, tzinfo=UTC),
        ),
        # Early access moves the release earlier for the holder.
        (
            Policy(
                horizon_days=7,
                release=ReleasePolicy(
                    days_ahead=1, at="16:00", early_access=[EarlyAccess(tag="elderly", minutes=60)]
                ),
            ),
            timedelta(minutes=60),
            datetime(2027, 3, 7, 7, 0, tzinfo=UTC),
        ),
        # A lottery: when an entry may first be made (the horizon), drawn at the release.
        (
            Policy(
                horizon_days=7,
                release=ReleasePolicy(days_ahead=1, at="16:00"),
                allocation="lottery",
            ),
            timedelta(0),
            datetime(2027, 3, 1, 3, 30, tzinfo=UTC),
        ),
    ],
)
def test_release_moment(policy, head_start, expected):
    assert release_moment(lunch_on(8), policy, SHANGHAI, head_start) == expected


def test_status_changes():
    assert next_status("active", "pause") == "paused"
    assert next_status("paused", "resume") == "active"
    assert next_status("paused", "end") == "ended"
    assert next_status("active", "resume") is None
    assert next_status("paused", "pause") is None
    assert next_status("ended", "resume") is None and next_status("ended", "end") is None


@given(
    first=st.dates(date(2026, 1, 1), date(2030, 1, 1)),
    span=st.integers(0, 365),
    days=st.sets(st.sampled_from(["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]), min_size=1),
)
def test_weekday_occurrences_are_ordered_inside_the_bounds_and_on_the_days(first, span, days):
    last = first + timedelta(days=span)
    pattern = Pattern("11:30", "12:30", weekdays=tuple(sorted(days)))
    found = expand(pattern, first, last, SHANGHAI)
    assert len(found) <= MAX_OCCURRENCES + 1
    local = [r.start.astimezone(SHANGHAI) for r in found]
    assert all(first <= moment.date() <= last for moment in local)
    assert all(
        ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")[m.weekday()] in days for m in local
    )
    assert local == sorted(local)
