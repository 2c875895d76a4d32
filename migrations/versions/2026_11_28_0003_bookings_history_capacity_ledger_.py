"""bookings, history, capacity ledger, idempotency keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from scheduler.db.base import (
    JSONType,
    UTCDateTime,
)

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("owner", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "bookings",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("holder_id", sa.String(length=200), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("granularity_minutes", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("series_id", sa.String(length=64), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'rejected', 'checked_in', 'completed', 'no_show', 'cancelled', 'expired', 'entered', 'not_selected', 'waitlisted', 'offered', 'lapsed')",
            name=op.f("ck_bookings_status"),
        ),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_bookings_quantity_positive")),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_bookings_ordered")),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["users.id"], name=op.f("fk_bookings_holder_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_bookings_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bookings_holder_id_starts_at", ["holder_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_bookings_resource_id_starts_at", ["resource_id", "starts_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bookings_series_id"), ["series_id"], unique=False)
        batch_op.create_index(
            "ix_bookings_status_created_at", ["status", "created_at"], unique=False
        )

    op.create_table(
        "slot_holdings",
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("slot_start", UTCDateTime(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.CheckConstraint("held <= capacity", name=op.f("ck_slot_holdings_held_within_capacity")),
        sa.CheckConstraint("held >= 0", name=op.f("ck_slot_holdings_held_not_negative")),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_slot_holdings_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("resource_id", "slot_start", name=op.f("pk_slot_holdings")),
    )
    op.create_table(
        "booking_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("booking_id", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_events_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_events")),
    )
    with op.batch_alter_table("booking_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_booking_events_booking_id"), ["booking_id"], unique=False
        )

    op.create_table(
        "unit_holdings",
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("slot_start", UTCDateTime(), nullable=False),
        sa.Column("booking_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_unit_holdings_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_unit_holdings_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("resource_id", "unit", "slot_start", name=op.f("pk_unit_holdings")),
    )
    with op.batch_alter_table("unit_holdings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unit_holdings_booking_id"), ["booking_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("unit_holdings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_holdings_booking_id"))

    op.drop_table("unit_holdings")
    with op.batch_alter_table("booking_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booking_events_booking_id"))

    op.drop_table("booking_events")
    op.drop_table("slot_holdings")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_status_created_at")
        batch_op.drop_index(batch_op.f("ix_bookings_series_id"))
        batch_op.drop_index("ix_bookings_resource_id_starts_at")
        batch_op.drop_index("ix_bookings_holder_id_starts_at")

    op.drop_table("bookings")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_expires_at"))

    op.drop_table("idempotency_keys")
