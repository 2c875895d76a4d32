"""Webhook request and response bodies, and the catalogue of deliverable event types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args

import msgspec

from scheduler.schemas import Input

# The public contract. The outbox holds more types (booking.completed, booking.pending...);
# they stay internal until someone needs them, because every type listed here is a promise
# to integrators (docs/webhooks.md#events documents each one's payload).
PublicEvent = Literal[
    "booking.created",
    "booking.confirmed",
    "booking.rejected",
    "booking.cancelled",
    "booking.checked_in",
    "booking.no_show",
    "booking.expired",
    "booking.not_selected",
    "booking.offered",
    "booking.lapsed",
    "booking.reminder",
    "booking.affected_by_closure",
    "release.opened",
    "draw.completed",
    "standing_order.occurrence",
    "webhook.disabled",
    # Seasonal allocation rounds (docs/allocation-rounds.md#applicants-are-told)
    "allocation.round_opened",
    "allocation.granted",
    "allocation.declined",
]
EVENT_TYPES: tuple[str, ...] = get_args(PublicEvent)
ALL_EVENTS = "*"
EventType = PublicEvent | Literal["*"]
DeliveryStatus = Literal["pending", "delivered", "failed"]
Url = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=2000,
        description="http:// or https:// URL that receives the POSTs",
        examples=["https://partner.example/hooks/scheduler"],
    ),
]
Events = Annotated[
    list[EventType],
    msgspec.Meta(
        min_length=1,
        max_length=len(EVENT_TYPES) + 1,
        description='Event types to receive; "*" means every type, including future ones',
    ),
]


class WebhookCreate(Input):
    url: Url
    events: Events


class Webhook(msgspec.Struct):
    id: str
    url: str
    events: list[str]
    partner_id: str | None
    owner_sub: str
    active: bool
    created_at: datetime
    consecutive_failures: int
    disabled_at: datetime | None


class WebhookCreated(msgspec.Struct):
    """The registration answer: the only time ``secret`` is ever shown."""

    id: str
    url: str
    events: list[str]
    partner_id: str | None
    owner_sub: str
    active: bool
    created_at: datetime
    consecutive_failures: int
    disabled_at: datetime | None
    secret: str


class Attempt(msgspec.Struct):
    """One attempt as its partner sees it: when, and the HTTP status or that there was none.
    No transport error text and no timing: those would map the network behind the service."""

    at: datetime
    status_code: int | None
    error: str | None


class Delivery(msgspec.Struct):
    id: str
    endpoint_id: str
    event_id: int
    event_type: str
    status: DeliveryStatus
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    attempts: list[Attempt]
