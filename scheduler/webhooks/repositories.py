"""Every query about webhook endpoints, deliveries, attempts, and the outbox they drain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from scheduler.db.bookings import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from scheduler.db.catalogue import Resource
from scheduler.db.statements import insert_ignoring_conflicts

# SQLite allows 32766 bound parameters per statement; a delivery row binds 8.
INSERT_CHUNK = 1000


class EndpointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, endpoint: WebhookEndpoint) -> None:
        self.session.add(endpoint)

    async def get(self, endpoint_id: str) -> WebhookEndpoint | None:
        return await self.session.get(WebhookEndpoint, endpoint_id)

    async def page(
        self, partner_id: str | None, limit: int, offset: int
    ) -> tuple[list[WebhookEndpoint], int]:
        """Endpoints of one partner, or of everyone when ``partner_id`` is None."""
        query = select(WebhookEndpoint)
        if partner_id is not None:
            query = query.where(WebhookEndpoint.partner_id == partner_id)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        ordered = query.order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        rows = await self.session.scalars(ordered.limit(limit).offset(offset))
        return list(rows), int(total or 0)

    async def count_of(self, partner_id: str) -> int:
        """How many endpoints one partner has."""
        query = select(func.count()).where(WebhookEndpoint.partner_id == partner_id)
        return int(await self.session.scalar(query) or 0)

    async def active(self) -> list[WebhookEndpoint]:
        query = select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))
        return list(await self.session.scalars(query.order_by(WebhookEndpoint.id)))

    async def delete(self, endpoint: WebhookEndpoint) -> None:
        """Deliveries and attempts go with it (ON DELETE CASCADE)."""
        await self.session.delete(endpoint)


class OutboxQueue:
    """The outbox as a queue: events not yet fanned out to endpoints."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def undispatched(self, limit: int) -> list[OutboxEvent]:
        """Oldest first; rows another fan-out holds are skipped rather than waited for."""
        query = (
            select(OutboxEvent)
            .where(OutboxEvent.dispatched_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(await self.session.scalars(query))

    async def mark_dispatched(self, event_ids: Sequence[int], now: datetime) -> None:
        await self.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(event_ids))
            .values(dispatched_at=now)
            .execution_options(synchronize_session=False)
        )

    async def payloads_since(self, event_type: str, since: datetime) -> list[dict[str, Any]]:
        query = select(OutboxEvent.payload).where(
            OutboxEvent.type == event_type, OutboxEvent.created_at >= since
        )
        return list(await self.session.scalars(query))


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_new(self, rows: list[dict[str, Any]]) -> int:
        """Insert deliveries; one already made for an (endpoint, event) pair is left alone."""
        table: Any = WebhookDelivery.__table__
        inserted = 0
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            inserted += await insert_ignoring_conflicts(self.session, table, chunk)
        return inserted

    async def due(
        self, now: datetime, limit: int, per_endpoint: int
    ) -> list[tuple[WebhookDelivery, OutboxEvent, WebhookEndpoint]]:
        """Pending deliveries whose time has come, in event order, at most one per (endpoint,
        booking): a delivery waits while an earlier event of its booking is still pending for
        the same endpoint, or not yet fanned out, so each endpoint sees a booking's events in
        the order they happened, even across retries. At most ``per_endpoint`` of one
        endpoint, so an endpoint with a long backlog leaves room for everyone else's."""
        delivery, event = aliased(WebhookDelivery), aliased(OutboxEvent)
        earlier, earlier_event = aliased(WebhookDelivery), aliased(OutboxEvent)
        unsent = aliased(OutboxEvent)
        waits_for_delivery = exists().where(
            earlier.endpoint_id == delivery.endpoint_id,
            earlier.status == "pending",
            earlier.event_id < delivery.event_id,
            earlier_event.id == earlier.event_id,
            earlier_event.booking_id == event.booking_id,
        )
        waits_for_fan_out = exists().where(
            unsent.booking_id == event.booking_id,
            unsent.id < event.id,
            unsent.dispatched_at.is_(None),
        )
        place = func.row_number().over(
            partition_by=delivery.endpoint_id, order_by=(delivery.event_id, delivery.id)
        )
        # Ranked in a subquery: PostgreSQL allows no window function beside FOR UPDATE.
        ranked = (
            select(delivery.id.label("id"), place.label("place"))
            .join(event, event.id == delivery.event_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == delivery.endpoint_id)
            .where(
                delivery.status == "pending",
                delivery.next_attempt_at <= now,
                WebhookEndpoint.active.is_(True),
                ~waits_for_delivery,
                ~waits_for_fan_out,
            )
            .subquery()
        )
        chosen = select(ranked.c.id).where(ranked.c.place <= per_endpoint)
        query = (
            select(WebhookDelivery, OutboxEvent, WebhookEndpoint)
            .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.id.in_(chosen),
                WebhookDelivery.status == "pending",
                WebhookEndpoint.active.is_(True),
            )
            .order_by(WebhookDelivery.event_id, WebhookDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        )
        rows = await self.session.execute(query)
        return [(row[0], row[1], row[2]) for row in rows]

    def add_attempt(self, attempt: WebhookAttempt) -> None:
        self.session.add(attempt)

    async def page(
        self, endpoint_id: str, status: str | None, limit: int, offset: int
    ) -> tuple[list[WebhookDelivery], int]:
        """One endpoint's deliveries, newest first."""
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        ordered = query.order_by(WebhookDelivery.event_id.desc(), WebhookDelivery.id.desc())
        rows = await self.session.scalars(ordered.limit(limit).offset(offset))
        return list(rows), int(total or 0)

    async def attempts_of(self, delivery_ids: Sequence[str]) -> dict[str, list[WebhookAttempt]]:
        """The attempts of each delivery, oldest first (at most ``MAX_ATTEMPTS`` each)."""
        found: dict[str, list[WebhookAttempt]] = {key: [] for key in delivery_ids}
        if not delivery_ids:
            return found
        query = (
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.at, WebhookAttempt.id)
        )
        for attempt in await self.session.scalars(query):
            found[attempt.delivery_id].append(attempt)
        return found


class ResourceReader:
    """The one resource query webhooks need (kept here so resources/ stays untouched)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def with_release(self) -> list[Resource]:
        """Live resources with a release policy (filtered in Python: JSON paths differ by
        dialect, and resources number in the hundreds)."""
        query = select(Resource).where(Resource.deleted_at.is_(None)).order_by(Resource.id)
        return [r for r in await self.session.scalars(query) if (r.policy or {}).get("release")]
