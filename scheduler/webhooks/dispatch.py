"""Getting outbox events to webhook endpoints: fan-out, then signed delivery with retries.

``fan_out`` turns each committed outbox event into one delivery row per interested endpoint;
``deliver_due`` POSTs due deliveries and records every attempt. Both act on what is due at
``now`` and are safe to run again or concurrently: the unique (endpoint, event) pair makes
fan-out idempotent, and ``SKIP LOCKED`` keeps two workers off the same rows. Delivery is at
least once: a crash after the POST but before the commit sends it again with the same id.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import msgspec
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler import metrics
from scheduler.db.bookings import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from scheduler.ids import new_id
from scheduler.outbox.repositories import OutboxRepository
from scheduler.settings import Settings
from scheduler.webhooks.destinations import DestinationRefused
from scheduler.webhooks.repositories import DeliveryRepository, EndpointRepository, OutboxQueue
from scheduler.webhooks.schemas import ALL_EVENTS, EVENT_TYPES

log = structlog.get_logger("scheduler.webhooks")

FAN_OUT_BATCH = 500
DELIVERY_BATCH = 50
# An endpoint's share of a batch, in rounds of its concurrency: enough to drain a backlog,
# few enough that other endpoints' deliveries fit in the same batch.
ROUNDS_PER_BATCH = 3
WEBHOOK_DISABLED = "webhook.disabled"
REQUEST_TIMEOUT_SECONDS = 5.0
MAX_ATTEMPTS = 12
FIRST_DELAY = timedelta(seconds=10)
LONGEST_DELAY = timedelta(hours=1)
USER_AGENT = "zhoujiadu-scheduler-webhooks/1"


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: 20 s, 40 s, 80 s ... capped at one hour,
    so a receiver that is down for a while is not hammered, and one back soon hears soon."""
    delay: timedelta = FIRST_DELAY * 2**attempts
    return min(delay, LONGEST_DELAY)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``: the timestamp is signed too,
    so a captured request cannot be replayed later with a fresh ``t``."""
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def wants(endpoint: WebhookEndpoint, event: OutboxEvent) -> bool:
    """Public event types only; a partner's endpoint only its own resources' events; nothing
    from before the endpoint existed (the outbox may hold a long backlog)."""
    if event.type not in EVENT_TYPES or event.created_at < endpoint.created_at:
        return False
    if endpoint.partner_id is not None and endpoint.partner_id != event.partner_id:
        return False
    return ALL_EVENTS in endpoint.events or event.type in endpoint.events


def body_of(delivery: WebhookDelivery, event: OutboxEvent) -> bytes:
    envelope: dict[str, Any] = {
        "id": delivery.id,
        "type": event.type,
        "created_at": event.created_at,
        "data": event.payload,
    }
    return msgspec.json.encode(envelope)


NO_RESPONSE = "no HTTP response"


@dataclass(frozen=True)
class DeliveryLimits:
    """Each endpoint's share of a delivery batch: at most ``concurrency`` requests in flight
    and ``budget_seconds`` in all, so a slow receiver delays only itself; ``disable_after``
    failed attempts in a row disable it."""

    concurrency: int = 4
    budget_seconds: float = 10.0
    disable_after: int = 50

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryLimits:
        return cls(
            settings.webhook_endpoint_concurrency,
            float(settings.webhook_endpoint_budget_seconds),
            settings.webhook_disable_after_failures,
        )

    @property
    def per_endpoint(self) -> int:
        """Deliveries of one endpoint taken into one batch."""
        return self.concurrency * ROUNDS_PER_BATCH


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def post(
    client: httpx.AsyncClient,
    endpoint: WebhookEndpoint,
    delivery: WebhookDelivery,
    event: OutboxEvent,
    now: datetime,
    seconds: float = REQUEST_TIMEOUT_SECONDS,
) -> Outcome:
    """One signed POST. The response body is never read (a receiver cannot make us buffer
    it) and redirects are not followed (the registered URL is the only destination). What
    went wrong in transport is logged for the operator; the outcome says only "no answer"."""
    body = body_of(delivery, event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Scheduler-Event": event.type,
        "X-Scheduler-Delivery": delivery.id,
        "X-Scheduler-Signature": sign(endpoint.secret, int(now.timestamp()), body),
    }
    started = time.monotonic()
    try:
        async with (
            asyncio.timeout(seconds),
            client.stream("POST", endpoint.url, content=body, headers=headers) as response,
        ):
            status_code = response.status_code
    # Whatever goes wrong at the receiver's end (refused, reset, timeout, bad TLS, bad URL,
    # a forbidden address) is one failed attempt of this delivery, never a failed batch.
    except Exception as exc:
        log.warning(
            "webhook_no_response",
            endpoint_id=endpoint.id,
            delivery_id=delivery.id,
            error=f"{type(exc).__name__}: {exc}".strip(": ")[:500],
            # httpx re-raises httpcore's errors ``from`` them: the guard's refusal is the cause.
            forbidden_destination=isinstance(exc.__cause__, DestinationRefused),
        )
        return Outcome(None, NO_RESPONSE, _elapsed_ms(started))
    failure = None if 200 <= status_code < 300 else f"HTTP {status_code}"
    return Outcome(status_code, failure, _elapsed_ms(started))


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


Due = tuple[WebhookDelivery, OutboxEvent, WebhookEndpoint]


class DispatchService:
    def __init__(self, session: AsyncSession, limits: DeliveryLimits | None = None) -> None:
        self.session = session
        self.limits = limits or DeliveryLimits()
        self.outbox = OutboxQueue(session)
        self.emitter = OutboxRepository(session)
        self.endpoints = EndpointRepository(session)
        self.deliveries = DeliveryRepository(session)

    async def fan_out(self, now: datetime) -> int:
        """Create the deliveries of up to a batch of new outbox events and mark them
        dispatched; returns how many events it took (0: the outbox is drained)."""
        events = await self.outbox.undispatched(FAN_OUT_BATCH)
        if not events:
            return 0
        endpoints = await self.endpoints.active()
        rows = [
            {
                "id": new_id("whd"),
                "endpoint_id": endpoint.id,
                "event_id": event.id,
                "event_type": event.type,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for event in events
            for endpoint in endpoints
            if wants(endpoint, event)
        ]
        await self.deliveries.insert_new(rows)
        await self.outbox.mark_dispatched([event.id for event in events], now)
        return len(events)

    async def deliver_due(self, now: datetime, client: httpx.AsyncClient) -> int:
        """Send a batch of due deliveries (never two of one booking to one endpoint: see
        ``DeliveryRepository.due``), each endpoint within its own concurrency and time
        budget, and record the outcomes; returns how many were attempted (0: none due).
        A delivery its endpoint had no time left for stays due, untouched, for a later batch."""
        due = await self.deliveries.due(now, DELIVERY_BATCH, self.limits.per_endpoint)
        by_endpoint: dict[str, list[Due]] = {}
        for row in due:
            by_endpoint.setdefault(row[2].id, []).append(row)
        outcomes: dict[str, Outcome] = {}
        sends = [self._send_in_budget(rows, client, now, outcomes) for rows in by_endpoint.values()]
        await asyncio.gather(*sends)
        for delivery, _, endpoint in due:
            if delivery.id in outcomes:
                self._record(delivery, endpoint, outcomes[delivery.id], now)
        await self.session.flush()
        return len(outcomes)

    async def _send_in_budget(
        self, rows: list[Due], client: httpx.AsyncClient, now: datetime, into: dict[str, Outcome]
    ) -> None:
        """One endpoint's deliveries: ``concurrency`` at a time, every request cut short when
        the endpoint's budget ends, none started after it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.budget_seconds
        slots = asyncio.Semaphore(self.limits.concurrency)

        async def send(row: Due) -> None:
            delivery, event, endpoint = row
            async with slots:
                left = deadline - loop.time()
                if left > 0:
                    seconds = min(REQUEST_TIMEOUT_SECONDS, left)
                    into[delivery.id] = await post(client, endpoint, delivery, event, now, seconds)

        await asyncio.gather(*(send(row) for row in rows))

    def _record(
        self, delivery: WebhookDelivery, endpoint: WebhookEndpoint, outcome: Outcome, now: datetime
    ) -> None:
        self.deliveries.add_attempt(
            WebhookAttempt(
                delivery_id=delivery.id,
                at=now,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
        )
        delivery.attempts += 1
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        if outcome.succeeded:
            delivery.status = "delivered"
            delivery.delivered_at = now
            endpoint.consecutive_failures = 0
            return
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = "failed"
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
        endpoint.consecutive_failures += 1
        if endpoint.active and endpoint.consecutive_failures >= self.limits.disable_after:
            self._disable(endpoint, now)

    def _disable(self, endpoint: WebhookEndpoint, now: datetime) -> None:
        """Stop calling a receiver that keeps failing; its pending deliveries wait, and the
        partner's other endpoints (and staff endpoints) hear ``webhook.disabled``."""
        endpoint.active = False
        endpoint.disabled_at = now
        payload = {
            "webhook_id": endpoint.id,
            "url": endpoint.url,
            "partner_id": endpoint.partner_id,
            "consecutive_failures": endpoint.consecutive_failures,
            "disabled_at": now.isoformat(),
        }
        self.emitter.emit(WEBHOOK_DISABLED, payload, now, partner_id=endpoint.partner_id)
        metrics.count_webhook_disabled()
        log.warning(
            "webhook_disabled",
            endpoint_id=endpoint.id,
            partner_id=endpoint.partner_id,
            consecutive_failures=endpoint.consecutive_failures,
        )
