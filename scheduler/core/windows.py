"""Opening windows: recurring local-time intervals, expanded into real (UTC) intervals.

A window is wall-clock time in the resource's IANA zone (``18:00-21:00``); an end at or
before the start ends on the next day (tidal parking ``18:00-08:00``). A date is open when
it matches the RRULE (if any) and any listed day type (if any). RRULEs are never expanded
unbounded: only between two dates, with ``UNTIL`` clamped to the range.
"""

from __future__ import annotations

import calendar as month_calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

from scheduler.core.calendar import DAY_TYPES, DayCalendar, days_between
from scheduler.core.timerange import TimeRange

ALLOWED_RULE_PARTS = frozenset(
    {"FREQ", "INTERVAL", "BYDAY", "BYMONTH", "BYMONTHDAY", "UNTIL", "WKST"}
)
ALLOWED_FREQUENCIES = {"DAILY": DAILY, "WEEKLY": WEEKLY, "MONTHLY": MONTHLY, "YEARLY": YEARLY}
MAX_RULE_LENGTH = 300
MAX_INTERVAL = 366
AUDIENCE_KINDS = ("residents", "public", "visitors")


@dataclass(frozen=True, slots=True)
class Window:
    """One opening window of a resource, as plain values."""

    id: str
    start_time: time
    end_time: time
    rrule: str | None = None
    day_types: tuple[str, ...] = ()
    valid_from: date | None = None
    valid_until: date | None = None
    audience: tuple[str, ...] = ("residents",)
    capacity: int | None = None
    label: str = ""

    @property
    def crosses_midnight(self) -> bool:
        return self.end_time <= self.start_time


def parse_clock(text: str, *, is_end: bool) -> time:
    """``HH:MM`` local time; an end may be ``24:00`` (midnight ending the day)."""
    hours, sep, minutes = text.partition(":")
    if not (
        sep and len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit()
    ):
        raise ValueError("must be HH:MM")
    if is_end and text == "24:00":
        return time(0, 0)
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(
            "must be a time between 00:00 and 23:59" + (" (or 24:00)" if is_end else "")
        )
    return time(int(hours), int(minutes))


def clock_problems(start_text: str, end_text: str) -> list[tuple[str, str]]:
    """Problems with a window's local start and end times."""
    found: list[tuple[str, str]] = []
    for field, text, is_end in (("start_time", start_text, False), ("end_time", end_text, True)):
        try:
            parse_clock(text, is_end=is_end)
        except ValueError as exc:
            found.append((field, str(exc)))
    if (
        not found
        and parse_clock(start_text, is_end=False) == parse_clock(end_text, is_end=True)
        and end_text != "24:00"
    ):
        found.append(("end_time", "zero-length window; for a whole day use 00:00-24:00"))
    return found


_WEEKDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL = re.compile(r"^(\d{8})(T\d{6}Z?)?$")
_ORDINAL_LIMIT = {"MONTHLY": 5, "YEARLY": 53}
FEASIBILITY_YEARS = 4


def rule_parts(text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for chunk in text.strip().removeprefix("RRULE:").split(";"):
        key, sep, value = chunk.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"malformed part {chunk!r}; expected NAME=VALUE")
        parts[key.strip().upper()] = value.strip().upper()
    return parts


def _numbers(value: str, name: str, low: int, high: int) -> list[int]:
    numbers = []
    for item in value.split(","):
        if not item.lstrip("+-").isdigit() or not item.isascii():
            raise ValueError(f"{name} must list integers")
        number = int(item)
        if not (low <= abs(number) <= high) or (number < 0 and name != "BYMONTHDAY"):
            raise ValueError(f"{name} values must be between {low} and {high}")
        numbers.append(number)
    return numbers


def _check_values(parts: dict[str, str]) -> None:
    """Refuse values that can never match: dateutil would search to year 9999 for them."""
    months = _numbers(parts.get("BYMONTH", "1,2,3,4,5,6,7,8,9,10,11,12"), "BYMONTH", 1, 12)
    if "BYMONTHDAY" in parts:
        days = _numbers(parts["BYMONTHDAY"], "BYMONTHDAY", 1, 31)
        longest = {month: month_calendar.monthrange(2024, month)[1] for month in months}
        if not any(abs(day) <= longest[month] for day in days for month in months):
            raise ValueError("BYMONTHDAY never occurs in the chosen months")
    for item in parts.get("BYDAY", "").split(",") if "BYDAY" in parts else []:
        match = _WEEKDAY.match(item)
        if not match:
            raise ValueError(f"BYDAY value {item!r} is not a weekday such as MO or -1FR")
        if match.group(1):
            limit = _ORDINAL_LIMIT.get(parts["FREQ"])
            ordinal = abs(int(match.group(1)))
            if limit is None or not 1 <= ordinal <= limit:
                raise ValueError(
                    "numbered BYDAY (like 1MO) needs FREQ=MONTHLY (1-5) or YEARLY (1-53)"
                )
            if "BYMONTHDAY" in parts:
                raise ValueError("numbered BYDAY cannot be combined with BYMONTHDAY")
    if "UNTIL" in parts and not _UNTIL.match(parts["UNTIL"]):
        raise ValueError("UNTIL must be a date such as 20261231 (or 20261231T000000Z)")


def _normalized(text: str) -> str:
    """The rule with UNTIL reduced to its date: windows repeat by local day."""
    parts = rule_parts(text)
    if "UNTIL" in parts:
        parts["UNTIL"] = parts["UNTIL"][:8]
    return ";".join(f"{key}={value}" for key, value in parts.items())


def rule_problems(text: str, valid_from: date | None) -> str | None:
    """Why an RRULE is unacceptable, or None. Only day-level rules of bounded cost pass."""
    if len(text) > MAX_RULE_LENGTH:
        return f"longer than {MAX_RULE_LENGTH} characters"
    if not text.isascii():
        return "must be ASCII"
    try:
        parts = rule_parts(text)
        unknown = set(parts) - ALLOWED_RULE_PARTS
        if unknown:
            allowed = ", ".join(sorted(ALLOWED_RULE_PARTS))
            return f"unsupported part(s) {', '.join(sorted(unknown))}; allowed: {allowed}"
        if parts.get("FREQ") not in ALLOWED_FREQUENCIES:
            return "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY (windows repeat by day)"
        _numbers(parts.get("INTERVAL", "1"), "INTERVAL", 1, MAX_INTERVAL)
        _check_values(parts)
        anchor = datetime.combine(valid_from or date(2026, 1, 1), time())
        rule = rrulestr(_normalized(text), dtstart=anchor)
        horizon = anchor.replace(year=anchor.year + FEASIBILITY_YEARS)
        first = rule.after(anchor, inc=True)
        if first is None or first > horizon:
            return f"never occurs within {FEASIBILITY_YEARS} years of its start"
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return f"not a valid RFC 5545 rule: {exc}"
    if anchored(parts) and valid_from is None:
        return "this rule depends on its start date (INTERVAL > 1, or no BYDAY): set valid_from"
    return None


def anchored(parts: dict[str, str]) -> bool:
    """True when occurrences depend on DTSTART, which is then ``valid_from``."""
    if int(parts.get("INTERVAL", "1")) > 1:
        return True
    freq = parts["FREQ"]
    if freq == "WEEKLY":
        return "BYDAY" not in parts
    if freq in ("MONTHLY", "YEARLY"):
        return "BYDAY" not in parts and "BYMONTHDAY" not in parts
    return False


def window_problems(window: Window) -> list[tuple[str, str]]:
    """Everything wrong with a window, as ``(field, message)`` pairs."""
    found: list[tuple[str, str]] = []
    if window.rrule is None and not window.day_types:
        found.append(("rrule", "give an rrule, day_types, or both"))
    if window.rrule is not None:
        problem = rule_problems(window.rrule, window.valid_from)
        if problem:
            found.append(("rrule", problem))
    for day_type in window.day_types:
        if day_type not in DAY_TYPES:
            found.append(
                ("day_types", f"unknown day type {day_type!r}; one of {', '.join(DAY_TYPES)}")
            )
    if window.valid_from and window.valid_until and window.valid_until < window.valid_from:
        found.append(("valid_until", "must not be before valid_from"))
    if not window.audience:
        found.append(("audience", "must not be empty"))
    return found


def _months(day: date) -> int:
    return day.year * 12 + day.month - 1


def _fast_forward(anchor: date, first: date, parts: dict[str, str]) -> tuple[date, dict[str, str]]:
    """Move a rule's start forward by whole periods to just before ``first``, keeping its
    phase, so expansion costs the same for a window valid since 2000 as for one valid since
    last week (dateutil walks every period from DTSTART, even those before the range).

    Daily and weekly rules move by whole multiples of their interval in days (a weekly rule
    keeps its weekday and week start). Monthly and yearly rules move to the first day of a
    month (or year) in phase; the day (and month) the original start implied is written
    into the rule first, as RFC 5545 derives them from DTSTART when BYDAY and BYMONTHDAY
    are absent."""
    if anchor >= first:
        return anchor, parts
    freq, interval = parts["FREQ"], int(parts.get("INTERVAL", "1"))
    if freq in ("DAILY", "WEEKLY"):
        step = interval * (7 if freq == "WEEKLY" else 1)
        return anchor + timedelta(days=(first - anchor).days // step * step), parts
    implied = dict(parts)
    if "BYDAY" not in parts and "BYMONTHDAY" not in parts:
        implied["BYMONTHDAY"] = str(anchor.day)
        if freq == "YEARLY":
            implied.setdefault("BYMONTH", str(anchor.month))
    if freq == "MONTHLY":
        months = _months(first) - _months(anchor)
        target = _months(anchor) + months // interval * interval
        return date(target // 12, target % 12 + 1, 1), implied
    years = (first.year - anchor.year) // interval * interval
    return date(anchor.year + years, 1, 1), implied


def _matching_rule_dates(window: Window, first: date, last: date) -> set[date] | None:
    """Dates in [first, last] matched by the RRULE; None when the window has no RRULE."""
    if window.rrule is None:
        return None
    parts = rule_parts(_normalized(window.rrule))
    anchor = window.valid_from if anchored(parts) and window.valid_from else first
    anchor, parts = _fast_forward(anchor, first, parts)
    text = ";".join(f"{key}={value}" for key, value in parts.items())
    rule = rrulestr(text, dtstart=datetime.combine(anchor, time()))
    assert isinstance(rule, rrule)
    if anchor > last:
        return set()
    bound = datetime.combine(last, time())
    until = getattr(rule, "_until", None)  # dateutil has no public accessor for UNTIL
    if until is not None:
        bound = min(bound, until.replace(tzinfo=None))
    clamped = rule.replace(until=bound)
    start = datetime.combine(first, time())
    return {moment.date() for moment in clamped.between(start, bound, inc=True)}


def open_dates(window: Window, calendar: DayCalendar, first: date, last: date) -> Iterator[date]:
    """Local dates in [first, last] on which an occurrence of ``window`` starts."""
    if window.valid_from:
        first = max(first, window.valid_from)
    if window.valid_until:
        last = min(last, window.valid_until)
    if first > last:
        return
    by_rule = _matching_rule_dates(window, first, last)
    wanted = set(window.day_types)
    for day in days_between(first, last):
        if by_rule is not None and day not in by_rule:
            continue
        if wanted and not wanted & calendar.day_types(day):
            continue
        yield day


def localize(day: date, clock_time: time, zone: ZoneInfo) -> datetime:
    """A local wall-clock time as an aware UTC instant (a time in a DST gap moves forward)."""
    naive = datetime.combine(day, clock_time)
    return naive.replace(tzinfo=zone).astimezone(UTC)


def occurrences(
    window: Window, calendar: DayCalendar, zone: ZoneInfo, span: TimeRange
) -> list[TimeRange]:
    """The real intervals of ``window`` that overlap ``span``, clipped to nothing: whole ones."""
    local_first = span.start.astimezone(zone).date() - timedelta(days=1)
    local_last = span.end.astimezone(zone).date()
    found: list[TimeRange] = []
    for day in open_dates(window, calendar, local_first, local_last):
        start = localize(day, window.start_time, zone)
        end_day = day + timedelta(days=1) if window.crosses_midnight else day
        end = localize(end_day, window.end_time, zone)
        if start < end:
            occurrence = TimeRange(start, end)
            if occurrence.overlaps(span):
                found.append(occurrence)
    return found
