"""Expanding a booking series: the first occurrence repeated by an RRULE in local wall time."""

from __future__ import annotations

from datetime import UTC, date
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from scheduler.core.timerange import TimeRange
from scheduler.core.windows import rule_parts, rule_problems

MAX_OCCURRENCES = 62


def _rule_text(parts: dict[str, str]) -> str:
    return ";".join(f"{key}={value}" for key, value in parts.items())


def series_problems(rule: str, first_day: date) -> str | None:
    """Why a series rule is unacceptable. It must be bounded by exactly one of COUNT (at most
    62) or UNTIL (a local date, inclusive) and otherwise follow the window rule subset."""
    try:
        parts = rule_parts(rule)
    except ValueError as exc:
        return str(exc)
    if ("COUNT" in parts) == ("UNTIL" in parts):
        return "give exactly one of COUNT or UNTIL"
    count = parts.pop("COUNT", None)
    if count is not None and not (
        count.isascii() and count.isdigit() and 1 <= int(count) <= MAX_OCCURRENCES
    ):
        return f"COUNT must be between 1 and {MAX_OCCURRENCES}"
    return rule_problems(_rule_text(parts), first_day)


def expand_series(first: TimeRange, rule: str, zone: ZoneInfo) -> list[TimeRange]:
    """Occurrences of ``first`` repeated by ``rule`` (validated by ``series_problems``): same
    local start time and local length, so an 18:00-08:00 night stays 18:00-08:00 across a
    daylight-saving change. At most ``MAX_OCCURRENCES + 1`` are returned, so callers can
    refuse longer series. An occurrence lying wholly in an hour that a spring clock change
    skips does not exist that day and is left out."""
    local_start = first.start.astimezone(zone).replace(tzinfo=None)
    local_length = first.end.astimezone(zone).replace(tzinfo=None) - local_start
    parts = rule_parts(rule)
    if "UNTIL" in parts:
        parts["UNTIL"] = parts["UNTIL"][:8] + "T235959"
    found: list[TimeRange] = []
    for start in rrulestr(_rule_text(parts), dtstart=local_start):
        if len(found) > MAX_OCCURRENCES:
            break
        begins = start.replace(tzinfo=zone).astimezone(UTC)
        ends = (start + local_length).replace(tzinfo=zone).astimezone(UTC)
        if begins < ends:
            found.append(TimeRange(begins, ends))
    return found
