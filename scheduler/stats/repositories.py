"""Every query of the usage reports and of the metrics scrape."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.core.people_report import Served
from scheduler.core.timerange import TimeRange
from scheduler.core.usage import BookedTime
from scheduler.db.bookings import Booking, OutboxEvent, WebhookDelivery
from scheduler.db.catalogue import Partner, Resource, User


class StatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def _in_scope(query: Select[tuple[str]], partner_id: str | None) -> Select[tuple[str]]:
        return query if partner_id is None else query.where(Resource.partner_id == partner_id)

    async def resources(
        self, partner_id: str | None, start: datetime, end: datetime
    ) -> list[tuple[Resource, Partner]]:
        """Resources that existed at some moment of ``[start, end)``, with their partner
        (all partners' when ``partner_id`` is None), including ones deleted since."""
        query = (
            select(Resource, Partner)
            .join(Partner, Partner.id == Resource.partner_id)
            .where(
                Resource.created_at < end,
                Resource.deleted_at.is_(None) | (Resource.deleted_at > start),
            )
            .order_by(Resource.id)
        )
        if partner_id is not None:
            query = query.where(Resource.partner_id == partner_id)
        return [(row[0], row[1]) for row in await self.session.execute(query)]

    async def bookings(
        self, partner_id: str | None, span: TimeRange
    ) -> dict[str, list[BookedTime]]:
        """Every booking overlapping ``span`` (any status), by resource id. Only the columns
        a report needs are read, so a year of bookings stays cheap."""
        resource_ids = self._in_scope(select(Resource.id), partner_id)
        query = select(
            Booking.resource_id,
            Booking.starts_at,
            Booking.ends_at,
            Booking.quantity,
            Booking.status,
        ).where(
            Booking.resource_id.in_(resource_ids.scalar_subquery()),
            Booking.starts_at < span.end,
            Booking.ends_at > span.start,
        )
        found: dict[str, list[BookedTime]] = {}
        for resource_id, starts_at, ends_at, quantity, status in await self.session.execute(query):
            found.setdefault(resource_id, []).append(
                BookedTime(TimeRange(starts_at, ends_at), quantity, status)
            )
        return found

    async def served(self, partner_id: str | None, span: TimeRange) -> list[Served]:
        """Bookings starting in ``span`` with their holder's community and tags now."""
        resource_ids = self._in_scope(select(Resource.id), partner_id)
        query = (
            select(
                Booking.holder_id,
                Booking.created_by,
                Booking.walk_in,
                Booking.status,
                User.community,
                User.tags,
            )
            .outerjoin(User, User.id == Booking.holder_id)
            .where(
                Booking.resource_id.in_(resource_ids.scalar_subquery()),
                Booking.starts_at >= span.start,
                Booking.starts_at < span.end,
            )
        )
        return [
            Served(
                holder, created_by == holder, bool(walk_in), status, community, tuple(tags or ())
            )
            for holder, created_by, walk_in, status, community, tags in await self.session.execute(
                query
            )
        ]

    async def outbox_backlog(self) -> int:
        """Events not yet fanned out plus webhook deliveries still pending: two indexed
        counts, cheap enough for every scrape."""
        events = (
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))
        )
        deliveries = (
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.status == "pending")
        )
        return int(await self.session.scalar(events) or 0) + int(
            await self.session.scalar(deliveries) or 0
        )
