"""Release instants: the rolling daily form and the weekly form."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core.release import WEEKDAYS, ReleasePolicy, release_problems, releases_at

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def test_daily_release_is_days_ahead_before_at_local_time() -> None:
    policy = ReleasePolicy(days_ahead=7, at="09:00")
    assert releases_at(policy, date(2026, 10, 14), SHANGHAI) == datetime(2026, 10, 7, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("days_ahead", "at", "slot_day", "expected"),
    [
        (0, "00:00", date(2026, 10, 14), datetime(2026, 10, 13, 16, tzinfo=UTC)),  # own midnight
        (5, "00:00", date(2026, 10, 14), datetime(2026, 10, 8, 16, tzinfo=UTC)),
        (1, "23:59", date(2026, 10, 1), datetime(2026, 9, 30, 15, 59, tzinfo=UTC)),
        (7, "09:00", date(2027, 1, 3), datetime(2026, 12, 27, 1, tzinfo=UTC)),  # across a year
    ],
)
def test_daily_release_table(days_ahead: int, at: str, slot_day: date, expected: datetime) -> None:
    policy = ReleasePolicy(days_ahead=days_ahead, at=at)
    assert releases_at(policy, slot_day, SHANGHAI) == expected


def test_daily_release_keeps_local_time_across_dst() -> None:
    """Berlin: slots on 2027-04-01 open 2027-03-25 09:00 CET; on 04-05, 03-29 09:00 CEST."""
    policy = ReleasePolicy(days_ahead=7, at="09:00")
    assert releases_at(policy, date(2027, 4, 1), BERLIN) == datetime(2027, 3, 25, 8, tzinfo=UTC)
    assert releases_at(policy, date(2027, 4, 5), BERLIN) == datetime(2027, 3, 29, 7, tzinfo=UTC)


WEEK_OF_DECEMBER_7 = [date(2026, 12, 7) + timedelta(days=offset) for offset in range(7)]


@pytest.mark.parametrize("slot_day", WEEK_OF_DECEMBER_7, ids=lambda day: day.strftime("%a"))
def test_weekly_release_opens_the_whole_next_week_on_monday_noon(slot_day: date) -> None:
    """Any day of the week of Monday 2026-12-07 opens on Monday 2026-11-30 at 12:00 Shanghai."""
    policy = ReleasePolicy(weekday="MON", at="12:00", weeks_ahead=1)
    assert releases_at(policy, slot_day, SHANGHAI) == datetime(2026, 11, 30, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("slot_day", "expected_local"),
    [
        (date(2026, 12, 6), datetime(2026, 11, 23, 12)),  # Sunday: belongs to the week before
        (date(2026, 12, 14), datetime(2026, 12, 7, 12)),  # next Monday: the next release
    ],
)
def test_weekly_release_week_boundaries(slot_day: date, expected_local: datetime) -> None:
    policy = ReleasePolicy(weekday="MON", at="12:00", weeks_ahead=1)
    assert releases_at(policy, slot_day, SHANGHAI) == expected_local.replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("weekday", "weeks_ahead", "expected_local"),
    [
        ("FRI", 1, datetime(2026, 12, 4, 18)),  # the Friday before the week
        ("SUN", 1, datetime(2026, 12, 6, 18)),  # the eve of the week
        ("MON", 2, datetime(2026, 11, 23, 18)),
        ("MON", 0, datetime(2026, 12, 7, 18)),  # the week's own Monday
    ],
)
def test_weekly_release_weekday_and_weeks_ahead(
    weekday: str, weeks_ahead: int, expected_local: datetime
) -> None:
    policy = ReleasePolicy(weekday=weekday, weeks_ahead=weeks_ahead, at="18:00")  # type: ignore[arg-type]
    expected = expected_local.replace(tzinfo=SHANGHAI)
    assert {releases_at(policy, day, SHANGHAI) for day in WEEK_OF_DECEMBER_7} == {expected}


@pytest.mark.parametrize(
    ("policy", "problems"),
    [
        (ReleasePolicy(days_ahead=7), []),
        (ReleasePolicy(days_ahead=0), []),  # 0 is a form, not "missing"
        (ReleasePolicy(weekday="MON"), []),
        (ReleasePolicy(), ["policy.release"]),
        (ReleasePolicy(days_ahead=7, weekday="MON"), ["policy.release"]),
    ],
)
def test_release_problems_require_exactly_one_form(
    policy: ReleasePolicy, problems: list[str]
) -> None:
    assert [field for field, _ in release_problems(policy)] == problems


@pytest.mark.parametrize(
    "body",
    [
        b'{"days_ahead": 7, "at": "24:00"}',
        b'{"days_ahead": 7, "at": "9:00"}',
        b'{"days_ahead": -1}',
        b'{"days_ahead": 367}',
        b'{"weekday": "MONDAY"}',
        b'{"weekday": "MON", "weeks_ahead": 53}',
        b'{"days_ahead": 7, "hour": 9}',
    ],
)
def test_release_policy_decoding_refuses_bad_values(body: bytes) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(body, type=ReleasePolicy)


def test_release_policy_decodes_with_defaults() -> None:
    policy = msgspec.json.decode(b'{"weekday": "SAT"}', type=ReleasePolicy)
    assert policy == ReleasePolicy(weekday="SAT", weeks_ahead=1, at="00:00")


slot_days = st.dates(date(2025, 1, 1), date(2028, 12, 31))
zones = st.sampled_from([SHANGHAI, BERLIN])
clock_texts = st.builds(lambda h, m: f"{h:02}:{m:02}", st.integers(0, 23), st.integers(0, 59))


@settings(max_examples=150)
@given(slot_days, st.integers(0, 366), clock_texts, zones)
def test_daily_release_lands_on_the_right_local_date_and_time(
    slot_day: date, days_ahead: int, at: str, zone: ZoneInfo
) -> None:
    instant = releases_at(ReleasePolicy(days_ahead=days_ahead, at=at), slot_day, zone)
    local = instant.astimezone(zone)
    assert local.date() == slot_day - timedelta(days=days_ahead)
    # A time in a DST gap moves forward by the gap; otherwise the wall clock is exact.
    if local.strftime("%H:%M") != at:
        assert zone is BERLIN and at[:2] == "02"


@settings(max_examples=150)
@given(slot_days, st.sampled_from(WEEKDAYS), st.integers(0, 52), clock_texts, zones)
def test_weekly_release_is_shared_by_the_week_and_on_its_weekday(
    slot_day: date, weekday: str, weeks_ahead: int, at: str, zone: ZoneInfo
) -> None:
    policy = ReleasePolicy(weekday=weekday, weeks_ahead=weeks_ahead, at=at)  # type: ignore[arg-type]
    monday = slot_day - timedelta(days=slot_day.weekday())
    week = [monday + timedelta(days=offset) for offset in range(7)]
    instants = {releases_at(policy, day, zone) for day in week}
    assert len(instants) == 1
    local = instants.pop().astimezone(zone)
    assert WEEKDAYS[local.weekday()] == weekday
    assert (monday - local.date()).days == 7 * weeks_ahead - WEEKDAYS.index(weekday)
    if weeks_ahead >= 1:
        assert local.date() < monday  # the whole week opens before it starts


@settings(max_examples=150)
@given(slot_days, slot_days, st.integers(0, 30), clock_texts, zones)
def test_later_slots_never_release_earlier(
    first: date, second: date, days_ahead: int, at: str, zone: ZoneInfo
) -> None:
    earlier, later = sorted((first, second))
    for policy in (
        ReleasePolicy(days_ahead=days_ahead, at=at),
        ReleasePolicy(weekday="WED", weeks_ahead=days_ahead % 4, at=at),
    ):
        assert releases_at(policy, earlier, zone) <= releases_at(policy, later, zone)
