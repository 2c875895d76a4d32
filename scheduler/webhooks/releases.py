"""``release.opened``: announce each release instant of a resource once it has passed.

Release is decided from the clock at request time (see ``core.release``); no transaction
happens at the instant, so nothing writes an event then. This scan derives the event from
the policy instead: every release instant in the last ``LOOKBACK`` that has no
``release.opened`` in the outbox yet gets one. Running it again changes nothing; a process
that was down for less than ``LOOKBACK`` catches up on its return.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.core.release import WEEKDAYS, ReleasePolicy
from scheduler.core.windows import localize, parse_clock
from scheduler.db.catalogue import Resource
from scheduler.outbox.repositories import OutboxRepository
from scheduler.webhooks.repositories import OutboxQueue, ResourceReader

EVENT = "release.opened"
LOOKBACK = timedelta(days=1)


def dates_opened(release: ReleasePolicy, release_day: date) -> list[date]:
    """The local dates whose slots open at ``release.at`` on ``release_day`` (the inverse of
    ``core.release.releases_at``); empty on days without a release."""
    if release.days_ahead is not None:
        return [release_day + timedelta(days=release.days_ahead)]
    if release.weekday is None or release_day.weekday() != WEEKDAYS.index(release.weekday):
        return []
    week = (
        release_day - timedelta(days=release_day.weekday()) + timedelta(weeks=release.weeks_ahead)
    )
    return [week + timedelta(days=offset) for offset in range(7)]


def releases_between(
    release: ReleasePolicy, zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, list[date]]]:
    """Release instants in ``(start, end]``, each with the local dates it opens."""
    at = parse_clock(release.at, is_end=False)
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    found: list[tuple[datetime, list[date]]] = []
    while day <= last:
        instant = localize(day, at, zone)
        opened = dates_opened(release, day)
        if opened and start < instant <= end:
            found.append((instant, opened))
        day += timedelta(days=1)
    return found


class ReleaseAnnouncer:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.outbox = OutboxRepository(session)

    async def announce_due(self, now: datetime) -> int:
        """Emit ``release.opened`` for every unannounced release instant of the last
        ``LOOKBACK`` (never one from before the resource existed); returns how many."""
        since = now - LOOKBACK
        payloads = await OutboxQueue(self.session).payloads_since(EVENT, since)
        announced = {(p.get("resource_id"), p.get("release_at")) for p in payloads}
        emitted = 0
        for resource in await ResourceReader(self.session).with_release():
            release = msgspec.convert(resource.policy["release"], ReleasePolicy)
            zone = ZoneInfo(resource.timezone)
            for instant, dates in releases_between(
                release, zone, max(since, resource.created_at), now
            ):
                if (resource.id, instant.isoformat()) not in announced:
                    self._emit(resource, instant, dates, now)
                    emitted += 1
        await self.session.flush()
        return emitted

    def _emit(
        self, resource: Resource, instant: datetime, dates: list[date], now: datetime
    ) -> None:
        payload = {
            "resource_id": resource.id,
            "resource_name": resource.name,
            "partner_id": resource.partner_id,
            "release_at": instant.isoformat(),
            "timezone": resource.timezone,
            "dates": [day.isoformat() for day in dates],
        }
        self.outbox.emit(
            EVENT, payload, now, resource_id=resource.id, partner_id=resource.partner_id
        )
