"""Use cases for calendar feeds: a resident's personal feed behind a secret URL token, and a
resource's calendar for the people who run it.

Calendar apps subscribe to a URL and send no headers, so the personal feed's token *is* the
credential: it is random (256 bits), shown once, and revocable. A feed never shows other
people's names; the resource calendar does, so it is for the resource's partner and staff.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.core import ical
from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import ACTIVE, Booking
from scheduler.db.bookings import FeedToken as FeedTokenRow
from scheduler.errors import FieldError, NotFound, ValidationFailed
from scheduler.feeds import schemas
from scheduler.feeds.repositories import CalendarRepository, CalendarRow, FeedTokenRepository
from scheduler.partners.repositories import PartnerRepository
from scheduler.resources.services import ResourceService
from scheduler.timeparams import parse_bound

FEED_PATH = "/api/v1/feeds"
FEED_SUFFIX = ".ics"
DAYS_BACK = 30
DAYS_AHEAD = 180
MAX_SPAN_DAYS = 366
MAX_EVENTS = 5000
# What token_urlsafe makes; anything else cannot be a token (and NUL would upset PostgreSQL).
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Bookings that hold or used the place: what a partner plans staff and gates around.
RESOURCE_STATUSES = (*ACTIVE, "completed")
PERSONAL_NAME = "周家渡共享设施预约 Zhoujiadu bookings"


def token_digest(token: str) -> str:
    """What is stored of a feed token: its SHA-256, hex. The token is 256 random bits, so a
    plain hash is enough (nothing to brute-force, unlike a password)."""
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(public_url: str, token: str) -> str:
    return f"{public_url}{FEED_PATH}/{token}{FEED_SUFFIX}"


def default_span(now: datetime) -> TimeRange:
    """What a feed shows: the last 30 days and the next 180."""
    return TimeRange(now - timedelta(days=DAYS_BACK), now + timedelta(days=DAYS_AHEAD))


def requested_span(
    start_text: str | None, end_text: str | None, zone: ZoneInfo, now: datetime
) -> TimeRange:
    """``from``/``to`` as in availability (local dates or instants), defaulting to the feed
    span; at most a year, so one request cannot ask for the whole history."""
    default = default_span(now)
    start = parse_bound(start_text, "from", zone, is_end=False) if start_text else default.start
    end = parse_bound(end_text, "to", zone, is_end=True) if end_text else default.end
    if end <= start:
        raise ValidationFailed([FieldError("to", "must be after from")])
    if end - start > timedelta(days=MAX_SPAN_DAYS):
        raise ValidationFailed(
            [FieldError("to", f"the range may span at most {MAX_SPAN_DAYS} days")]
        )
    return TimeRange(start, end)


def place(row: CalendarRow) -> str:
    """``篮球场 Court 2``: the resource and, when it matters, the unit."""
    return f"{row.resource.name} {row.booking.unit}" if row.booking.unit else row.resource.name


def location(row: CalendarRow) -> str:
    return ", ".join(part for part in (row.resource.name, row.resource.address) if part)


def entry(row: CalendarRow, summary: str, details: list[str]) -> ical.Entry:
    booking = row.booking
    lines = [
        f"状态 Status: {ical.status_line(booking.status)}",
        f"人数 Quantity: {booking.quantity}",
        *details,
        f"预约号 Booking: {booking.id}",
    ]
    return ical.Entry(
        booking_id=booking.id,
        version=booking.version,
        status=booking.status,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        timezone=row.resource.timezone,
        updated_at=booking.updated_at,
        created_at=booking.created_at,
        summary=summary,
        location=location(row),
        description="\n".join(lines),
    )


def personal_entry(row: CalendarRow) -> ical.Entry:
    """The holder's own view: where, and whose facility it is; nobody else's name."""
    details = [f"场地提供方 Partner: {row.partner_name}"]
    if row.booking.note:
        details.append(f"备注 Note: {row.booking.note}")
    return entry(row, f"{place(row)} — {row.partner_name}", details)


def holder_label(booking: Booking) -> str:
    suffix = f" ×{booking.quantity}" if booking.quantity > 1 else ""
    return f"{booking.holder_name or booking.holder_id}{suffix}"


def resource_entry(row: CalendarRow) -> ical.Entry:
    """The partner's view: who holds the place, and who booked it for them."""
    booking = row.booking
    holder = holder_label(booking)
    details = [f"预约人 Holder: {holder}"]
    if booking.created_by != booking.holder_id:
        details.append(f"代订 Booked by: {booking.created_by}")
    return entry(row, f"{holder} — {place(row)}", details)


class FeedService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tokens = FeedTokenRepository(session)
        self.calendar = CalendarRepository(session)

    async def issue(
        self,
        caller: Principal,
        public_url: str,
        now: datetime,
        options: schemas.FeedTokenCreate | None = None,
    ) -> schemas.FeedToken:
        """A new feed token for the caller's own bookings; earlier tokens stay valid. Only its
        hash is stored: the token is shown here, once."""
        token = secrets.token_urlsafe(32)
        days = options.expires_in_days if options is not None else None
        expires_at = now + timedelta(days=days) if days else None
        self.tokens.add(
            FeedTokenRow(
                token_hash=token_digest(token),
                user_id=caller.sub,
                created_at=now,
                expires_at=expires_at,
            )
        )
        await self.session.flush()
        return schemas.FeedToken(
            token=token, url=feed_url(public_url, token), created_at=now, expires_at=expires_at
        )

    async def revoke(self, token_text: str, caller: Principal, now: datetime) -> None:
        """Stop a feed for good. Someone else's token is reported as missing, not forbidden,
        so the answer tells nothing about tokens the caller does not hold."""
        token = await self._live(token_text, now)
        if token is None or token.user_id != caller.sub:
            raise NotFound("No such feed token.")
        token.revoked_at = now
        await self.session.flush()

    async def revoke_all(self, user_id: str, now: datetime) -> schemas.FeedsRevoked:
        """Staff: stop every feed of a person (a lost phone, a leaked URL, a moved resident)."""
        return schemas.FeedsRevoked(revoked=await self.tokens.revoke_all(user_id, now))

    async def personal_calendar(self, token_text: str, now: datetime) -> bytes:
        """The token holder's bookings in the feed span, in every status."""
        token = await self._live(token_text, now)
        if token is None:
            raise NotFound("No such calendar feed; it may have been revoked.")
        rows = await self.calendar.rows(default_span(now), MAX_EVENTS, holder_id=token.user_id)
        return ical.build_calendar(PERSONAL_NAME, [personal_entry(row) for row in rows])

    async def resource_calendar(
        self,
        resource_id: str,
        caller: Principal,
        start_text: str | None,
        end_text: str | None,
        now: datetime,
    ) -> bytes:
        """Bookings holding (or that held) the resource, with holder names: its partner's,
        staff's and admins' view."""
        resource, _ = await ResourceService(self.session).get_managed(resource_id, caller)
        span = requested_span(start_text, end_text, ZoneInfo(resource.timezone), now)
        partner = await PartnerRepository(self.session).get(resource.partner_id)
        partner_name = partner.name if partner else resource.partner_id
        rows = await self.calendar.rows(
            span, MAX_EVENTS, resource_id=resource_id, statuses=RESOURCE_STATUSES
        )
        name = f"{resource.name} — {partner_name}"
        return ical.build_calendar(name, [resource_entry(row) for row in rows])

    async def _live(self, token_text: str, now: datetime) -> FeedTokenRow | None:
        token = token_text.removesuffix(FEED_SUFFIX)
        if not TOKEN_SHAPE.match(token):
            return None
        return await self.tokens.get_live(token_digest(token), now)
