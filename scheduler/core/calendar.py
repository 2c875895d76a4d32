"""Day types: China's official calendar (with make-up working days, 调休), staff corrections,
and school terms.

``rest_day``  a day off: a weekend or a statutory holiday, except make-up working days.
``holiday``   the days named in the official holiday schedule (a subset of rest days).
``workday``   every day that is not a rest day (make-up Saturdays and Sundays included).
``school_day`` a workday inside one of the resource partner's terms; ``non_school_day`` the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

import holidays

DayType = Literal["workday", "rest_day", "holiday", "school_day", "non_school_day"]
DAY_TYPES: tuple[DayType, ...] = ("workday", "rest_day", "holiday", "school_day", "non_school_day")
CorrectableDayType = Literal["workday", "rest_day", "holiday"]
CORRECTABLE: tuple[CorrectableDayType, ...] = ("workday", "rest_day", "holiday")


@dataclass(frozen=True, slots=True)
class OfficialDay:
    """How the state calendar classifies one date."""

    day: date
    kind: CorrectableDayType
    name: str | None = None


@lru_cache(maxsize=64)
def _china(year: int) -> tuple[dict[date, str], frozenset[date]]:
    calendar = holidays.country_holidays("CN", years=year)
    named = {day: str(name) for day, name in calendar.items() if day.year == year}
    makeup = frozenset(day for day in calendar.weekend_workdays if day.year == year)
    return named, makeup


HOLIDAY_BREAK_REACH = 9


def _named(day: date) -> str | None:
    return _china(day.year)[0].get(day)


def _is_rest(day: date) -> bool:
    named, makeup = _china(day.year)
    return day in named or (day.weekday() >= 5 and day not in makeup)


def _break_name(day: date) -> str | None:
    """The holiday whose break a weekend day belongs to: the official notices count the
    weekend inside a break (National Day: 1-7 October) as part of the holiday."""
    for step in (-1, 1):
        current = day
        for _ in range(HOLIDAY_BREAK_REACH):
            current += timedelta(days=step)
            if not _is_rest(current):
                break
            name = _named(current)
            if name:
                return name.split(" (")[0]
    return None


def official_day(day: date) -> OfficialDay:
    """The official classification from the ``holidays`` package's China calendar."""
    named, makeup = _china(day.year)
    if day in named:
        return OfficialDay(day, "holiday", named[day])
    if day in makeup:
        return OfficialDay(day, "workday", "Make-up working day (调休)")
    if day.weekday() >= 5:
        name = _break_name(day)
        return OfficialDay(day, "holiday", name) if name else OfficialDay(day, "rest_day")
    return OfficialDay(day, "workday")


@dataclass(frozen=True, slots=True)
class Term:
    """A school term, inclusive of both dates; days outside every term are vacation."""

    starts_on: date
    ends_on: date
    name: str = ""


@dataclass(frozen=True, slots=True)
class DayCalendar:
    """Official days, corrected by staff, plus the terms of the partner owning a resource."""

    corrections: Mapping[date, OfficialDay] = field(default_factory=dict)
    terms: tuple[Term, ...] = ()

    def classify(self, day: date) -> OfficialDay:
        return self.corrections.get(day) or official_day(day)

    def in_term(self, day: date) -> bool:
        return any(term.starts_on <= day <= term.ends_on for term in self.terms)

    def day_types(self, day: date) -> frozenset[DayType]:
        kind = self.classify(day).kind
        types: set[DayType] = {"rest_day", "holiday"} if kind == "holiday" else {kind}
        types.add("school_day" if kind == "workday" and self.in_term(day) else "non_school_day")
        return frozenset(types)


def days_between(first: date, last: date) -> Iterable[date]:
    """Every date from ``first`` to ``last`` inclusive."""
    current = first
    while current <= last:
        yield current
        current += timedelta(days=1)
