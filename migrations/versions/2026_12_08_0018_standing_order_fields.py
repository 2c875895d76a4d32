"""standing order fields: a standing order keeps the booking field values each of its
bookings carries (standing_orders.fields)

Existing orders get no values (as before: a resource requiring a field refused their
occurrences).

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from scheduler.db.base import JSONType

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("standing_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fields", JSONType, nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("standing_orders", schema=None) as batch_op:
        batch_op.drop_column("fields")
