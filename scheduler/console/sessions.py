"""Console sessions kept in the service's own database, so they survive restarts and are
shared by every replica; the cookie carries only a random session key (HttpOnly, SameSite).

Expiry slides: each request renews it (``renew_on_access``), so ``console_idle_minutes``
without a request signs the user out. Expired rows are ignored on read and purged on write.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.stores.base import Store
from litestar.types import Message, ScopeSession
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler.db.console import ConsoleSession
from scheduler.settings import Settings

SESSION_COOKIE = "console_session"
STORE_NAME = "console_sessions"
# Set in the request's state by sign-in and sign-out: the answer carries a new session key.
ROTATE = "console_rotate_session"


def _seconds(value: int | timedelta | None) -> int | None:
    return int(value.total_seconds()) if isinstance(value, timedelta) else value


class DatabaseSessionStore(Store):
    """A Litestar ``Store`` over the ``console_sessions`` table (one short transaction each)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        data = value.encode() if isinstance(value, str) else value
        seconds = _seconds(expires_in)
        expires_at = self._now() + timedelta(seconds=seconds) if seconds else None
        async with self.session_factory() as session, session.begin():
            await session.execute(
                delete(ConsoleSession).where(ConsoleSession.expires_at < self._now())
            )
            row = await session.get(ConsoleSession, key)
            if row is None:
                session.add(ConsoleSession(key=key, value=data, expires_at=expires_at))
            else:
                row.value, row.expires_at = data, expires_at

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        async with self.session_factory() as session, session.begin():
            row = await session.get(ConsoleSession, key)
            if row is None:
                return None
            if row.expires_at is not None and row.expires_at <= self._now():
                await session.delete(row)
                return None
            seconds = _seconds(renew_for)
            if seconds:
                row.expires_at = self._now() + timedelta(seconds=seconds)
            return row.value

    async def delete(self, key: str) -> None:
        async with self.session_factory() as session, session.begin():
            await session.execute(delete(ConsoleSession).where(ConsoleSession.key == key))

    async def delete_all(self) -> None:
        async with self.session_factory() as session, session.begin():
            await session.execute(delete(ConsoleSession))

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        async with self.session_factory() as session:
            expires_at = await session.scalar(
                select(ConsoleSession.expires_at).where(ConsoleSession.key == key)
            )
        if expires_at is None:
            return None
        return max(0, int((expires_at - self._now()).total_seconds()))


def rotate_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Store this request's session under a new key and drop the old one (sign-in: a key
    planted in the browser before sign-in never becomes a signed-in session)."""
    connection.scope.setdefault("state", {})[ROTATE] = None


class RotatingSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side backend keeps the cookie's key for ever; this one replaces it
    when the request asked for it (``rotate_session``)."""

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        state = connection.scope.get("state") or {}
        if ROTATE not in state:
            return super().get_session_id(connection)
        if state[ROTATE] is None:
            state[ROTATE] = self.generate_session_id()
        return str(state[ROTATE])

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        state = connection.scope.get("state") or {}
        old = connection.cookies.get(self.config.key)
        if ROTATE in state and old and old != "null":
            await self.delete(old, store=self.config.get_store_from_app(connection.scope["app"]))
        await super().store_in_message(scope_session, message, connection)


class ConsoleSessionConfig(ServerSideSessionConfig):
    """Server-side sessions whose store is the app's database (``app.state.session_factory``)
    rather than one of the app's named stores, with a new key at each sign-in."""

    _backend_class = RotatingSessionBackend

    def get_store_from_app(self, app: Litestar) -> Store:
        store = app.state.get(STORE_NAME)
        if store is None:
            store = DatabaseSessionStore(app.state.session_factory)
            app.state[STORE_NAME] = store
        return store


def session_config(settings: Settings) -> ConsoleSessionConfig:
    """HttpOnly, SameSite=Lax (the identity provider's redirect back is a top-level GET),
    Secure when the service is reached over HTTPS, sliding idle expiry."""
    return ConsoleSessionConfig(
        key=SESSION_COOKIE,
        store=STORE_NAME,
        max_age=settings.console_idle_minutes * 60,
        renew_on_access=True,
        httponly=True,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
        path="/console",
    )
