"""release, lottery draws, waitlist offers, outbox, job store

Revision ID: 0004
Revises: 0003
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

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apscheduler_jobs")),
    )
    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apscheduler_jobs_next_run_time"), ["next_run_time"], unique=False
        )

    op.create_table(
        "outbox_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("booking_id", sa.String(length=64), nullable=True),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column("partner_id", sa.String(length=64), nullable=True),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_events_booking_id"), ["booking_id"], unique=False
        )
        batch_op.create_index("ix_outbox_events_created_at", ["created_at"], unique=False)

    op.create_table(
        "draws",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("release_at", UTCDateTime(), nullable=False),
        sa.Column("drawn_at", UTCDateTime(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("entries", JSONType, nullable=False),
        sa.Column("winners", JSONType, nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_draws_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draws")),
        sa.UniqueConstraint("resource_id", "release_at", name="uq_draws_resource_id_release_at"),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draw_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("offer_expires_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_bookings_draw_at"), ["draw_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_bookings_offer_expires_at"), ["offer_expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bookings_offer_expires_at"))
        batch_op.drop_index(batch_op.f("ix_bookings_draw_at"))
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("offer_expires_at")
        batch_op.drop_column("draw_at")

    op.drop_table("draws")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_created_at")
        batch_op.drop_index(batch_op.f("ix_outbox_events_booking_id"))

    op.drop_table("outbox_events")
    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apscheduler_jobs_next_run_time"))

    op.drop_table("apscheduler_jobs")
