"""Indexes for the time-driven duties: bookings by status and start, by status and end

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index("ix_bookings_status_starts_at", ["status", "starts_at"], unique=False)
        batch_op.create_index("ix_bookings_status_ends_at", ["status", "ends_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_status_ends_at")
        batch_op.drop_index("ix_bookings_status_starts_at")
