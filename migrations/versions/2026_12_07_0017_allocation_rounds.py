"""allocation rounds: seasonal rounds over resources, applications for recurring slots with
priorities, and each slot's decision and (after confirmation) its series and occurrences

Revision ID: 0017
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from scheduler.db.base import JSONType, UTCDateTime

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "allocation_rounds",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("season_starts_on", sa.Date(), nullable=False),
        sa.Column("season_ends_on", sa.Date(), nullable=False),
        sa.Column("school_term_id", sa.String(length=64), nullable=True),
        sa.Column("applications_open_at", UTCDateTime(), nullable=False),
        sa.Column("applications_close_at", UTCDateTime(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=True),
        sa.Column("draws", JSONType, nullable=False),
        sa.Column("allocated_at", UTCDateTime(), nullable=True),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("confirmed_by", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "state IN ('draft', 'open', 'closed', 'allocated')",
            name=op.f("ck_allocation_rounds_state"),
        ),
        sa.CheckConstraint(
            "applications_open_at < applications_close_at",
            name=op.f("ck_allocation_rounds_period_ordered"),
        ),
        sa.CheckConstraint(
            "season_starts_on <= season_ends_on", name=op.f("ck_allocation_rounds_season_ordered")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation_rounds")),
    )
    op.create_table(
        "allocation_applications",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("round_id", sa.String(length=64), nullable=False),
        sa.Column("applicant_id", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_phone", sa.String(length=50), nullable=True),
        sa.Column("contact_email", sa.String(length=200), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('submitted', 'withdrawn')", name=op.f("ck_allocation_applications_status")
        ),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["users.id"],
            name=op.f("fk_allocation_applications_applicant_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["allocation_rounds.id"],
            name=op.f("fk_allocation_applications_round_id_allocation_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation_applications")),
    )
    with op.batch_alter_table("allocation_applications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_allocation_applications_round_id_applicant_id",
            ["round_id", "applicant_id"],
            unique=False,
        )

    op.create_table(
        "allocation_round_resources",
        sa.Column("round_id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_allocation_round_resources_resource_id_resources"),
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["allocation_rounds.id"],
            name=op.f("fk_allocation_round_resources_round_id_allocation_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "round_id", "resource_id", name=op.f("pk_allocation_round_resources")
        ),
    )
    op.create_table(
        "allocation_slots",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("round_id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("starts_minute", sa.Integer(), nullable=False),
        sa.Column("ends_minute", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("decided_manually", sa.Boolean(), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decision_step", sa.Integer(), nullable=True),
        sa.Column("series_id", sa.String(length=64), nullable=True),
        sa.Column("occurrences", JSONType, nullable=False),
        sa.CheckConstraint(
            "decision IN ('pending', 'granted', 'declined')",
            name=op.f("ck_allocation_slots_decision"),
        ),
        sa.CheckConstraint("priority >= 1", name=op.f("ck_allocation_slots_priority_positive")),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_allocation_slots_quantity_positive")),
        sa.CheckConstraint("starts_minute < ends_minute", name=op.f("ck_allocation_slots_ordered")),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_allocation_slots_weekday")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["allocation_applications.id"],
            name=op.f("fk_allocation_slots_application_id_allocation_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_allocation_slots_resource_id_resources"),
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["allocation_rounds.id"],
            name=op.f("fk_allocation_slots_round_id_allocation_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation_slots")),
    )
    with op.batch_alter_table("allocation_slots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_allocation_slots_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            "ix_allocation_slots_round_id_resource_id", ["round_id", "resource_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("allocation_slots", schema=None) as batch_op:
        batch_op.drop_index("ix_allocation_slots_round_id_resource_id")
        batch_op.drop_index(batch_op.f("ix_allocation_slots_application_id"))

    op.drop_table("allocation_slots")
    op.drop_table("allocation_round_resources")
    with op.batch_alter_table("allocation_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_allocation_applications_round_id_applicant_id")

    op.drop_table("allocation_applications")
    op.drop_table("allocation_rounds")
