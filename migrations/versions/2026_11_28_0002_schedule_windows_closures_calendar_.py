"""schedule: windows, closures, calendar corrections, school terms

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from scheduler.db.base import JSONType, UTCDateTime

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_corrections",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("day_type", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "day_type IN ('workday', 'rest_day', 'holiday')",
            name=op.f("ck_calendar_corrections_day_type"),
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_corrections")),
    )
    op.create_table(
        "school_terms",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("starts_on <= ends_on", name=op.f("ck_school_terms_ordered")),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_school_terms_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_terms")),
    )
    with op.batch_alter_table("school_terms", schema=None) as batch_op:
        batch_op.create_index(
            "ix_school_terms_partner_id_starts_on", ["partner_id", "starts_on"], unique=False
        )

    op.create_table(
        "closures",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_closures_ordered")),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_closures_resource_id_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closures")),
    )
    with op.batch_alter_table("closures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_closures_resource_id_starts_at", ["resource_id", "starts_at"], unique=False
        )

    op.create_table(
        "opening_windows",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("rrule", sa.String(length=300), nullable=True),
        sa.Column("day_types", JSONType, nullable=False),
        sa.Column("start_time", sa.String(length=5), nullable=False),
        sa.Column("end_time", sa.String(length=5), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("audience", JSONType, nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "rrule IS NOT NULL OR day_types != '[]'", name=op.f("ck_opening_windows_has_rule")
        ),
        sa.CheckConstraint(
            "capacity IS NULL OR capacity >= 1", name=op.f("ck_opening_windows_capacity_positive")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_opening_windows_resource_id_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opening_windows")),
    )
    with op.batch_alter_table("opening_windows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opening_windows_resource_id"), ["resource_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("opening_windows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opening_windows_resource_id"))

    op.drop_table("opening_windows")
    with op.batch_alter_table("closures", schema=None) as batch_op:
        batch_op.drop_index("ix_closures_resource_id_starts_at")

    op.drop_table("closures")
    with op.batch_alter_table("school_terms", schema=None) as batch_op:
        batch_op.drop_index("ix_school_terms_partner_id_starts_on")

    op.drop_table("school_terms")
    op.drop_table("calendar_corrections")
