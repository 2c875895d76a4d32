"""Standing orders: a recurring pattern whose occurrences are booked as each is released.

Pure values: the pattern's occurrences between two local dates, the instant each becomes
bookable for a holder (its release moment), and which state changes are allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from scheduler.core.lifecycle import Actor, manages, serves
from scheduler.core.policy import Policy
from scheduler.core.release import WEEKDAYS, releases_at
from scheduler.core.timerange import TimeRange
from scheduler.core.windows import localize, parse_clock, rule_parts, rule_problems

MAX_OCCURRENCES = 200
MAX_SPAN_DAYS = 366

OrderStatus = Literal["active", "paused", "ended"]
Action = Literal["pause", "resume", "end"]
# What became of one occurrence: pending (its release moment has not come), booked (with
# the booking's id), refused (with the refusal), skipped (released while the order was
# paused) or ended (the order ended before its release moment).
Outcome = Literal["pending", "booked", "refused", "skipped", "ended"]

TRANSITIONS: dict[tuple[str, str], str] = {
    ("active", "pause"): "paused",
    ("paused", "resume"): "active",
    ("active", "end"): "ended",
    ("paused", "end"): "ended",
}


@dataclass(frozen=True, slots=True)
class Pattern:
    """Local wall times on the dates picked by ``weekdays`` or ``rrule`` (exactly one)."""

    start_time: str
    end_time: str
    weekdays: tuple[str, ...] = ()
    rrule: str | None = None


def pattern_problems(pattern: Pattern, first: date, last: date) -> list[tuple[str, str]]:
    """Everything wrong with a pattern bounded by local dates ``first``..``last``."""
    found: list[tuple[str, str]] = []
    try:
        parse_clock(pattern.start_time, is_end=False)
    except ValueError as exc:
        found.append(("start_time", str(exc)))
    try:
        parse_clock(pattern.end_time, is_end=True)
    except ValueError as exc:
        found.append(("end_time", str(exc)))
    if not found and pattern.start_time == pattern.end_time:
        found.append(("end_time", "must differ from start_time"))
    if bool(pattern.weekdays) == (pattern.rrule is not None):
        found.append(("weekdays", "give either weekdays or rrule"))
    unknown = [day for day in pattern.weekdays if day not in WEEKDAYS]
    if unknown:
        found.append(("weekdays", f"unknown weekday(s) {', '.join(unknown)}; use MON..SUN"))
    if pattern.rrule is not None:
        found += _rule_problems(pattern.rrule, first)
    if last < first:
        found.append(("until", "must not be before from"))
    elif (last - first).days >= MAX_SPAN_DAYS:
        found.append(("until", f"a standing order spans at most {MAX_SPAN_DAYS} days"))
    return found


def _rule_problems(rule: str, first: date) -> list[tuple[str, str]]:
    try:
        parts = rule_parts(rule)
    except ValueError as exc:
        return [("rrule", str(exc))]
    if "COUNT" in parts or "UNTIL" in parts:
        return [("rrule", "bound the order with from and until, not COUNT or UNTIL")]
    problem = rule_problems(rule, first)
    return [("rrule", problem)] if problem else []


def _dates(pattern: Pattern, first: date, last: date) -> list[date]:
    if pattern.rrule is not None:
        anchor = datetime.combine(first, time())
        rule = rrulestr(pattern.rrule, dtstart=anchor)
        end = datetime.combine(last, time(23, 59, 59))
        found: list[date] = []
        for moment in rule.xafter(anchor, count=MAX_OCCURRENCES + 1, inc=True):
            if moment > end:
                break
            found.append(moment.date())
        return found
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    return [day for day in days if WEEKDAYS[day.weekday()] in pattern.weekdays][
        : MAX_OCCURRENCES + 1
    ]


def expand(pattern: Pattern, first: date, last: date, zone: ZoneInfo) -> list[TimeRange]:
    """The occurrences of a valid pattern (at most ``MAX_OCCURRENCES + 1``, so callers can
    refuse longer orders). An end at or before the start time ends on the next day (a night)."""
    starts_at = parse_clock(pattern.start_time, is_end=False)
    ends_at = parse_clock(pattern.end_time, is_end=True)
    overnight = ends_at <= starts_at
    found = []
    for day in _dates(pattern, first, last):
        begins = localize(day, starts_at, zone)
        ends = localize(day + timedelta(days=1) if overnight else day, ends_at, zone)
        if begins < ends:
            found.append(TimeRange(begins, ends))
    return found


def release_moment(
    occurrence: TimeRange, policy: Policy, zone: ZoneInfo, head_start: timedelta
) -> datetime:
    """The first instant the holder may book ``occurrence``: when the horizon reaches it and,
    under a release rule, when its date is released (less the holder's early-access head
    start). On a lottery resource it is when an entry may first be made (the horizon):
    entries are drawn at the release, like anyone's."""
    moment = occurrence.start - timedelta(days=policy.horizon_days)
    if policy.release is not None and policy.allocation != "lottery":
        local_day = occurrence.start.astimezone(zone).date()
        moment = max(moment, releases_at(policy.release, local_day, zone) - head_start)
    return moment


def next_status(status: str, action: str) -> str | None:
    """The order's status after ``action``, or None when the action is not allowed."""
    return TRANSITIONS.get((status, action))


def may_see_order(
    actor: Actor, holder_id: str, created_by: str, partner_id: str, holder_community: str | None
) -> bool:
    """The holder, whoever created it, the resource's partner, a worker serving the holder's
    community and staff see (and may pause, resume or end) a standing order."""
    return (
        actor.sub in (holder_id, created_by)
        or manages(actor, partner_id)
        or serves(actor, holder_community)
    )
