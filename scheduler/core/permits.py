"""Permits: products sold ahead as a whole (a monthly night permit on a car park).

A resource's policy may offer a permit (``policy.permit``): every night of a calendar month,
``start_time`` to ``end_time`` (the next morning when the end is not after the start), on
one unit. Applications may reach ``permit_horizon_days`` ahead, beyond the ordinary
``horizon_days``. A month is released as a whole on ``release_day`` of the month
``release_months_before`` it, at ``release_at`` local time: applications made before are
decided together at that instant (in a seeded lottery order when ``lottery`` is on and
there are more applications than units, else first come first served); after it, a permit
is booked at once if a unit is free on every night. Pure: ``now`` is a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import msgspec

from scheduler.core import refusals as kinds
from scheduler.core.lottery import draw_order
from scheduler.core.refusals import Refusal, TimingFacts
from scheduler.core.timerange import TimeRange
from scheduler.core.windows import localize, parse_clock

ClockText = Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["18:00"])]
PERIOD_PATTERN = r"^(20\d\d)-(0[1-9]|1[0-2])$"
PermitState = Literal[
    "applied", "confirmed", "not_selected", "refused", "cancelled", "partly_cancelled"
]


class PermitPolicy(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A monthly permit of the resource (``policy.permit``)."""

    start_time: ClockText = "18:00"
    end_time: ClockText = "08:00"
    permit_horizon_days: Annotated[
        int,
        msgspec.Meta(ge=1, le=400, description="How far ahead a permit's last night may start"),
    ] = 62
    release_day: Annotated[int, msgspec.Meta(ge=1, le=28)] = 25
    release_at: ClockText = "09:00"
    release_months_before: Annotated[int, msgspec.Meta(ge=0, le=3)] = 1
    lottery: bool = True


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month, ``YYYY-MM``."""

    year: int
    month: int

    @property
    def text(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return _shift(self.first_day, 1) - timedelta(days=1)


def parse_period(text: str) -> Period:
    """``YYYY-MM`` as a Period (ValueError otherwise)."""
    found = re.fullmatch(PERIOD_PATTERN, text)
    if found is None:
        raise ValueError("must be a month as YYYY-MM")
    return Period(int(found.group(1)), int(found.group(2)))


def _shift(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def permit_problems(permit: PermitPolicy, granularity_minutes: int) -> list[tuple[str, str]]:
    """Cross-field problems: a night lasts whole slots."""
    if night_minutes(permit) % granularity_minutes:
        return [("policy.permit.end_time", "a night must last whole slots of the granularity")]
    return []


def night_minutes(permit: PermitPolicy) -> int:
    start = parse_clock(permit.start_time, is_end=False)
    end = parse_clock(permit.end_time, is_end=True)
    minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    return minutes if minutes > 0 else minutes + 1440


def releases_at(permit: PermitPolicy, period: Period, zone: ZoneInfo) -> datetime:
    """The instant the whole month ``period`` is released."""
    month = _shift(period.first_day, -permit.release_months_before)
    day = month.replace(day=permit.release_day)
    return localize(day, parse_clock(permit.release_at, is_end=False), zone)


def nights(permit: PermitPolicy, period: Period, zone: ZoneInfo) -> list[TimeRange]:
    """Every night of the month, in real (UTC) time."""
    start = parse_clock(permit.start_time, is_end=False)
    length = timedelta(minutes=night_minutes(permit))
    found, day = [], period.first_day
    while day <= period.last_day:
        local = datetime.combine(day, start)
        begins = localize(day, start, zone)
        ends = (local + length).replace(tzinfo=zone).astimezone(begins.tzinfo)
        found.append(TimeRange(begins, ends))
        day += timedelta(days=1)
    return found


def remaining_nights(
    permit: PermitPolicy, period: Period, zone: ZoneInfo, now: datetime, lead: timedelta
) -> list[TimeRange]:
    """The nights of ``period`` still bookable at ``now`` (starting at least ``lead`` later):
    a permit taken during its month covers the rest of it."""
    return [night for night in nights(permit, period, zone) if night.start >= now + lead]


def check_permit_horizon(permit: PermitPolicy, last_night: TimeRange, now: datetime) -> None:
    """The permit's last night must start within ``permit_horizon_days`` of ``now``."""
    latest = now + timedelta(days=permit.permit_horizon_days)
    if last_night.start > latest:
        raise Refusal(
            kinds.HORIZON,
            f"Apply for a permit at most {permit.permit_horizon_days} days ahead of its last "
            "night.",
            TimingFacts(
                rule="policy.permit.permit_horizon_days",
                limit=permit.permit_horizon_days,
                latest_start=latest,
            ),
        )


def allocation_order(
    application_ids: Sequence[str], seed: str, lottery: bool, units: int
) -> tuple[list[str], bool]:
    """The order in which applications are decided at a release, and whether it was drawn:
    a seeded shuffle when the lottery is on and there are more applications than units,
    else the order given (first come first served)."""
    if lottery and len(application_ids) > units:
        return draw_order(application_ids, seed), True
    return list(application_ids), False


def permit_state(stored: str, occurrence_statuses: Sequence[str]) -> PermitState:
    """A confirmed permit whose occurrences were cancelled from a date on is
    ``partly_cancelled``; all of them cancelled, ``cancelled``."""
    if stored != "confirmed" or not occurrence_statuses:
        return stored  # type: ignore[return-value]
    cancelled = sum(1 for status in occurrence_statuses if status == "cancelled")
    if cancelled == len(occurrence_statuses):
        return "cancelled"
    return "partly_cancelled" if cancelled else "confirmed"
