"""resources.facts_version and calendar_version: the versions that validate the per-process
facts cache (scheduler/availability/facts.py), changed by triggers on every write of the facts
a booking reads (the resource and its partner, opening windows, closures, school terms,
calendar corrections), whatever code path writes them

Each change sets a fresh random 62-bit value rather than adding one: a value written by a
transaction that later rolls back is then never written again, so a process that cached
facts read inside that transaction can never mistake them for the committed ones.

Revision ID: 0015
Revises: 0016 (0010 on the branch before main was merged; the integrator re-chains)
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG_FRESH = "(floor(random() * 4611686018427387903))::bigint"
_SQLITE_FRESH = "(random() >> 2)"

# (table, the resources it changes: a WHERE clause on resources using NEW/OLD)
_PER_RESOURCE = (
    ("opening_windows", "id = {row}.resource_id"),
    ("closures", "id = {row}.resource_id"),
    ("school_terms", "partner_id = {row}.partner_id"),
)


def upgrade() -> None:
    op.add_column(
        "resources",
        sa.Column("facts_version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.create_table(
        "calendar_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_version")),
    )
    op.execute("INSERT INTO calendar_version (id, version) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _postgresql_triggers() -> None:
    op.execute(
        f"""
        CREATE FUNCTION facts_touch_resource() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.facts_version := {_PG_FRESH};
            RETURN NEW;
        END $$"""
    )
    op.execute(
        "CREATE TRIGGER facts_resources BEFORE UPDATE ON resources "
        "FOR EACH ROW EXECUTE FUNCTION facts_touch_resource()"
    )
    op.execute(
        f"""
        CREATE FUNCTION facts_touch_partner() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE resources SET facts_version = {_PG_FRESH} WHERE partner_id = NEW.id;
            RETURN NULL;
        END $$"""
    )
    op.execute(
        "CREATE TRIGGER facts_partners AFTER UPDATE ON partners "
        "FOR EACH ROW EXECUTE FUNCTION facts_touch_partner()"
    )
    for table, where in _PER_RESOURCE:
        new, old = where.format(row="NEW"), where.format(row="OLD")
        op.execute(
            f"""
            CREATE FUNCTION facts_touch_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('INSERT', 'UPDATE') THEN
                    UPDATE resources SET facts_version = {_PG_FRESH} WHERE {new};
                END IF;
                IF TG_OP IN ('UPDATE', 'DELETE') THEN
                    UPDATE resources SET facts_version = {_PG_FRESH} WHERE {old};
                END IF;
                RETURN NULL;
            END $$"""
        )
        op.execute(
            f"CREATE TRIGGER facts_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION facts_touch_{table}()"
        )
    op.execute(
        f"""
        CREATE FUNCTION facts_touch_calendar() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE calendar_version SET version = {_PG_FRESH} WHERE id = 1;
            RETURN NULL;
        END $$"""
    )
    op.execute(
        "CREATE TRIGGER facts_calendar_corrections "
        "AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON calendar_corrections "
        "FOR EACH STATEMENT EXECUTE FUNCTION facts_touch_calendar()"
    )


def _sqlite_triggers() -> None:
    # WHEN keeps the trigger's own UPDATE from firing it again (if recursive triggers are on).
    op.execute(
        "CREATE TRIGGER facts_resources AFTER UPDATE ON resources "
        "WHEN NEW.facts_version = OLD.facts_version BEGIN "
        f"UPDATE resources SET facts_version = {_SQLITE_FRESH} WHERE id = NEW.id; END"
    )
    op.execute(
        "CREATE TRIGGER facts_partners AFTER UPDATE ON partners BEGIN "
        f"UPDATE resources SET facts_version = {_SQLITE_FRESH} WHERE partner_id = NEW.id; END"
    )
    for table, where in _PER_RESOURCE:
        touch = "UPDATE resources SET facts_version = " + _SQLITE_FRESH + " WHERE {}; "
        new, old = touch.format(where.format(row="NEW")), touch.format(where.format(row="OLD"))
        op.execute(f"CREATE TRIGGER facts_{table}_insert AFTER INSERT ON {table} BEGIN {new}END")
        op.execute(
            f"CREATE TRIGGER facts_{table}_update AFTER UPDATE ON {table} BEGIN {new}{old}END"
        )
        op.execute(f"CREATE TRIGGER facts_{table}_delete AFTER DELETE ON {table} BEGIN {old}END")
    touch_calendar = f"UPDATE calendar_version SET version = {_SQLITE_FRESH} WHERE id = 1; "
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER facts_calendar_corrections_{event.lower()} AFTER {event} "
            f"ON calendar_corrections BEGIN {touch_calendar}END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER facts_calendar_corrections ON calendar_corrections")
        op.execute("DROP FUNCTION facts_touch_calendar()")
        for table, _ in _PER_RESOURCE:
            op.execute(f"DROP TRIGGER facts_{table} ON {table}")
            op.execute(f"DROP FUNCTION facts_touch_{table}()")
        op.execute("DROP TRIGGER facts_partners ON partners")
        op.execute("DROP FUNCTION facts_touch_partner()")
        op.execute("DROP TRIGGER facts_resources ON resources")
        op.execute("DROP FUNCTION facts_touch_resource()")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER facts_calendar_corrections_{event}")
            for table, _ in _PER_RESOURCE:
                op.execute(f"DROP TRIGGER facts_{table}_{event}")
        op.execute("DROP TRIGGER facts_partners")
        op.execute("DROP TRIGGER facts_resources")
    op.drop_table("calendar_version")
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_column("facts_version")
