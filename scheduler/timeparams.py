"""Reading instants and dates from query strings: offsets required, local dates allowed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from litestar.params import QueryParameter

from scheduler.core.limits import date_problem
from scheduler.core.timerange import TimeRange
from scheduler.errors import FieldError, ValidationFailed

_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")  # fromisoformat alone also takes weeks
FromParam = Annotated[
    str | None,
    QueryParameter(
        name="from",
        max_length=40,
        description="A date (local midnight of the resource) or an ISO 8601 instant with offset",
        examples=None,
    ),
]
ToParam = Annotated[
    str | None,
    QueryParameter(
        name="to",
        max_length=40,
        description="A date (inclusive: to the end of that local day) or an instant",
    ),
]


def parse_day(text: str, field: str) -> date:
    """A calendar date written exactly as ``YYYY-MM-DD``, in the accepted range."""
    try:
        if not _DAY.match(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed([FieldError(field, "not a valid date (YYYY-MM-DD)")]) from exc
    problem = date_problem(day)
    if problem:
        raise ValidationFailed([FieldError(field, problem)])
    return day


def parse_bound(text: str, field: str, zone: ZoneInfo, *, is_end: bool) -> datetime:
    """``2026-10-01`` is a local date (an end date includes the whole day); anything else must
    be an ISO 8601 instant with an offset. Naive datetimes are refused with 422, and so is
    anything outside the accepted range (``core.limits``)."""
    if len(text) == 10:
        day = parse_day(text, field)
        if is_end:
            day += timedelta(days=1)
        return datetime.combine(day, datetime.min.time()).replace(tzinfo=zone).astimezone(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed([FieldError(field, "not an ISO 8601 date or date-time")]) from exc
    if moment.tzinfo is None:
        raise ValidationFailed(
            [FieldError(field, "needs a UTC offset, e.g. 2026-10-01T18:00:00+08:00")]
        )
    problem = date_problem(moment)
    if problem:
        raise ValidationFailed([FieldError(field, problem)])
    return moment.astimezone(UTC)


def parse_span(
    start_text: str | None,
    end_text: str | None,
    zone: ZoneInfo,
    now: datetime,
    *,
    default_days: int,
    max_days: int,
) -> TimeRange:
    """The asked range: ``from`` defaults to now, ``to`` to ``default_days`` later; at most
    ``max_days`` long; reversed or empty ranges are 422."""
    start = parse_bound(start_text, "from", zone, is_end=False) if start_text else now
    end = (
        parse_bound(end_text, "to", zone, is_end=True)
        if end_text
        else start + timedelta(days=default_days)
    )
    if end <= start:
        raise ValidationFailed([FieldError("to", "must be after from")])
    if end - start > timedelta(days=max_days):
        raise ValidationFailed([FieldError("to", f"the range may span at most {max_days} days")])
    return TimeRange(start, end)
