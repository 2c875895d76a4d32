"""Engine and session factory for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from scheduler.settings import Settings

# An execution option: this connection only reads, so on SQLite it begins a deferred
# transaction (a WAL reader never waits for the writer) instead of taking the write lock.
READ_ONLY = "scheduler_read_only"


def create_engine(settings: Settings) -> AsyncEngine:
    """Create the engine; on SQLite every transaction takes the write lock up front.

    SQLite upgrades a read transaction to a write transaction lazily, and two connections
    doing that at once deadlock (SQLITE_BUSY without waiting). ``BEGIN IMMEDIATE`` makes
    writers queue on the busy timeout instead, so SQLite serializes bookings safely.
    """
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        if ":memory:" not in url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        busy_timeout = settings.sqlite_busy_timeout_seconds
        engine = create_async_engine(
            url, connect_args={"timeout": busy_timeout}, pool_pre_ping=False
        )
        _make_sqlite_serializable(engine, busy_timeout)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout_seconds,
        # No pre-ping: it costs a round trip per checkout (3 on asyncpg). A connection that
        # died is reported as 503 service_unavailable and the client retries; recycling keeps
        # connections younger than common idle timeouts of proxies and servers.
        pool_recycle=1800,
    )


def _make_sqlite_serializable(engine: AsyncEngine, busy_timeout_seconds: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_seconds * 1000}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
