"""iCalendar (RFC 5545) documents from plain booking values: no database, no HTTP, no clock.

Calendar apps poll a subscribed feed and replace what they showed, matching events by
``UID``; a higher ``SEQUENCE`` tells them an event changed. So every value here is derived
from the booking itself (its id, its version, its last change), never from the moment the
feed is rendered: the same bookings always give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

PRODUCT_ID = "-//Zhoujiadu sub-district//Shared-resource scheduler//ZH"
UID_DOMAIN = "zhoujiadu-scheduler"
REFRESH_INTERVAL = timedelta(hours=1)

# Booking status -> iCalendar STATUS. Cancelled-like bookings stay in the feed as CANCELLED
# so calendar apps that kept an earlier copy of the event strike or remove it.
ICAL_STATUS = {
    "confirmed": "CONFIRMED",
    "checked_in": "CONFIRMED",
    "completed": "CONFIRMED",
    "pending": "TENTATIVE",
    "offered": "TENTATIVE",
    "entered": "TENTATIVE",
    "waitlisted": "TENTATIVE",
    "cancelled": "CANCELLED",
    "rejected": "CANCELLED",
    "expired": "CANCELLED",
    "no_show": "CANCELLED",
    "not_selected": "CANCELLED",
    "lapsed": "CANCELLED",
}

# What residents read in their calendar app: many use Chinese-only phones.
STATUS_LABEL = {
    "pending": "待审批",
    "confirmed": "已确认",
    "checked_in": "已签到",
    "completed": "已完成",
    "cancelled": "已取消",
    "rejected": "未通过",
    "expired": "已过期",
    "no_show": "未到场",
    "entered": "抽签中",
    "not_selected": "未中签",
    "waitlisted": "候补中",
    "offered": "候补待确认",
    "lapsed": "候补已失效",
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One booking as a calendar event. Instants are aware; ``timezone`` is the resource's."""

    booking_id: str
    version: int
    status: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    updated_at: datetime
    created_at: datetime
    summary: str
    location: str
    description: str


def booking_uid(booking_id: str) -> str:
    """The event's UID: stable for the booking's whole life, whatever changes."""
    return f"{booking_id}@{UID_DOMAIN}"


def ical_status(status: str) -> str:
    """``CONFIRMED``, ``TENTATIVE`` or ``CANCELLED`` for a booking status."""
    return ICAL_STATUS.get(status, "TENTATIVE")


def status_line(status: str) -> str:
    """``已确认 (confirmed)``: the Chinese label with the API's status name."""
    label = STATUS_LABEL.get(status)
    return f"{label} ({status})" if label else status


def titled(summary: str, status: str) -> str:
    """Prefix a non-confirmed event's title with its state: many apps ignore ``STATUS``."""
    if ical_status(status) == "CONFIRMED":
        return summary
    return f"[{STATUS_LABEL.get(status, status)}] {summary}"


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text: str) -> str:
    """Text for a single-line property (a name, a summary): control characters become one
    space. Names stored before they were refused may hold a newline, which some iCalendar
    properties do not escape, and a bare one ends the content line."""
    return _CONTROL.sub(" ", text)


def plain_text(text: str) -> str:
    """Multi-line text (a description): newlines stay (the TEXT value escapes them), every
    other control character becomes a space."""
    return _CONTROL_BUT_NEWLINE.sub(" ", text.replace("\r\n", "\n"))


def to_event(entry: Entry) -> Event:
    """The VEVENT of one entry, with local times in the entry's zone (``TZID``)."""
    zone = ZoneInfo(entry.timezone)
    status = ical_status(entry.status)
    event = Event()
    event.add("uid", booking_uid(entry.booking_id))
    event.add("sequence", entry.version)
    event.add("dtstamp", entry.updated_at)
    event.add("created", entry.created_at)
    event.add("last-modified", entry.updated_at)
    event.add("dtstart", entry.starts_at.astimezone(zone))
    event.add("dtend", entry.ends_at.astimezone(zone))
    event.add("summary", one_line(titled(entry.summary, entry.status)))
    if entry.location:
        event.add("location", one_line(entry.location))
    event.add("description", plain_text(entry.description))
    event.add("status", status)
    event.add("transp", "TRANSPARENT" if status == "CANCELLED" else "OPAQUE")
    return event


def build_calendar(name: str, entries: Sequence[Entry]) -> bytes:
    """A complete VCALENDAR named ``name`` with one VEVENT per entry and a VTIMEZONE for
    every zone used (clients must not guess zones: RFC 5545 §3.2.19), covering just the
    span of the entries so the document stays small."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("name", one_line(name))
    calendar.add("x-wr-calname", one_line(name))
    calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for entry in entries:
        calendar.add_component(to_event(entry))
    if entries:
        first = min(entry.starts_at for entry in entries).date() - timedelta(days=1)
        last = max(entry.ends_at for entry in entries).date() + timedelta(days=2)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    document: bytes = calendar.to_ical()
    return document
