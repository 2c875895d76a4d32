"""When resources are open: windows, closures, calendar corrections and school terms."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db.base import Base, JSONType


class OpeningWindow(Base):
    """A recurring local-time interval during which a resource may be booked."""

    __tablename__ = "opening_windows"
    __table_args__ = (
        CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),
        CheckConstraint("rrule IS NOT NULL OR day_types != '[]'", name="has_rule"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(200), default="")
    rrule: Mapped[str | None] = mapped_column(String(300))
    day_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    start_time: Mapped[str] = mapped_column(String(5))
    end_time: Mapped[str] = mapped_column(String(5))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    audience: Mapped[list[str]] = mapped_column(JSONType)
    capacity: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __mapper_args__ = {"version_id_col": version}


class Closure(Base):
    """A one-off period when a resource is shut; it beats every window."""

    __tablename__ = "closures"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="ordered"),
        Index("ix_closures_resource_id_starts_at", "resource_id", "starts_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class CalendarCorrection(Base):
    """A staff correction of the official calendar for one date (e.g. a late-published 调休)."""

    __tablename__ = "calendar_corrections"
    __table_args__ = (
        CheckConstraint("day_type IN ('workday', 'rest_day', 'holiday')", name="day_type"),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    day_type: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class SchoolTerm(Base):
    """A term of a partner's school calendar; days outside every term are vacation."""

    __tablename__ = "school_terms"
    __table_args__ = (
        CheckConstraint("starts_on <= ends_on", name="ordered"),
        Index("ix_school_terms_partner_id_starts_on", "partner_id", "starts_on"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]


class CalendarVersion(Base):
    """One row whose ``version`` database triggers change on every write of
    ``calendar_corrections`` (migration 0015): it validates the cached calendar."""

    __tablename__ = "calendar_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
