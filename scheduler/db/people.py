"""People aggregate beyond the user record: suspensions, merges, and the personal-data log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db.base import Base, JSONType

SCOPES = ("resource", "partner", "everywhere")


class Suspension(Base):
    """A person may not book in ``scope`` (one resource, one partner's resources, or
    everywhere) until ``until``: after repeated no-shows, or set by staff. Lifting keeps the
    row, with who lifted it and when."""

    __tablename__ = "suspensions"
    __table_args__ = (
        CheckConstraint("scope IN ('resource', 'partner', 'everywhere')", name="scope"),
        CheckConstraint("(scope = 'everywhere') = (scope_id IS NULL)", name="scope_id"),
        Index("ix_suspensions_user_id_until", "user_id", "until"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    scope: Mapped[str] = mapped_column(String(20))
    scope_id: Mapped[str | None] = mapped_column(String(64))
    until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    lifted_at: Mapped[datetime | None]
    lifted_by: Mapped[str | None] = mapped_column(String(200))


class ResidentMerge(Base):
    """Two records of one person made one: ``merged_id`` now points at ``survivor_id``."""

    __tablename__ = "resident_merges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    survivor_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    merged_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    merged_by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    moved: Mapped[dict[str, Any]] = mapped_column(JSONType)


class PersonalDataAccess(Base):
    """One read of a resident's personal data (phone, identity reference) by staff or a
    worker, kept for the resident's rights under PIPL."""

    __tablename__ = "personal_data_access"
    __table_args__ = (Index("ix_personal_data_access_resident_id_at", "resident_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_sub: Mapped[str] = mapped_column(String(200), index=True)
    actor_role: Mapped[str] = mapped_column(String(20))
    resident_id: Mapped[str] = mapped_column(String(200))
    fields: Mapped[list[str]] = mapped_column(JSONType)
    action: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(String(500))
