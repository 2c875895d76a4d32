"""When slots become bookable: a rolling daily release or a weekly one.

Daily ``{"days_ahead": 7, "at": "09:00"}``: slots on local date D open at 09:00 on D - 7.
Weekly ``{"weekday": "MON", "at": "12:00", "weeks_ahead": 1}``: slots in the week (Monday to
Sunday) containing D open on that weekday at 12:00, ``weeks_ahead`` weeks before that week.
Release is decided from the clock at request time, never by a job having fired.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import msgspec

from scheduler.core.windows import localize, parse_clock

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
ClockText = Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["09:00"])]


class EarlyAccess(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """People tagged ``tag`` (e.g. ``elderly``) may book ``minutes`` before everyone else."""

    tag: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    minutes: Annotated[int, msgspec.Meta(ge=1, le=7 * 1440)]


class ReleasePolicy(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Either ``days_ahead`` (daily) or ``weekday`` + ``weeks_ahead`` (weekly), with ``at``."""

    at: ClockText = "00:00"
    days_ahead: Annotated[int, msgspec.Meta(ge=0, le=366)] | None = None
    weekday: Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"] | None = None
    weeks_ahead: Annotated[int, msgspec.Meta(ge=0, le=52)] = 1
    early_access: Annotated[list[EarlyAccess], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=list
    )


def head_start(release: ReleasePolicy | None, tags: tuple[str, ...]) -> timedelta:
    """How much earlier than everyone else a person with ``tags`` may book."""
    if release is None:
        return timedelta(0)
    minutes = [grant.minutes for grant in release.early_access if grant.tag in tags]
    return timedelta(minutes=max(minutes, default=0))


def release_problems(release: ReleasePolicy) -> list[tuple[str, str]]:
    if (release.days_ahead is None) == (release.weekday is None):
        return [("policy.release", "give either days_ahead (daily) or weekday (weekly)")]
    return []


def releases_at(release: ReleasePolicy, slot_day: date, zone: ZoneInfo) -> datetime:
    """The instant slots starting on local date ``slot_day`` become bookable."""
    at = parse_clock(release.at, is_end=False)
    if release.days_ahead is not None:
        return localize(slot_day - timedelta(days=release.days_ahead), at, zone)
    assert release.weekday is not None
    week_start = slot_day - timedelta(days=slot_day.weekday())
    release_day = (
        week_start
        - timedelta(weeks=release.weeks_ahead)
        + timedelta(days=WEEKDAYS.index(release.weekday))
    )
    return localize(release_day, at, zone)
