"""Rules about people rather than slots: suspensions and their scopes, fairness per person on
one resource and across a group of resources, and which no-shows count. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from scheduler.core.timerange import TimeRange

Scope = Literal["resource", "partner", "everywhere"]


@dataclass(frozen=True, slots=True)
class Suspension:
    """A person may not book in ``scope`` until ``until`` (``scope_id`` names the resource or
    partner; None for everywhere)."""

    scope: Scope
    scope_id: str | None
    until: datetime


def applies(suspension: Suspension, resource_id: str, partner_id: str) -> bool:
    """Whether ``suspension`` covers a resource of a partner."""
    if suspension.scope == "everywhere":
        return True
    if suspension.scope == "partner":
        return suspension.scope_id == partner_id
    return suspension.scope_id == resource_id


def suspended_until(
    suspensions: Iterable[Suspension], resource_id: str, partner_id: str, now: datetime
) -> datetime | None:
    """The end of the longest suspension covering the resource and still running at ``now``."""
    ends = [s.until for s in suspensions if s.until > now and applies(s, resource_id, partner_id)]
    return max(ends, default=None)


def scope_id_for(scope: Scope, resource_id: str, partner_id: str) -> str | None:
    """What a suspension of ``scope`` triggered on a resource is attached to."""
    return {"resource": resource_id, "partner": partner_id, "everywhere": None}[scope]


@dataclass(frozen=True, slots=True)
class NoShow:
    """One no-show as the suspension rule sees it."""

    resource_id: str
    partner_id: str
    self_made: bool
    excused: bool


def counts_toward(no_show: NoShow, scope: Scope, resource_id: str, partner_id: str) -> bool:
    """Whether a no-show counts toward a suspension of ``scope`` triggered on a resource.

    An excused no-show never counts. A booking the resident did not make themselves (made
    for them by staff, a worker or a partner) counts only on the resource where it happened,
    so it can never bar them from other facilities."""
    if no_show.excused:
        return False
    if scope == "resource" or not no_show.self_made:
        return no_show.resource_id == resource_id
    if scope == "partner":
        return no_show.partner_id == partner_id
    return True


@dataclass(frozen=True, slots=True)
class PersonUsage:
    """What the holder already has on this resource overlapping the request."""

    bookings: int = 0
    waiting: int = 0
    places: int = 0


@dataclass(frozen=True, slots=True)
class GroupUsage:
    """A group the resource belongs to, with the holder's use of it in the request's period."""

    group_id: str
    name: str
    max_bookings: int
    max_entries: int
    bookings: int = 0
    entries: int = 0


def group_period(period: str, zone: ZoneInfo, request: TimeRange) -> TimeRange:
    """The span a group limit counts over: the local day of the request's start, or the
    request itself (``overlap``)."""
    if period == "overlap":
        return request
    day: date = request.start.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    return TimeRange.utc(start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone))


def over_group_limit(groups: Sequence[GroupUsage], entering: bool) -> GroupUsage | None:
    """The first group whose limit the request would break: a booking past ``max_bookings``;
    an entry or waitlist place past ``max_entries``, or by someone who already holds as many
    bookings as the group allows (winning could not be kept)."""
    for group in groups:
        if entering and (
            group.entries + 1 > group.max_entries or group.bookings >= group.max_bookings
        ):
            return group
        if not entering and group.bookings + 1 > group.max_bookings:
            return group
    return None
