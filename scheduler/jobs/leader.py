"""Leader election: exactly one process schedules jobs at a time.

On PostgreSQL the leader holds a session-level advisory lock on a dedicated connection; if
the process dies its connection closes and the lock is free for a standby within one poll.
On SQLite (one machine) an exclusive ``flock`` on a file beside the database does the same.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from scheduler.settings import Settings


class Leadership(Protocol):
    async def acquire(self) -> bool: ...
    async def still_held(self) -> bool: ...
    async def release(self) -> None: ...


def lock_key(database: str) -> int:
    """A signed 64-bit advisory-lock key, distinct per database on a shared server."""
    digest = hashlib.sha256(f"zhoujiadu-scheduler-leader:{database}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresLeadership:
    def __init__(self, engine: AsyncEngine, database: str) -> None:
        self.engine = engine
        self.key = lock_key(database)
        self.connection: AsyncConnection | None = None

    async def acquire(self) -> bool:
        try:
            connection = await self.engine.connect()
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
            await connection.commit()
        except (SQLAlchemyError, OSError):
            return False
        if got:
            self.connection = connection
            return True
        await connection.close()
        return False

    async def still_held(self) -> bool:
        if self.connection is None:
            return False
        try:
            await self.connection.execute(text("SELECT 1"))
            await self.connection.commit()
        except (SQLAlchemyError, OSError):
            self.connection = None
            return False
        return True

    async def release(self) -> None:
        if self.connection is not None:
            try:
                await self.connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}
                )
                await self.connection.commit()
                await self.connection.close()
            except (SQLAlchemyError, OSError):
                pass
            self.connection = None


class FileLeadership:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[str] | None = None

    async def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: ASYNC230, SIM115 - a tiny local file, held while leading
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self.handle = handle
        return True

    async def still_held(self) -> bool:
        return self.handle is not None

    async def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def leadership_for(settings: Settings, engine: AsyncEngine) -> Leadership:
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresLeadership(engine, url.database or "")
    database = Path(url.database or "memory")
    return FileLeadership(database.with_name(database.name + ".leader"))
