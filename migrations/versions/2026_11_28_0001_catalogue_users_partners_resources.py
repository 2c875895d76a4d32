"""catalogue: users, partners, resources

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from scheduler.db.base import JSONType, UTCDateTime

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("zone", sa.String(length=20), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("contact_phone", sa.String(length=50), nullable=True),
        sa.Column("contact_email", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "zone IN ('expo_park', 'office', 'camp', 'campus', 'residential')",
            name=op.f("ck_partners_zone"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
    )
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partners_zone"), ["zone"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("partner_id", sa.String(length=200), nullable=True),
        sa.Column("community", sa.String(length=200), nullable=True),
        sa.Column("tags", JSONType, nullable=False),
        sa.Column("suspended_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "role IN ('resident', 'partner', 'staff', 'admin')", name=op.f("ck_users_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "resources",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("units", JSONType, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("policy", JSONType, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('sports_field', 'court', 'parking', 'room', 'canteen', 'other')",
            name=op.f("ck_resources_kind"),
        ),
        sa.CheckConstraint("capacity >= 1", name=op.f("ck_resources_capacity_positive")),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_resources_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resources")),
    )
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resources_deleted_at"), ["deleted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_resources_kind"), ["kind"], unique=False)
        batch_op.create_index("ix_resources_partner_id_name", ["partner_id", "name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index("ix_resources_partner_id_name")
        batch_op.drop_index(batch_op.f("ix_resources_kind"))
        batch_op.drop_index(batch_op.f("ix_resources_deleted_at"))

    op.drop_table("resources")
    op.drop_table("users")
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partners_zone"))

    op.drop_table("partners")
