"""Standing orders aggregate: the subscription and one row per occurrence.

Every occurrence exists as a row from the order's creation, with the instant it becomes
bookable (``release_at``), so the booking duty finds what is due with one indexed query.
The unique (order, start) pair is the backstop that keeps an occurrence booked once; the
duty's conditional claim (``status = 'pending'``) is what keeps two runs from racing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db.base import Base, JSONType

ORDER_STATUSES = ("active", "paused", "ended")
OCCURRENCE_STATUSES = ("pending", "booked", "refused", "skipped", "ended")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class StandingOrder(Base):
    __tablename__ = "standing_orders"
    __table_args__ = (
        CheckConstraint(_in("status", ORDER_STATUSES), name="status"),
        CheckConstraint("first_day <= last_day", name="ordered_days"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        Index("ix_standing_orders_holder_id_created_at", "holder_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id"), index=True)
    holder_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    holder_name: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(200))
    # Who created it, as their token said (role, partner, communities, tags): each
    # occurrence is booked as that caller would book it, through the same checks.
    creator: Mapped[dict[str, Any]] = mapped_column(JSONType)
    pattern: Mapped[dict[str, Any]] = mapped_column(JSONType)
    first_day: Mapped[date]
    last_day: Mapped[date]
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    note: Mapped[str | None] = mapped_column(Text)
    # Values of the resource's booking fields, checked when ordered; every booking carries them.
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StandingOccurrence(Base):
    __tablename__ = "standing_occurrences"
    __table_args__ = (
        UniqueConstraint(
            "standing_order_id", "starts_at", name="uq_standing_occurrences_order_start"
        ),
        CheckConstraint("starts_at < ends_at", name="ordered"),
        CheckConstraint(_in("status", OCCURRENCE_STATUSES), name="status"),
        # The booking duty: pending occurrences whose release moment has come.
        Index("ix_standing_occurrences_status_release_at", "status", "release_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    standing_order_id: Mapped[str] = mapped_column(
        ForeignKey("standing_orders.id", ondelete="CASCADE")
    )
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    release_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    booking_id: Mapped[str | None] = mapped_column(ForeignKey("bookings.id"))
    booking_status: Mapped[str | None] = mapped_column(String(20))
    refusal_code: Mapped[str | None] = mapped_column(String(64))
    refusal_status: Mapped[int | None] = mapped_column(Integer)
    refusal_detail: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
