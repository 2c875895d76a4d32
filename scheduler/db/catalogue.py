"""Catalogue aggregate: users, partners and resources."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db.base import Base, JSONType

ROLES = ("resident", "worker", "partner", "staff", "admin")
ZONES = ("expo_park", "office", "camp", "campus", "residential")
KINDS = ("sports_field", "court", "parking", "room", "canteen", "other")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(Base):
    """A person: known by the ``sub`` of their token (provisioned on first sight), or entered
    in the resident registry by staff or a neighbourhood worker before any booking.

    ``verified`` is False for a resident created implicitly by a proxy booking; ``merged_into``
    points a duplicate record at the one that survived a merge; ``anonymised_at`` is set when
    the retention duty removed the personal data of a long-inactive resident.
    """

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    partner_id: Mapped[str | None] = mapped_column(String(200))
    community: Mapped[str | None] = mapped_column(String(200), index=True)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    identity_ref: Mapped[str | None] = mapped_column(String(200), index=True)
    verified: Mapped[bool] = mapped_column(default=True)
    merged_into: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime]
    anonymised_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)


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
    # The fields its bookings carry (``core.booking_fields.FieldSpec`` as JSON).
    booking_fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None] = mapped_column(index=True)
    # Changed by database triggers (migration 0015) whenever the resource, its partner, its
    # windows, closures or its partner's terms change; validates the per-process facts cache.
    facts_version: Mapped[int] = mapped_column(
        BigInteger, default=lambda: secrets.randbits(62), server_default=text("0")
    )

    __mapper_args__ = {"version_id_col": version}


class ResourceGroup(Base):
    """Resources that share a per-person limit (all school grounds: one evening each).

    A person may hold at most ``max_bookings`` active bookings and ``max_entries`` lottery
    entries across the group per local day (``period = "day"``, in ``timezone``) or among
    overlapping times (``period = "overlap"``).
    """

    __tablename__ = "resource_groups"
    __table_args__ = (CheckConstraint("period IN ('day', 'overlap')", name="period"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    max_bookings: Mapped[int] = mapped_column(Integer, default=1)
    max_entries: Mapped[int] = mapped_column(Integer, default=1)
    period: Mapped[str] = mapped_column(String(10), default="day")
    timezone: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __mapper_args__ = {"version_id_col": version}


class ResourceGroupMember(Base):
    """One resource in one group (the lookup from a resource to its groups)."""

    __tablename__ = "resource_group_members"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("resource_groups.id", ondelete="CASCADE"), primary_key=True
    )
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("resources.id"), primary_key=True, index=True
    )
