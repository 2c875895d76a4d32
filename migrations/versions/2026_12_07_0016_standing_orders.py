"""standing_orders and standing_occurrences (a recurring pattern booked as each occurrence is
released; one row per occurrence, unique per order and start, so it is booked once)

Revision ID: 0016
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from scheduler.db.base import JSONType, UTCDateTime

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "standing_orders",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("holder_id", sa.String(length=200), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("creator", JSONType, nullable=False),
        sa.Column("pattern", JSONType, nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'ended')", name=op.f("ck_standing_orders_status")
        ),
        sa.CheckConstraint("first_day <= last_day", name=op.f("ck_standing_orders_ordered_days")),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_standing_orders_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["users.id"], name=op.f("fk_standing_orders_holder_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_standing_orders_resource_id_resources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standing_orders")),
    )
    with op.batch_alter_table("standing_orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_standing_orders_holder_id_created_at", ["holder_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_standing_orders_resource_id"), ["resource_id"], unique=False
        )

    op.create_table(
        "standing_occurrences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("standing_order_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("release_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("booking_id", sa.String(length=64), nullable=True),
        sa.Column("booking_status", sa.String(length=20), nullable=True),
        sa.Column("refusal_code", sa.String(length=64), nullable=True),
        sa.Column("refusal_status", sa.Integer(), nullable=True),
        sa.Column("refusal_detail", sa.Text(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_standing_occurrences_ordered")),
        sa.CheckConstraint(
            "status IN ('pending', 'booked', 'refused', 'skipped', 'ended')",
            name=op.f("ck_standing_occurrences_status"),
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_standing_occurrences_booking_id_bookings"),
        ),
        sa.ForeignKeyConstraint(
            ["standing_order_id"],
            ["standing_orders.id"],
            name=op.f("fk_standing_occurrences_standing_order_id_standing_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standing_occurrences")),
        sa.UniqueConstraint(
            "standing_order_id", "starts_at", name="uq_standing_occurrences_order_start"
        ),
    )
    with op.batch_alter_table("standing_occurrences", schema=None) as batch_op:
        batch_op.create_index(
            "ix_standing_occurrences_status_release_at", ["status", "release_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("standing_occurrences", schema=None) as batch_op:
        batch_op.drop_index("ix_standing_occurrences_status_release_at")
    op.drop_table("standing_occurrences")
    with op.batch_alter_table("standing_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standing_orders_resource_id"))
        batch_op.drop_index("ix_standing_orders_holder_id_created_at")
    op.drop_table("standing_orders")
