"""Bookings aggregate: bookings, their history, capacity holdings and idempotency keys.

``slot_holdings`` is the capacity ledger: one row per (resource, slot start) with the quantity
held by active bookings and the capacity in force. A booking increments its slots' rows with
``held + q <= capacity`` in the WHERE clause, so the database itself refuses over-booking,
and the CHECK constraint is the backstop. ``unit_holdings`` has one row per (resource, unit,
slot start): its primary key makes double assignment of a unit impossible.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.core.lifecycle import ACTIVE as ACTIVE_STATUSES
from scheduler.core.lifecycle import STATUSES
from scheduler.db.base import Base, JSONType

# As a sorted tuple for SQL IN lists (the core keeps the set).
ACTIVE = tuple(sorted(ACTIVE_STATUSES))


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="ordered"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="status"),
        Index("ix_bookings_resource_id_starts_at", "resource_id", "starts_at"),
        Index("ix_bookings_holder_id_starts_at", "holder_id", "starts_at"),
        Index("ix_bookings_status_created_at", "status", "created_at"),
        # The time-driven duties look for bookings of one status that start or end by now.
        Index("ix_bookings_status_starts_at", "status", "starts_at"),
        Index("ix_bookings_status_ends_at", "status", "ends_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id"))
    holder_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    holder_name: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    granularity_minutes: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    # Values of the resource's booking fields, checked and normalised when booked.
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    series_id: Mapped[str | None] = mapped_column(String(64), index=True)
    decision_note: Mapped[str | None] = mapped_column(Text)
    draw_at: Mapped[datetime | None] = mapped_column(index=True)
    offer_expires_at: Mapped[datetime | None] = mapped_column(index=True)
    reminded_at: Mapped[datetime | None]
    walk_in: Mapped[bool] = mapped_column(default=False)
    excused_at: Mapped[datetime | None]
    excused_by: Mapped[str | None] = mapped_column(String(200))
    excuse_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __mapper_args__ = {"version_id_col": version}


class Draw(Base):
    """One lottery draw: every entry for a resource's release instant, shuffled with ``seed``."""

    __tablename__ = "draws"
    __table_args__ = (
        UniqueConstraint("resource_id", "release_at", name="uq_draws_resource_id_release_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id"))
    release_at: Mapped[datetime]
    drawn_at: Mapped[datetime]
    seed: Mapped[str] = mapped_column(String(64))
    entries: Mapped[list[str]] = mapped_column(JSONType)
    winners: Mapped[list[str]] = mapped_column(JSONType)
    # Entries whose holder already held a booking in one of the resource's groups then.
    withdrawn: Mapped[list[str]] = mapped_column(JSONType, default=list)


class OutboxEvent(Base):
    """A domain event written in the same transaction as the change that caused it."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64))
    booking_id: Mapped[str | None] = mapped_column(String(64), index=True)
    resource_id: Mapped[str | None] = mapped_column(String(64))
    partner_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)


class BookingEvent(Base):
    """One change of a booking: who, when, from which status to which, why."""

    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    booking_id: Mapped[str] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)


class SlotHolding(Base):
    __tablename__ = "slot_holdings"
    __table_args__ = (
        CheckConstraint("held >= 0", name="held_not_negative"),
        CheckConstraint("held <= capacity", name="held_within_capacity"),
    )

    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id"), primary_key=True)
    slot_start: Mapped[datetime] = mapped_column(primary_key=True)
    held: Mapped[int] = mapped_column(Integer, default=0)
    capacity: Mapped[int] = mapped_column(Integer)


class UnitHolding(Base):
    __tablename__ = "unit_holdings"

    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id"), primary_key=True)
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot_start: Mapped[datetime] = mapped_column(primary_key=True)
    booking_id: Mapped[str] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )


class IdempotencyKey(Base):
    """A stored response, so a retried request returns it instead of acting twice."""

    __tablename__ = "idempotency_keys"

    owner: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class FeedToken(Base):
    """A secret URL token for a resident's iCalendar feed (calendar apps send no headers),
    kept only as the SHA-256 (hex) of the token."""

    __tablename__ = "feed_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class WebhookEndpoint(Base):
    """Where a partner or staff member wants events POSTed, signed with ``secret``."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_sub: Mapped[str] = mapped_column(String(200), index=True)
    partner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSONType)
    secret: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # Failed attempts in a row (reset by any success); at the threshold the endpoint is
    # disabled (active false, disabled_at set) until someone enables it again.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disabled_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One event for one endpoint, retried with exponential backoff until delivered."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint(
            "endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_id_event_id"
        ),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"))
    event_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    """Every HTTP attempt of a delivery, visible through the API."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
