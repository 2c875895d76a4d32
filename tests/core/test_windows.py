"""Opening windows: clock parsing, rule validation and expansion against the real calendar."""

from __future__ import annotations

import signal
import time as stopwatch
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scheduler.core.availability import granules
from scheduler.core.calendar import DayCalendar, OfficialDay, Term, days_between
from scheduler.core.timerange import TimeRange
from scheduler.core.windows import (
    MAX_RULE_LENGTH,
    Window,
    clock_problems,
    occurrences,
    open_dates,
    parse_clock,
    rule_problems,
    window_problems,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = DayCalendar()
WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"


def make_window(start: str = "08:00", end: str = "18:00", **fields: Any) -> Window:
    """A window from clock texts, open every day unless told otherwise."""
    fields.setdefault("id", "w1")
    if "rrule" not in fields and "day_types" not in fields:
        fields["rrule"] = "FREQ=DAILY"
    return Window(
        start_time=parse_clock(start, is_end=False),
        end_time=parse_clock(end, is_end=True),
        **fields,
    )


def local(day: date, hour: int, minute: int = 0, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def local_day(day: date, zone: ZoneInfo = SHANGHAI) -> TimeRange:
    """The real interval of one local calendar day."""
    return TimeRange.utc(local(day, 0, zone=zone), local(day + timedelta(days=1), 0, zone=zone))


def dates(window: Window, first: date, last: date, calendar: DayCalendar = CALENDAR) -> list[date]:
    return list(open_dates(window, calendar, first, last))


class TooSlow(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Abort the block (by raising TooSlow) if it runs longer than ``seconds``."""

    def on_alarm(_signum: int, _frame: object) -> None:
        raise TooSlow(f"took longer than {seconds}s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- parse_clock and clock_problems ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "is_end", "expected"),
    [
        ("00:00", False, time(0, 0)),
        ("08:30", False, time(8, 30)),
        ("23:59", False, time(23, 59)),
        ("18:00", True, time(18, 0)),
        ("24:00", True, time(0, 0)),  # midnight ending the day
    ],
)
def test_parse_clock_accepts(text: str, is_end: bool, expected: time) -> None:
    assert parse_clock(text, is_end=is_end) == expected


@pytest.mark.parametrize(
    ("text", "is_end"),
    [
        ("24:00", False),  # 24:00 only as an end
        ("24:01", True),
        ("25:00", True),
        ("12:60", False),
        ("8:00", False),
        ("08:0", False),
        ("0800", False),
        ("08-00", False),
        ("08:00:00", False),
        ("ab:cd", False),
        ("", False),
        (" 8:00", False),
        ("-1:00", False),
    ],
)
def test_parse_clock_refuses(text: str, is_end: bool) -> None:
    with pytest.raises(ValueError):
        parse_clock(text, is_end=is_end)


@pytest.mark.parametrize(
    ("start", "end", "fields"),
    [
        ("18:00", "21:00", []),
        ("18:00", "08:00", []),  # tidal: ends next morning
        ("00:00", "24:00", []),  # a whole day
        ("08:00", "24:00", []),
        ("08:00", "08:00", ["end_time"]),  # zero length
        ("00:00", "00:00", ["end_time"]),
        ("24:00", "08:00", ["start_time"]),
        ("8:00", "25:00", ["start_time", "end_time"]),
    ],
)
def test_clock_problems(start: str, end: str, fields: list[str]) -> None:
    assert [field for field, _ in clock_problems(start, end)] == fields


def test_zero_length_window_message_points_to_whole_day() -> None:
    assert clock_problems("08:00", "08:00") == [
        ("end_time", "zero-length window; for a whole day use 00:00-24:00")
    ]


def test_whole_day_window_lasts_24_hours_from_local_midnight() -> None:
    window = make_window("00:00", "24:00")
    assert window.crosses_midnight
    day = date(2026, 10, 1)
    found = occurrences(window, CALENDAR, SHANGHAI, local_day(day))
    assert found == [local_day(day)]


# --- rule_problems -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=SECONDLY", "FREQ must be"),
        ("FREQ=MINUTELY", "FREQ must be"),
        ("FREQ=HOURLY", "FREQ must be"),
        ("FREQ=FORTNIGHTLY", "FREQ must be"),
        ("BYDAY=MO", "FREQ must be"),  # no FREQ at all
        ("FREQ=DAILY;BYHOUR=8", "unsupported part(s) BYHOUR"),
        ("FREQ=DAILY;COUNT=10", "unsupported part(s) COUNT"),
        ("FREQ=DAILY;BYSETPOS=1", "unsupported part(s) BYSETPOS"),
        ("hello world", "malformed part"),
        ("FREQ=DAILY;;BYDAY=MO", "malformed part"),
        ("FREQ=DAILY;BYDAY=", "malformed part"),
        ("FREQ=WEEKLY;BYDAY=XX", "not a valid RFC 5545 rule"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL values must be between 1 and 366"),
        ("FREQ=DAILY;INTERVAL=367", "INTERVAL values must be between 1 and 366"),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL values must be between 1 and 366"),
        ("FREQ=DAILY;INTERVAL=two", "not a valid RFC 5545 rule"),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "BYMONTHDAY never occurs"),
        ("FREQ=YEARLY;BYMONTH=4,6;BYMONTHDAY=31", "BYMONTHDAY never occurs"),
        ("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=-30", "BYMONTHDAY never occurs"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY values must be between 1 and 31"),
        ("FREQ=DAILY;BYMONTH=13;BYMONTHDAY=1", "not a valid RFC 5545 rule"),
        ("FREQ=WEEKLY;BYDAY=MO;WKST=XX", "not a valid RFC 5545 rule"),
    ],
)
def test_rule_problems_refuses(rule: str, message: str) -> None:
    problem = rule_problems(rule, date(2026, 9, 1))
    assert problem is not None and message in problem, problem


def test_rule_problems_refuses_over_long_rules() -> None:
    rule = "FREQ=WEEKLY;BYDAY=" + ",".join(["MO"] * 100)
    assert len(rule) > MAX_RULE_LENGTH
    assert rule_problems(rule, date(2026, 9, 1)) == f"longer than {MAX_RULE_LENGTH} characters"


def test_impossible_month_day_is_refused_quickly() -> None:
    """Expanding 30 February would make dateutil search to year 9999: refuse it up front."""
    started = stopwatch.perf_counter()
    problem = rule_problems("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", None)
    assert problem is not None and "BYMONTHDAY never occurs" in problem
    assert stopwatch.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    "rule",
    [
        WEEKDAYS,
        "RRULE:" + WEEKDAYS,
        "freq=weekly;byday=sa,su",
        "FREQ=DAILY",
        "FREQ=DAILY;BYMONTH=7,8",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29",  # leap days do occur
        "FREQ=MONTHLY;BYMONTHDAY=1,15",
        "FREQ=MONTHLY;BYDAY=1MO",
        "FREQ=YEARLY;BYMONTH=10;BYMONTHDAY=1",
        "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231",
        "FREQ=DAILY;INTERVAL=1",
    ],
)
def test_rule_problems_accepts_day_level_rules_without_valid_from(rule: str) -> None:
    assert rule_problems(rule, None) is None


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY",  # weekday of DTSTART
        "FREQ=DAILY;INTERVAL=2",  # every other day from DTSTART
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA",
        "FREQ=MONTHLY",  # day of month of DTSTART
        "FREQ=YEARLY",
    ],
)
def test_anchored_rules_need_valid_from(rule: str) -> None:
    problem = rule_problems(rule, None)
    assert problem is not None and "valid_from" in problem
    assert rule_problems(rule, date(2026, 9, 5)) is None


# --- window_problems -----------------------------------------------------------------------


def test_valid_window_has_no_problems() -> None:
    assert window_problems(make_window(rrule=WEEKDAYS, day_types=("workday",))) == []
    assert window_problems(make_window(day_types=("school_day",))) == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"rrule": None}, "rrule"),
        ({"rrule": "FREQ=HOURLY"}, "rrule"),
        ({"day_types": ("weekend",)}, "day_types"),
        ({"valid_from": date(2026, 10, 2), "valid_until": date(2026, 10, 1)}, "valid_until"),
        ({"audience": ()}, "audience"),
    ],
)
def test_window_problems_name_the_field(fields: dict[str, Any], expected: str) -> None:
    assert [field for field, _ in window_problems(make_window(**fields))] == [expected]


def test_window_valid_for_a_single_day_is_fine() -> None:
    window = make_window(valid_from=date(2026, 10, 1), valid_until=date(2026, 10, 1))
    assert window_problems(window) == []
    assert dates(window, date(2026, 9, 1), date(2026, 10, 31)) == [date(2026, 10, 1)]


# --- expansion -----------------------------------------------------------------------------


def test_rest_day_window_follows_the_official_calendar() -> None:
    window = make_window("08:00", "18:00", day_types=("rest_day",))
    assert dates(window, date(2026, 9, 28), date(2026, 10, 11)) == [
        date(2026, 10, 1),
        date(2026, 10, 2),
        date(2026, 10, 3),
        date(2026, 10, 4),
        date(2026, 10, 5),
        date(2026, 10, 6),
        date(2026, 10, 7),
        # 10-10 is a make-up Saturday: a workday, so not open
        date(2026, 10, 11),
    ]


def test_rest_day_window_opens_on_national_day_not_on_makeup_saturday() -> None:
    window = make_window("08:00", "18:00", day_types=("rest_day",))
    national_day = occurrences(window, CALENDAR, SHANGHAI, local_day(date(2026, 10, 1)))
    assert national_day == [
        TimeRange(datetime(2026, 10, 1, 0, tzinfo=UTC), datetime(2026, 10, 1, 10, tzinfo=UTC))
    ]
    assert occurrences(window, CALENDAR, SHANGHAI, local_day(date(2026, 10, 10))) == []


def test_tidal_window_crosses_midnight() -> None:
    """18:00-08:00: local day 10-01 holds the tail of 09-30's night and the head of its own."""
    window = make_window("18:00", "08:00", rrule="FREQ=DAILY")
    day = local_day(date(2026, 10, 1))
    found = occurrences(window, CALENDAR, SHANGHAI, day)
    assert found == [
        TimeRange.utc(local(date(2026, 9, 30), 18), local(date(2026, 10, 1), 8)),
        TimeRange.utc(local(date(2026, 10, 1), 18), local(date(2026, 10, 2), 8)),
    ]
    starts = [g.start for o in found for g in granules(o, 60) if day.contains_instant(g.start)]
    assert len(starts) == 14
    local_hours = [start.astimezone(SHANGHAI).hour for start in starts]
    assert local_hours == [0, 1, 2, 3, 4, 5, 6, 7, 18, 19, 20, 21, 22, 23]


def test_tidal_window_is_open_for_the_night_of_its_date_only() -> None:
    """A rest-day night window opens on the evening of a rest day, running into the next day."""
    window = make_window("18:00", "08:00", day_types=("rest_day",))
    found = occurrences(window, CALENDAR, SHANGHAI, local_day(date(2026, 10, 8)))
    # 10-08 is a workday: only the night starting 10-07 (a holiday) reaches into it.
    assert found == [TimeRange.utc(local(date(2026, 10, 7), 18), local(date(2026, 10, 8), 8))]


def test_occurrences_only_overlapping_the_span_are_returned() -> None:
    window = make_window("08:00", "09:00")
    span = TimeRange.utc(local(date(2026, 10, 1), 9), local(date(2026, 10, 2), 8))
    assert occurrences(window, CALENDAR, SHANGHAI, span) == []
    span = TimeRange.utc(local(date(2026, 10, 1), 8, 59), local(date(2026, 10, 2), 8, 1))
    assert occurrences(window, CALENDAR, SHANGHAI, span) == [
        TimeRange.utc(local(date(2026, 10, 1), 8), local(date(2026, 10, 1), 9)),
        TimeRange.utc(local(date(2026, 10, 2), 8), local(date(2026, 10, 2), 9)),
    ]


def test_valid_from_and_valid_until_bound_the_dates() -> None:
    window = make_window(valid_from=date(2026, 10, 3), valid_until=date(2026, 10, 5))
    assert dates(window, date(2026, 10, 1), date(2026, 10, 10)) == [
        date(2026, 10, 3),
        date(2026, 10, 4),
        date(2026, 10, 5),
    ]
    assert dates(window, date(2026, 10, 6), date(2026, 10, 10)) == []
    assert dates(window, date(2026, 9, 1), date(2026, 10, 2)) == []


def test_rule_with_until_stops() -> None:
    window = make_window(rrule="FREQ=DAILY;UNTIL=20261005")
    assert dates(window, date(2026, 10, 1), date(2026, 10, 10)) == list(
        days_between(date(2026, 10, 1), date(2026, 10, 5))
    )
    assert dates(window, date(2026, 10, 6), date(2026, 10, 10)) == []


def test_rrule_and_day_types_combine_with_and() -> None:
    """Weekdays that are workdays: skips the National Day weekdays and both make-up days."""
    window = make_window(rrule=WEEKDAYS, day_types=("workday",))
    found = dates(window, date(2026, 9, 14), date(2026, 10, 18))
    expected = [
        day
        for day in days_between(date(2026, 9, 14), date(2026, 10, 18))
        if day.weekday() < 5
        and day not in {date(2026, 9, 25)}  # Mid-Autumn Festival (Friday)
        and day not in set(days_between(date(2026, 10, 1), date(2026, 10, 7)))
    ]
    assert found == expected
    assert date(2026, 9, 20) not in found and date(2026, 10, 10) not in found
    assert date(2026, 10, 8) in found


def test_rule_allowing_saturdays_includes_the_makeup_saturday() -> None:
    window = make_window(rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA", day_types=("workday",))
    found = dates(window, date(2026, 9, 14), date(2026, 10, 18))
    assert date(2026, 10, 10) in found  # make-up Saturday
    assert date(2026, 9, 20) not in found  # make-up Sunday: the rule has no Sundays
    assert date(2026, 10, 17) not in found  # ordinary Saturday: not a workday


def test_day_types_alone_include_makeup_weekend_days() -> None:
    window = make_window(day_types=("workday",))
    found = dates(window, date(2026, 9, 14), date(2026, 10, 18))
    assert date(2026, 9, 20) in found and date(2026, 10, 10) in found
    assert date(2026, 10, 1) not in found


def test_several_day_types_are_any_of() -> None:
    window = make_window(day_types=("holiday", "school_day"))
    calendar = DayCalendar(terms=(Term(date(2026, 9, 1), date(2027, 1, 22)),))
    found = dates(window, date(2026, 9, 26), date(2026, 10, 11), calendar)
    assert found == [
        date(2026, 9, 26),
        date(2026, 9, 27),
        date(2026, 9, 28),
        date(2026, 9, 29),
        date(2026, 9, 30),
        date(2026, 10, 1),
        date(2026, 10, 2),
        date(2026, 10, 3),
        date(2026, 10, 4),
        date(2026, 10, 5),
        date(2026, 10, 6),
        date(2026, 10, 7),
        date(2026, 10, 8),
        date(2026, 10, 9),
        date(2026, 10, 10),
    ]


def test_corrections_change_expansion() -> None:
    calendar = DayCalendar(
        corrections={date(2026, 10, 10): OfficialDay(date(2026, 10, 10), "rest_day")}
    )
    window = make_window(day_types=("rest_day",))
    assert date(2026, 10, 10) in dates(window, date(2026, 10, 8), date(2026, 10, 11), calendar)


def test_school_day_window_in_and_out_of_term() -> None:
    calendar = DayCalendar(terms=(Term(date(2026, 9, 1), date(2027, 1, 22)),))
    window = make_window("18:00", "21:00", day_types=("school_day",))
    assert dates(window, date(2026, 8, 26), date(2026, 9, 6), calendar) == [
        date(2026, 9, 1),
        date(2026, 9, 2),
        date(2026, 9, 3),
        date(2026, 9, 4),
    ]


def test_anchored_interval_rule_counts_from_valid_from_whatever_the_query() -> None:
    window = make_window(rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", valid_from=date(2026, 10, 3))
    every_other_saturday = [date(2026, 10, 3), date(2026, 10, 17), date(2026, 10, 31)]
    assert dates(window, date(2026, 10, 1), date(2026, 10, 31)) == every_other_saturday
    assert dates(window, date(2026, 10, 10), date(2026, 10, 31)) == every_other_saturday[1:]
    assert dates(window, date(2026, 10, 18), date(2026, 10, 30)) == []


def test_anchored_weekly_rule_uses_the_weekday_of_valid_from() -> None:
    window = make_window(rrule="FREQ=WEEKLY", valid_from=date(2026, 10, 6))  # a Tuesday
    assert dates(window, date(2026, 10, 12), date(2026, 10, 25)) == [
        date(2026, 10, 13),
        date(2026, 10, 20),
    ]


def test_berlin_window_is_an_hour_of_real_time_on_both_sides_of_dst() -> None:
    window = make_window("08:00", "09:00")
    span = TimeRange.utc(
        local(date(2027, 3, 27), 0, zone=BERLIN), local(date(2027, 3, 30), 0, zone=BERLIN)
    )
    found = occurrences(window, CALENDAR, BERLIN, span)
    assert [o.duration for o in found] == [timedelta(hours=1)] * 3
    assert [o.start.hour for o in found] == [7, 6, 6]  # 08:00 CET = 07:00 UTC, CEST = 06:00 UTC


CONSISTENCY_RULES: list[tuple[str, date | None]] = [
    ("FREQ=DAILY", None),
    (WEEKDAYS, None),
    ("FREQ=WEEKLY;BYDAY=SA,SU", None),
    ("FREQ=MONTHLY;BYMONTHDAY=1,15,-1", None),
    ("FREQ=MONTHLY;BYDAY=1MO,-1FR", None),
    ("FREQ=YEARLY;BYMONTH=10;BYMONTHDAY=1,2,3", None),
    ("FREQ=DAILY;BYMONTH=12,1", None),
    ("FREQ=DAILY;INTERVAL=3", date(2026, 9, 2)),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", date(2026, 9, 1)),
    ("FREQ=MONTHLY", date(2026, 8, 31)),
    ("FREQ=WEEKLY;BYDAY=MO;UNTIL=20261215", None),
]


def split_points(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in (1, 13, 29, 30, 31, 60, 95)]


@pytest.mark.parametrize(("rule", "valid_from"), CONSISTENCY_RULES)
def test_open_dates_do_not_depend_on_the_query_range(rule: str, valid_from: date | None) -> None:
    """Expanding [a, c] equals expanding [a, b-1] and [b, c]: a query never shifts a rule."""
    assert rule_problems(rule, valid_from) is None
    window = make_window(rrule=rule, valid_from=valid_from)
    first, last = date(2026, 9, 1), date(2027, 1, 31)
    whole = dates(window, first, last)
    assert whole, "the rule should occur in five months"
    for cut in split_points(first, last):
        assert dates(window, first, cut - timedelta(days=1)) + dates(window, cut, last) == whole


def test_yearly_bymonth_rule_does_not_depend_on_the_query_range() -> None:
    rule = "FREQ=YEARLY;BYMONTH=3"
    assert rule_problems(rule, None) is not None, "the day of month comes from DTSTART"
    assert rule_problems(rule, date(2027, 3, 5)) is None
    window = make_window(rrule=rule, valid_from=date(2027, 3, 5))
    whole = dates(window, date(2027, 3, 1), date(2027, 3, 31))
    later = dates(window, date(2027, 3, 10), date(2027, 3, 31))
    assert later == [day for day in whole if day >= date(2027, 3, 10)]


NEVER_OCCURRING_RULES = [
    "FREQ=DAILY;BYMONTH=13",
    "FREQ=DAILY;BYMONTH=0",
    "FREQ=WEEKLY;BYDAY=MO;BYMONTH=13",
    "FREQ=MONTHLY;BYDAY=1MO;BYMONTHDAY=15",
    "FREQ=MONTHLY;BYDAY=6MO",
    "FREQ=YEARLY;BYDAY=60MO",
    "FREQ=MONTHLY;BYDAY=60MO",
    "FREQ=MONTHLY;BYDAY=-60MO",
    "FREQ=MONTHLY;BYDAY=-5MO;BYMONTH=2",
]
# Rules that occur, but rarely: dateutil has to search far for each occurrence.
RARE_RULES = [
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=MONTHLY;BYDAY=5FR",
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "FREQ=YEARLY;BYDAY=-53SU",
]


@pytest.mark.parametrize("rule", NEVER_OCCURRING_RULES)
def test_rules_that_can_never_occur_are_refused_up_front(rule: str) -> None:
    """dateutil would search up to year 9999 for them (or fail), so they never get stored."""
    assert rule_problems(rule, None) is not None


@pytest.mark.parametrize("rule", RARE_RULES)
def test_accepted_rare_rules_expand_within_bounded_time(rule: str) -> None:
    assert rule_problems(rule, None) is None
    window = make_window(rrule=rule)
    try:
        with time_limit(0.5):
            found = dates(window, date(2027, 3, 1), date(2028, 3, 14))
    except TooSlow:
        # the interrupted dateutil frames cannot be rendered: report without a traceback
        pytest.fail(f"{rule}: a year took over 0.5 s to expand", pytrace=False)
    assert found, "each rare rule occurs at least once in a year"


def test_malformed_until_is_refused() -> None:
    assert rule_problems("FREQ=DAILY;UNTIL=2026", None) is not None
