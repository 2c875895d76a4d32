"""Real test databases: a SQLite file, and a throw-away PostgreSQL database per test run."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def postgres_admin_url() -> str:
    return os.environ.get("SCHEDULER_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _run_admin(sql: str) -> None:
    connection = await asyncpg.connect(_dsn(postgres_admin_url()), timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def postgres_unavailable_reason() -> str | None:
    try:
        asyncio.run(_run_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {postgres_admin_url()} is unreachable: {exc!r}"
    return None


def require_postgres() -> None:
    """Skip loudly when PostgreSQL is unreachable; under CI=true that is a failure."""
    reason = postgres_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)", pytrace=False)
    pytest.skip(f"SKIPPING POSTGRESQL TESTS: {reason}")


@contextmanager
def postgres_database(label: str = "t") -> Iterator[str]:
    """Create an empty database, yield its URL, drop it afterwards."""
    require_postgres()
    name = f"scheduler_{label}_{secrets.token_hex(4)}"
    asyncio.run(_run_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            make_url(postgres_admin_url()).set(database=name).render_as_string(hide_password=False)
        )
    finally:
        asyncio.run(_run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def database(kind: str, tmp_dir: str, label: str = "t") -> Iterator[str]:
    if kind == "postgres":
        with postgres_database(label) as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{tmp_dir}/{label}-{secrets.token_hex(4)}.db"
