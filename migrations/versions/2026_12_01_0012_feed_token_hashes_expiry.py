"""feed tokens stored as SHA-256 hashes, with an optional expiry

A feed URL's token is a bearer credential; the table keeps only its SHA-256 (hex), so a copy
of the database reveals no working feed URL. Existing tokens are hashed in place: their URLs
keep working.

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from scheduler.db.base import UTCDateTime

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

feed_tokens = sa.table(
    "feed_tokens",
    sa.column("token_hash", sa.String),
    sa.column("revoked_at", UTCDateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("feed_tokens", schema=None) as batch_op:
        batch_op.alter_column(
            "token",
            new_column_name="token_hash",
            existing_type=sa.String(length=64),
            existing_nullable=False,
        )
        batch_op.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
    bind = op.get_bind()
    # Clear tokens are 43 characters, hashes 64: a hashed row can never be hashed again.
    clear = bind.execute(
        sa.select(feed_tokens.c.token_hash).where(sa.func.length(feed_tokens.c.token_hash) < 64)
    )
    for (token,) in clear.all():
        digest = hashlib.sha256(token.encode()).hexdigest()
        bind.execute(
            feed_tokens.update().where(feed_tokens.c.token_hash == token).values(token_hash=digest)
        )


def downgrade() -> None:
    # A hash cannot be turned back into its token: the old schema could not serve these feeds,
    # so they are revoked rather than left pretending to work.
    op.get_bind().execute(
        feed_tokens.update()
        .where(feed_tokens.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    with op.batch_alter_table("feed_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.alter_column(
            "token_hash",
            new_column_name="token",
            existing_type=sa.String(length=64),
            existing_nullable=False,
        )
