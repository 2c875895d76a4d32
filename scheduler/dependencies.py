"""Request-scoped dependencies: the database session (one commit per request), clock, caller.

Handlers name them with the aliases below, e.g. ``db_session: DbSession``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.clock import Clock
from scheduler.errors import SchedulerError

DbSession = NamedDependency[AsyncSession]
Now = NamedDependency[datetime]
Caller = NamedDependency[Principal]


async def provide_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    """One transaction per request: committed when the handler returns, rolled back if it
    raises. Litestar finishes this generator before the response is sent, so a client is
    only told "done" after the commit succeeded."""
    async with state.session_factory() as session:
        try:
            yield session
        except SchedulerError as error:
            await (session.commit() if error.keep_prior_work else session.rollback())
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


async def provide_now(state: State, db_session: DbSession) -> datetime:
    """The request's instant, read once the session exists. ``db_session`` is named only to
    order the two: Litestar resolves the dependencies of one level concurrently in an anyio
    task group (tasks created per request); chained, every level holds one dependency and a
    request creates no task."""
    del db_session
    clock: Clock = state.clock
    return clock.now()


# ``principal`` (the authenticated caller) is provided by ``scheduler.users.dependencies``,
# because provisioning the caller is a use case of the users feature.
DEPENDENCIES: dict[str, Callable[..., Any]] = {
    "db_session": provide_session,
    "now": provide_now,
}


@asynccontextmanager
async def released_on_failure(session: AsyncSession) -> AsyncIterator[None]:
    """For a dependency that works with ``db_session`` before the handler runs (provisioning
    the caller): Litestar finishes generator dependencies only once *all* dependencies were
    resolved, so when a later one raises, ``provide_session`` is never resumed and its
    connection (on SQLite, with the write lock) would stay checked out. Give it back here."""
    try:
        yield
    except BaseException:
        await session.rollback()
        await session.close()
        raise
