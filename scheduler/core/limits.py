"""The service's documented input and output limits, as plain values and pure checks.

Every list a client may send has a maximum length, every date and instant a sane range, and
every response a maximum size, so no single request can make the service allocate, compute
or send without bound. docs/reliability.md lists each limit; this module is their one home.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from itertools import accumulate

# Dates and instants. Year 1 and 9999 overflow as soon as an offset or a day is added to
# them; nothing this service schedules lies outside this century.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)
EARLIEST_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(2101, 1, 1, tzinfo=UTC)
DATE_RANGE_TEXT = f"between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}"

# Lists in request bodies.
MAX_AUDIENCE_CODES = 50  # community codes in one window's audience
MAX_ELIGIBLE_TAGS = 20  # tags in a resource policy's eligible_tags
MAX_TAG_LENGTH = 64  # characters in one tag

# Bodies: JSON nested deeper than this is refused before it is decoded.
MAX_JSON_DEPTH = 32

# Per resource (defaults of the settings SCHEDULER_MAX_WINDOWS_PER_RESOURCE and
# SCHEDULER_MAX_CLOSURES_PER_RESOURCE).
DEFAULT_MAX_WINDOWS_PER_RESOURCE = 50
DEFAULT_MAX_CLOSURES_PER_RESOURCE = 1000

# Responses and the work behind them. Availability counts window slots: each granule of each
# window occurrence in the range, once per window that opens it, before making any. One
# resource's availability may hold at most MAX_WINDOW_SLOTS (62 days of 15-minute slots
# around the clock is 5,952), a search at most MAX_SEARCH_WINDOW_SLOTS over all of its
# resources; beyond that the request is refused with 422 ``limit_exceeded``. Slots never
# outnumber window slots, so these also bound the size of the answer.
MAX_WINDOW_SLOTS = 10_000
MAX_SEARCH_WINDOW_SLOTS = 20_000
# A closure's answer lists at most this many of the active bookings it overlaps.
MAX_AFFECTED_LISTED = 200


def date_problem(value: date) -> str | None:
    """Why a date or an instant is out of the accepted range, or None."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return None  # naive values are refused by their own rule
        try:
            moment = value.astimezone(UTC)
        except OverflowError:
            return f"must be {DATE_RANGE_TEXT}"
        if not EARLIEST_INSTANT <= moment < LATEST_INSTANT:
            return f"must be {DATE_RANGE_TEXT}"
        return None
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        return f"must be {DATE_RANGE_TEXT}"
    return None


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def nests_too_deep(body: bytes) -> bool:
    """Whether a JSON document nests arrays and objects deeper than ``MAX_JSON_DEPTH``, read
    from its brackets outside strings (decoding it to find out would itself recurse)."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(_STEP[byte] for byte in brackets), default=0) > MAX_JSON_DEPTH
