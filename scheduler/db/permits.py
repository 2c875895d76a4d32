"""Permits aggregate: permits (a month of nights sold as a whole) and their release rounds.

A permit's nights are ordinary bookings whose ``series_id`` is the permit's id, so the
ledger, the lists and the series operations treat them like any booking. ``permit_rounds``
has one row per (resource, month) once that month's permits were released: its unique key
makes each release happen exactly once, whichever replica, job or request gets there first.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db.base import Base, JSONType

STORED_STATES = ("applied", "cancelled", "confirmed", "not_selected", "refused")
# One application or permit per person, resource and month while it is alive.
_ALIVE = text("state IN ('applied', 'confirmed')")


class Permit(Base):
    __tablename__ = "permits"
    __table_args__ = (
        CheckConstraint(f"state IN ({', '.join(repr(s) for s in STORED_STATES)})", name="state"),
        Index("ix_permits_resource_id_period", "resource_id", "period"),
        Index("ix_permits_state_release_at", "state", "release_at"),
        Index(
            "uq_permits_holder_alive",
            "resource_id",
            "holder_id",
            "period",
            unique=True,
            postgresql_where=_ALIVE,
            sqlite_where=_ALIVE,
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id"))
    holder_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    holder_name: Mapped[str] = mapped_column(String(200), default="")
    # The holder's tags as the application stated them, so the release checks each night
    # with the eligibility the applicant had.
    holder_tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_by: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(7))
    preferred_unit: Mapped[str | None] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(64))
    # The booking field values every night carries (the plate for the gate), checked
    # against the resource's declarations when applying.
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    release_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    cancelled_from: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __mapper_args__ = {"version_id_col": version}


class PermitRound(Base):
    """The release of one month's permits of a resource: who applied, in which order they
    were decided (a lottery with ``seed`` when oversubscribed), who got a permit."""

    __tablename__ = "permit_rounds"
    __table_args__ = (
        UniqueConstraint("resource_id", "period", name="uq_permit_rounds_resource_id_period"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id"))
    period: Mapped[str] = mapped_column(String(7))
    release_at: Mapped[datetime]
    drawn_at: Mapped[datetime]
    seed: Mapped[str] = mapped_column(String(64))
    lottery: Mapped[bool] = mapped_column(default=False)
    applications: Mapped[list[str]] = mapped_column(JSONType, default=list)
    winners: Mapped[list[str]] = mapped_column(JSONType, default=list)
