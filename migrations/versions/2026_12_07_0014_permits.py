"""permits (a month of nights sold as a whole, one per person, resource and month while
alive) and permit_rounds (each month's release, exactly once per resource)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from scheduler.db.base import JSONType, UTCDateTime

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALIVE = sa.text("state IN ('applied', 'confirmed')")


def upgrade() -> None:
    op.create_table(
        "permits",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("holder_id", sa.String(length=200), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("holder_tags", JSONType, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("preferred_unit", sa.String(length=64), nullable=True),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("fields", JSONType, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("release_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_from", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "state IN ('applied', 'cancelled', 'confirmed', 'not_selected', 'refused')",
            name=op.f("ck_permits_state"),
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["users.id"], name=op.f("fk_permits_holder_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_permits_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permits")),
    )
    with op.batch_alter_table("permits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_permits_holder_id"), ["holder_id"], unique=False)
        batch_op.create_index(
            "ix_permits_resource_id_period", ["resource_id", "period"], unique=False
        )
        batch_op.create_index("ix_permits_state_release_at", ["state", "release_at"], unique=False)
        batch_op.create_index(
            "uq_permits_holder_alive",
            ["resource_id", "holder_id", "period"],
            unique=True,
            postgresql_where=ALIVE,
            sqlite_where=ALIVE,
        )
    op.create_table(
        "permit_rounds",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("release_at", UTCDateTime(), nullable=False),
        sa.Column("drawn_at", UTCDateTime(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("lottery", sa.Boolean(), nullable=False),
        sa.Column("applications", JSONType, nullable=False),
        sa.Column("winners", JSONType, nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_permit_rounds_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permit_rounds")),
        sa.UniqueConstraint("resource_id", "period", name="uq_permit_rounds_resource_id_period"),
    )


def downgrade() -> None:
    op.drop_table("permit_rounds")
    with op.batch_alter_table("permits", schema=None) as batch_op:
        batch_op.drop_index("uq_permits_holder_alive")
        batch_op.drop_index("ix_permits_state_release_at")
        batch_op.drop_index("ix_permits_resource_id_period")
        batch_op.drop_index(batch_op.f("ix_permits_holder_id"))
    op.drop_table("permits")
