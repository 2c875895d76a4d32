"""Day types against the real 2026 China calendar (调休 included), corrections and terms."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core.calendar import (
    DAY_TYPES,
    DayCalendar,
    OfficialDay,
    Term,
    days_between,
    official_day,
)

NATIONAL_DAY = date(2026, 10, 1)  # Thursday
MAKEUP_SATURDAY = date(2026, 10, 10)
MAKEUP_SUNDAY = date(2026, 9, 20)
ORDINARY_SATURDAY = date(2026, 11, 14)
ORDINARY_SUNDAY = date(2026, 11, 15)
ORDINARY_WEDNESDAY = date(2026, 11, 18)
AUTUMN_TERM = Term(date(2026, 9, 1), date(2027, 1, 22), "2026 autumn")
SPRING_TERM = Term(date(2027, 2, 22), date(2027, 7, 2), "2027 spring")


def test_fixture_dates_have_the_weekdays_the_tests_assume() -> None:
    assert NATIONAL_DAY.strftime("%A") == "Thursday"
    assert MAKEUP_SATURDAY.strftime("%A") == "Saturday"
    assert MAKEUP_SUNDAY.strftime("%A") == "Sunday"
    assert ORDINARY_SATURDAY.strftime("%A") == "Saturday"
    assert ORDINARY_WEDNESDAY.strftime("%A") == "Wednesday"


def test_national_day_is_a_named_holiday_and_a_rest_day() -> None:
    official = official_day(NATIONAL_DAY)
    assert official.kind == "holiday"
    assert official.name == "National Day"
    assert DayCalendar().day_types(NATIONAL_DAY) == {"holiday", "rest_day", "non_school_day"}


@pytest.mark.parametrize("day", [MAKEUP_SATURDAY, MAKEUP_SUNDAY], ids=["sat-10-10", "sun-09-20"])
def test_makeup_weekend_days_are_workdays(day: date) -> None:
    official = official_day(day)
    assert official.kind == "workday"
    assert official.name is not None and "调休" in official.name
    types = DayCalendar().day_types(day)
    assert "workday" in types
    assert "rest_day" not in types and "holiday" not in types


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        (ORDINARY_SATURDAY, "rest_day"),
        (ORDINARY_SUNDAY, "rest_day"),
        (ORDINARY_WEDNESDAY, "workday"),
        (date(2026, 10, 6), "holiday"),  # Tuesday off, swapped for Sunday 09-20
        (date(2026, 10, 7), "holiday"),  # Wednesday off, swapped for Saturday 10-10
        (date(2026, 10, 8), "workday"),  # Thursday after the break
        (date(2026, 10, 11), "rest_day"),  # the Sunday after the make-up Saturday
        (date(2026, 2, 17), "holiday"),  # Spring Festival, Tuesday
        (date(2026, 2, 14), "workday"),  # make-up Saturday before Spring Festival
        (date(2026, 1, 1), "holiday"),
        (date(2026, 1, 4), "workday"),  # make-up Sunday after New Year
    ],
)
def test_official_day_kinds_in_2026(day: date, kind: str) -> None:
    assert official_day(day).kind == kind


def test_ordinary_saturday_is_rest_day_and_wednesday_workday() -> None:
    calendar = DayCalendar()
    assert calendar.day_types(ORDINARY_SATURDAY) == {"rest_day", "non_school_day"}
    assert calendar.day_types(ORDINARY_WEDNESDAY) == {"workday", "non_school_day"}


def test_staff_correction_overrides_a_makeup_workday() -> None:
    """Staff may correct 10-10 to a rest day (e.g. the published schedule changed)."""
    calendar = DayCalendar(
        corrections={MAKEUP_SATURDAY: OfficialDay(MAKEUP_SATURDAY, "rest_day", "corrected")}
    )
    assert calendar.classify(MAKEUP_SATURDAY).kind == "rest_day"
    assert calendar.day_types(MAKEUP_SATURDAY) == {"rest_day", "non_school_day"}
    # Only the corrected date changes.
    assert calendar.day_types(MAKEUP_SUNDAY) == DayCalendar().day_types(MAKEUP_SUNDAY)
    assert "workday" in calendar.day_types(MAKEUP_SUNDAY)


@pytest.mark.parametrize(
    ("day", "corrected", "expected"),
    [
        (NATIONAL_DAY, "workday", {"workday", "non_school_day"}),
        (ORDINARY_WEDNESDAY, "holiday", {"holiday", "rest_day", "non_school_day"}),
        (ORDINARY_WEDNESDAY, "rest_day", {"rest_day", "non_school_day"}),
        (ORDINARY_SATURDAY, "workday", {"workday", "non_school_day"}),
    ],
)
def test_corrections_override_any_kind(day: date, corrected: str, expected: set[str]) -> None:
    calendar = DayCalendar(corrections={day: OfficialDay(day, corrected)})  # type: ignore[arg-type]
    assert calendar.day_types(day) == expected
    assert DayCalendar().day_types(day) != expected  # the correction made a difference


@pytest.mark.parametrize(
    ("day", "school"),
    [
        (ORDINARY_WEDNESDAY, True),  # workday in term
        (AUTUMN_TERM.starts_on, True),  # Tuesday, first day: terms are inclusive
        (AUTUMN_TERM.ends_on, True),  # Friday, last day
        (date(2027, 1, 25), False),  # Monday after the term: vacation
        (date(2026, 8, 19), False),  # Wednesday in the summer vacation
        (ORDINARY_SATURDAY, False),  # weekend in term
        (NATIONAL_DAY, False),  # holiday in term
        (date(2026, 10, 6), False),  # swapped-off Tuesday in term
        (MAKEUP_SATURDAY, True),  # make-up Saturday in term: pupils go to school
        (MAKEUP_SUNDAY, True),
        (date(2027, 3, 3), True),  # Wednesday in the second term
        (date(2027, 2, 10), False),  # Wednesday between terms (winter vacation)
    ],
)
def test_school_day_only_for_workdays_inside_a_term(day: date, school: bool) -> None:
    types = DayCalendar(terms=(AUTUMN_TERM, SPRING_TERM)).day_types(day)
    assert ("school_day" in types) is school
    assert ("non_school_day" in types) is not school


def test_without_terms_no_day_is_a_school_day() -> None:
    calendar = DayCalendar()
    assert all(
        "school_day" not in calendar.day_types(day)
        for day in days_between(date(2026, 9, 1), date(2026, 12, 31))
    )


def test_correction_to_rest_day_makes_a_term_day_a_non_school_day() -> None:
    calendar = DayCalendar(
        corrections={ORDINARY_WEDNESDAY: OfficialDay(ORDINARY_WEDNESDAY, "rest_day")},
        terms=(AUTUMN_TERM,),
    )
    assert calendar.day_types(ORDINARY_WEDNESDAY) == {"rest_day", "non_school_day"}


def test_in_term_is_inclusive_of_both_ends() -> None:
    calendar = DayCalendar(terms=(AUTUMN_TERM,))
    assert calendar.in_term(AUTUMN_TERM.starts_on)
    assert calendar.in_term(AUTUMN_TERM.ends_on)
    assert not calendar.in_term(AUTUMN_TERM.starts_on - timedelta(days=1))
    assert not calendar.in_term(AUTUMN_TERM.ends_on + timedelta(days=1))


def test_days_between_is_inclusive_and_empty_when_reversed() -> None:
    assert list(days_between(date(2026, 9, 30), date(2026, 10, 2))) == [
        date(2026, 9, 30),
        date(2026, 10, 1),
        date(2026, 10, 2),
    ]
    assert list(days_between(NATIONAL_DAY, NATIONAL_DAY)) == [NATIONAL_DAY]
    assert list(days_between(date(2026, 10, 2), NATIONAL_DAY)) == []


def test_2026_has_the_published_makeup_workdays() -> None:
    """Every weekend workday of 2026 per the State Council notice, and no others."""
    weekend_workdays = {
        day
        for day in days_between(date(2026, 1, 1), date(2026, 12, 31))
        if day.weekday() >= 5 and official_day(day).kind == "workday"
    }
    assert weekend_workdays == {
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        MAKEUP_SUNDAY,
        MAKEUP_SATURDAY,
    }


def test_every_day_of_the_national_day_break_is_a_holiday() -> None:
    kinds = {day: official_day(day).kind for day in days_between(NATIONAL_DAY, date(2026, 10, 7))}
    assert set(kinds.values()) == {"holiday"}, kinds


corrections = st.dictionaries(
    st.dates(date(2025, 1, 1), date(2027, 12, 31)),
    st.sampled_from(["workday", "rest_day", "holiday"]),
    max_size=5,
)
terms = st.lists(
    st.builds(
        lambda start, length: Term(start, start + timedelta(days=length)),
        st.dates(date(2025, 1, 1), date(2027, 12, 31)),
        st.integers(0, 200),
    ),
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2025, 1, 1), date(2027, 12, 31)), corrections, terms)
def test_day_types_are_consistent(
    day: date, corrected: dict[date, str], school_terms: list[Term]
) -> None:
    """Exactly one of workday/rest_day, exactly one of school/non-school, holiday ⊂ rest_day."""
    calendar = DayCalendar(
        corrections={d: OfficialDay(d, kind) for d, kind in corrected.items()},  # type: ignore[arg-type]
        terms=tuple(school_terms),
    )
    types = calendar.day_types(day)
    assert types <= set(DAY_TYPES)
    assert ("workday" in types) != ("rest_day" in types)
    assert ("school_day" in types) != ("non_school_day" in types)
    if "holiday" in types:
        assert "rest_day" in types
    if "school_day" in types:
        assert "workday" in types and calendar.in_term(day)
    expected_kind = corrected.get(day) or official_day(day).kind
    assert calendar.classify(day).kind == expected_kind
