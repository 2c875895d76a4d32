"""Catalogue aggregate: users, partners and resources."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db.base import Base, JSONType

ROLES = ("resident", "partner", "staff", "admin")
ZONES = ("expo_park", "office", "camp", "campus", "residential")
KINDS = ("sports_field", "court", "parking", "room", "canteen", "other")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(Base):
    """A person known by the ``sub`` of their token, provisioned on first sight."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    partner_id: Mapped[str | None] = mapped_column(String(200))
    community: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    suspended_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class Partner(Base):
    """A unit (school, sports centre, camp, office park) that shares its facilities."""

    __tablename__ = "partners"
    __table_args__ = (CheckConstraint(_in("zone", ZONES), name="zone"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    zone: Mapped[str] = mapped_column(String(20), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(50))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __mapper_args__ = {"version_id_col": version}


class Resource(Base):
    """One bookable thing with a capacity, owned by a partner, in the partner's zone."""

    __tablename__ = "resources"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint(_in("kind", KINDS), name="kind"),
        Index("ix_resources_partner_id_name", "partner_id", "name"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    capacity: Mapped[int] = mapped_column(Integer)
    units: Mapped[list[str]] = mapped_column(JSONType, default=list)
    timezone: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(500))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    description: Mapped[str | None] = mapped_column(Text)
    policy: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None] = mapped_column(index=True)

    __mapper_args__ = {"version_id_col": version}
