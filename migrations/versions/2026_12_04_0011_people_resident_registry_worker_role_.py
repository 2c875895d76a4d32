"""people: resident registry, worker role, scoped suspensions, merges, personal-data log,
resource groups, walk-ins, excused no-shows

A user's ``suspended_until`` becomes a row in ``suspensions`` with scope ``everywhere`` (the
only scope there was), and back again on downgrade (the latest active one).

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from scheduler.db.base import JSONType, UTCDateTime

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = "role IN ('resident', 'partner', 'staff', 'admin')"
NEW_ROLES = "role IN ('resident', 'worker', 'partner', 'staff', 'admin')"


def _people_tables() -> None:
    op.create_table(
        "personal_data_access",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor_sub", sa.String(length=200), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("resident_id", sa.String(length=200), nullable=False),
        sa.Column("fields", JSONType, nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_access")),
    )
    with op.batch_alter_table("personal_data_access", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_personal_data_access_actor_sub"), ["actor_sub"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_personal_data_access_at"), ["at"], unique=False)
        batch_op.create_index(
            "ix_personal_data_access_resident_id_at", ["resident_id", "at"], unique=False
        )
    op.create_table(
        "resident_merges",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("survivor_id", sa.String(length=200), nullable=False),
        sa.Column("merged_id", sa.String(length=200), nullable=False),
        sa.Column("merged_by", sa.String(length=200), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("moved", JSONType, nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_id"], ["users.id"], name=op.f("fk_resident_merges_merged_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["survivor_id"], ["users.id"], name=op.f("fk_resident_merges_survivor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_merges")),
    )
    with op.batch_alter_table("resident_merges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resident_merges_survivor_id"), ["survivor_id"], unique=False
        )
    op.create_table(
        "suspensions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("scope_id", sa.String(length=64), nullable=True),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("lifted_at", UTCDateTime(), nullable=True),
        sa.Column("lifted_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "(scope = 'everywhere') = (scope_id IS NULL)", name=op.f("ck_suspensions_scope_id")
        ),
        sa.CheckConstraint(
            "scope IN ('resource', 'partner', 'everywhere')", name=op.f("ck_suspensions_scope")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_suspensions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suspensions")),
    )
    with op.batch_alter_table("suspensions", schema=None) as batch_op:
        batch_op.create_index("ix_suspensions_user_id_until", ["user_id", "until"], unique=False)


def _group_tables() -> None:
    op.create_table(
        "resource_groups",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("max_bookings", sa.Integer(), nullable=False),
        sa.Column("max_entries", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("period IN ('day', 'overlap')", name=op.f("ck_resource_groups_period")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_groups")),
    )
    op.create_table(
        "resource_group_members",
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["resource_groups.id"],
            name=op.f("fk_resource_group_members_group_id_resource_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_resource_group_members_resource_id_resources"),
        ),
        sa.PrimaryKeyConstraint("group_id", "resource_id", name=op.f("pk_resource_group_members")),
    )
    with op.batch_alter_table("resource_group_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resource_group_members_resource_id"), ["resource_id"], unique=False
        )


def _move_suspensions_out(now: datetime) -> None:
    connection = op.get_bind()
    users = sa.table(
        "users", sa.column("id", sa.String), sa.column("suspended_until", UTCDateTime())
    )
    suspensions = sa.table(
        "suspensions",
        *(sa.column(name, sa.String) for name in ("id", "user_id", "scope", "reason")),
        sa.column("created_by", sa.String),
        sa.column("until", UTCDateTime()),
        sa.column("created_at", UTCDateTime()),
    )
    rows = connection.execute(
        sa.select(users.c.id, users.c.suspended_until).where(users.c.suspended_until.is_not(None))
    ).all()
    if rows:
        op.bulk_insert(
            suspensions,  # type: ignore[arg-type]
            [
                {
                    "id": f"sus_{secrets.token_hex(8)}",
                    "user_id": user_id,
                    "scope": "everywhere",
                    "until": until,
                    "reason": "repeated no-shows (before suspension scopes)",
                    "created_by": "system:migration",
                    "created_at": now,
                }
                for user_id, until in rows
            ],
        )


def upgrade() -> None:
    _people_tables()
    _group_tables()
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("walk_in", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("excused_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("excused_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("excuse_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn", JSONType, nullable=False, server_default="[]"))
    _move_suspensions_out(datetime.now(UTC))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("identity_ref", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("merged_into", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("created_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("anonymised_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.create_index(batch_op.f("ix_users_community"), ["community"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_identity_ref"), ["identity_ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_phone"), ["phone"], unique=False)
        batch_op.drop_column("suspended_until")
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role"), NEW_ROLES)
    # The defaults served existing rows; new rows get theirs from the models.
    for table, column in (("bookings", "walk_in"), ("draws", "withdrawn")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, server_default=None)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("verified", server_default=None)
        batch_op.alter_column("version", server_default=None)


def downgrade() -> None:
    connection = op.get_bind()
    connection.execute(sa.text("UPDATE users SET role = 'resident' WHERE role = 'worker'"))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role"), OLD_ROLES)
        batch_op.add_column(sa.Column("suspended_until", UTCDateTime(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_users_phone"))
        batch_op.drop_index(batch_op.f("ix_users_identity_ref"))
        batch_op.drop_index(batch_op.f("ix_users_community"))
        for column in (
            "version",
            "anonymised_at",
            "updated_at",
            "created_by",
            "merged_into",
            "verified",
            "identity_ref",
            "phone",
        ):
            batch_op.drop_column(column)
    connection.execute(
        sa.text(
            "UPDATE users SET suspended_until = (SELECT max(s.until) FROM suspensions s "
            "WHERE s.user_id = users.id AND s.lifted_at IS NULL)"
        )
    )
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.drop_column("withdrawn")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        for column in ("excuse_reason", "excused_by", "excused_at", "walk_in"):
            batch_op.drop_column(column)
    with op.batch_alter_table("resource_group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_group_members_resource_id"))
    op.drop_table("resource_group_members")
    op.drop_table("resource_groups")
    with op.batch_alter_table("suspensions", schema=None) as batch_op:
        batch_op.drop_index("ix_suspensions_user_id_until")
    op.drop_table("suspensions")
    with op.batch_alter_table("resident_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resident_merges_survivor_id"))
    op.drop_table("resident_merges")
    with op.batch_alter_table("personal_data_access", schema=None) as batch_op:
        batch_op.drop_index("ix_personal_data_access_resident_id_at")
        batch_op.drop_index(batch_op.f("ix_personal_data_access_at"))
        batch_op.drop_index(batch_op.f("ix_personal_data_access_actor_sub"))
    op.drop_table("personal_data_access")
