"""Use cases for webhook endpoints: register, list, look up, delete, read the delivery log.

Partners own the endpoints of their partner unit (any of its managers may manage them) and
receive events about their own resources only; staff and admins see every endpoint and their
endpoints receive every event. Residents have no webhooks.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from urllib.parse import urlsplit

import httpx
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.db.bookings import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from scheduler.errors import (
    Forbidden,
    NotFound,
    ValidationFailed,
    WebhookDestinationForbidden,
    WebhookLimitReached,
)
from scheduler.ids import new_id
from scheduler.settings import Settings
from scheduler.webhooks import schemas
from scheduler.webhooks.destinations import DestinationPolicy, refusal_of_host
from scheduler.webhooks.repositories import DeliveryRepository, EndpointRepository

SECRET_BYTES = 32


def to_schema(endpoint: WebhookEndpoint) -> schemas.Webhook:
    return msgspec.convert(endpoint, schemas.Webhook, from_attributes=True)


def to_created(endpoint: WebhookEndpoint) -> schemas.WebhookCreated:
    """The registration answer, the one place the secret leaves the service."""
    return msgspec.convert(endpoint, schemas.WebhookCreated, from_attributes=True)


def delivery_schema(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> schemas.Delivery:
    return schemas.Delivery(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=delivery.status,  # type: ignore[arg-type]
        next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
        attempts=[msgspec.convert(a, schemas.Attempt, from_attributes=True) for a in attempts],
    )


def check_url(url: str, policy: DestinationPolicy) -> None:
    """Only http(s) with a host: other schemes (file:, gopher:, javascript:) are never fetched;
    and only a public host, or one the operator allows (``destinations``)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError as exc:
        raise ValidationFailed.one("url", f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise ValidationFailed.one("url", "must start with http:// or https://")
    if not parts.hostname or any(char.isspace() or ord(char) < 32 for char in url):
        raise ValidationFailed.one("url", "must name a host and contain no spaces")
    # httpx is what connects, so its reading of the host is checked too (it and urlsplit
    # disagree on odd URLs such as ``http://a\\@127.0.0.1/``); both readings must pass.
    _check_host(parts.hostname, policy)
    try:
        _check_host(httpx.URL(url).host, policy)
    except httpx.InvalidURL as exc:
        raise ValidationFailed.one("url", f"not a valid URL: {exc}") from exc


def _check_host(host: str, policy: DestinationPolicy) -> None:
    reason = refusal_of_host(host, policy)
    if reason is not None:
        raise WebhookDestinationForbidden(reason)


def unique_events(events: list[str]) -> list[str]:
    """Duplicates dropped, order kept; ``*`` alone when present, since it covers the rest."""
    if schemas.ALL_EVENTS in events:
        return [schemas.ALL_EVENTS]
    return list(dict.fromkeys(events))


class WebhookService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.endpoints = EndpointRepository(session)
        self.deliveries = DeliveryRepository(session)

    async def register(
        self, data: schemas.WebhookCreate, caller: Principal, now: datetime, settings: Settings
    ) -> WebhookEndpoint:
        """A partner's endpoint gets its own partner's events; a staff endpoint gets all.
        Each partner may have ``webhook_max_endpoints`` (staff are not limited: they are the
        operators, and their endpoints are few)."""
        _require_manager(caller)
        check_url(data.url, DestinationPolicy.from_settings(settings))
        partner_id = None if caller.is_staff else caller.partner
        limit = settings.webhook_max_endpoints
        if partner_id is not None and await self.endpoints.count_of(partner_id) >= limit:
            raise WebhookLimitReached(limit)
        endpoint = WebhookEndpoint(
            id=new_id("whk"),
            owner_sub=caller.sub,
            partner_id=partner_id,
            url=data.url,
            events=unique_events(list(data.events)),
            secret=secrets.token_urlsafe(SECRET_BYTES),
            active=True,
            created_at=now,
            consecutive_failures=0,
        )
        self.endpoints.add(endpoint)
        await self.session.flush()
        return endpoint

    async def visible(
        self, caller: Principal, limit: int, offset: int
    ) -> tuple[list[WebhookEndpoint], int]:
        """A partner's managers share their unit's endpoints; staff see every endpoint."""
        _require_manager(caller)
        return await self.endpoints.page(None if caller.is_staff else caller.partner, limit, offset)

    async def get(self, endpoint_id: str, caller: Principal) -> WebhookEndpoint:
        """404 (not 403) for someone else's endpoint, so ids reveal nothing."""
        _require_manager(caller)
        endpoint = await self.endpoints.get(endpoint_id)
        if endpoint is None or not (caller.is_staff or endpoint.partner_id == caller.partner):
            raise NotFound(f"No webhook {endpoint_id!r}.")
        return endpoint

    async def delete(self, endpoint_id: str, caller: Principal) -> None:
        """Stop sending at once; the endpoint's delivery log is deleted with it."""
        endpoint = await self.get(endpoint_id, caller)
        await self.endpoints.delete(endpoint)
        await self.session.flush()

    async def enable(self, endpoint_id: str, caller: Principal) -> WebhookEndpoint:
        """Call a disabled endpoint again: its failure count starts over, and its deliveries
        still pending go out with the next run (events from while it was disabled do not)."""
        endpoint = await self.get(endpoint_id, caller)
        endpoint.active = True
        endpoint.disabled_at = None
        endpoint.consecutive_failures = 0
        await self.session.flush()
        return endpoint

    async def disable(self, endpoint_id: str, caller: Principal, now: datetime) -> WebhookEndpoint:
        """Stop sending to an endpoint without deleting it (a receiver under maintenance): as
        when the service disables a failing one, its pending deliveries wait and events that
        happen meanwhile are not queued for it; no ``webhook.disabled`` event is sent for a
        pause its own managers chose. Already disabled: nothing changes."""
        endpoint = await self.get(endpoint_id, caller)
        if endpoint.active:
            endpoint.active = False
            endpoint.disabled_at = now
            await self.session.flush()
        return endpoint

    async def delivery_log(
        self, endpoint_id: str, caller: Principal, status: str | None, limit: int, offset: int
    ) -> tuple[list[schemas.Delivery], int]:
        """The endpoint's deliveries, newest first, each with every attempt made so far."""
        await self.get(endpoint_id, caller)
        rows, total = await self.deliveries.page(endpoint_id, status, limit, offset)
        attempts = await self.deliveries.attempts_of([row.id for row in rows])
        return [delivery_schema(row, attempts[row.id]) for row in rows], total


def _require_manager(caller: Principal) -> None:
    if not (caller.is_staff or (caller.role == "partner" and caller.partner)):
        raise Forbidden("Webhooks are for partners, staff and admins.")
