"""Allocation rounds aggregate: a round, its resources, applications and their slots.

A round moves ``draft`` → ``open`` → ``closed`` → ``allocated``; each application slot is
``pending``, ``granted`` or ``declined``; confirming the round books every granted slot's
season as one series (``series_id``) and keeps the result per occurrence (``occurrences``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db.base import Base, JSONType


class AllocationRound(Base):
    __tablename__ = "allocation_rounds"
    __table_args__ = (
        CheckConstraint("state IN ('draft', 'open', 'closed', 'allocated')", name="state"),
        CheckConstraint("season_starts_on <= season_ends_on", name="season_ordered"),
        CheckConstraint("applications_open_at < applications_close_at", name="period_ordered"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20))
    season_starts_on: Mapped[date] = mapped_column(Date)
    season_ends_on: Mapped[date] = mapped_column(Date)
    school_term_id: Mapped[str | None] = mapped_column(String(64))
    applications_open_at: Mapped[datetime]
    applications_close_at: Mapped[datetime]
    # The last automatic allocation: its seed and each priority round's draw, for replaying.
    seed: Mapped[str | None] = mapped_column(String(64))
    draws: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    allocated_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __mapper_args__ = {"version_id_col": version}


class AllocationRoundResource(Base):
    __tablename__ = "allocation_round_resources"

    round_id: Mapped[str] = mapped_column(
        ForeignKey("allocation_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id"), primary_key=True)


class AllocationApplication(Base):
    """One applicant's application (a resident acting for an organisation) in one round."""

    __tablename__ = "allocation_applications"
    __table_args__ = (
        CheckConstraint("status IN ('submitted', 'withdrawn')", name="status"),
        Index("ix_allocation_applications_round_id_applicant_id", "round_id", "applicant_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("allocation_rounds.id", ondelete="CASCADE"))
    applicant_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    organisation: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(50))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AllocationSlot(Base):
    """One recurring slot an application asks for, with its priority and its decision."""

    __tablename__ = "allocation_slots"
    __table_args__ = (
        CheckConstraint("decision IN ('pending', 'granted', 'declined')", name="decision"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("starts_minute < ends_minute", name="ordered"),
        CheckConstraint("priority >= 1", name="priority_positive"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        Index("ix_allocation_slots_round_id_resource_id", "round_id", "resource_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    application_id: Mapped[str] = mapped_column(
        ForeignKey("allocation_applications.id", ondelete="CASCADE"), index=True
    )
    round_id: Mapped[str] = mapped_column(ForeignKey("allocation_rounds.id", ondelete="CASCADE"))
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id"))
    weekday: Mapped[int] = mapped_column(Integer)
    starts_minute: Mapped[int] = mapped_column(Integer)
    ends_minute: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(20), default="pending")
    decided_manually: Mapped[bool] = mapped_column(default=False)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decision_step: Mapped[int | None] = mapped_column(Integer)
    series_id: Mapped[str | None] = mapped_column(String(64))
    # After confirmation: one entry per occurrence (booked, or refused with the problem).
    occurrences: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
