"""Alembic environment: async engines for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from scheduler.db.base import UTCDateTime
from scheduler.db.models import Base

config = context.config
target_metadata = Base.metadata


def _render_item(kind: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render our column types by name so generated revisions stay readable."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("from scheduler.db.base import UTCDateTime")
        return "UTCDateTime()"
    return False


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        literal_binds=connection is None,
        render_item=_render_item,
    )


def run_migrations_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url"))
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(
        config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool
    )
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
