"""Portable statements that differ by dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def dialect_insert(dialect: str, table: Table) -> Any:
    """The dialect's own ``INSERT`` construct, which knows ``ON CONFLICT`` (PostgreSQL, and
    SQLite 3.24+ with ``RETURNING`` from 3.35)."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


async def insert_ignoring_conflicts(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]]
) -> int:
    """``INSERT ... ON CONFLICT DO NOTHING``; returns how many rows were inserted."""
    if not rows:
        return 0
    statement = dialect_insert(dialect_of(session), table).values(rows).on_conflict_do_nothing()
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
