"""Keeping the scheduler alive through transient database errors.

Two failures stopped every duty for good before: a ``database is locked`` raised inside
APScheduler's wake-up callback (its SQLite job store wrote there, synchronously, on the event
loop) left no next wake-up scheduled, and a duty that lost the write lock simply waited for
its next run. The scheduler's wake-up now survives any error and retries with backoff, and a
job's transaction is retried with backoff when the database is only busy.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler, run_in_event_loop
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler import errors
from scheduler.db.errors import translate
from scheduler.jobs.monitor import summarise, wall_clock

log = structlog.get_logger("scheduler.jobs")
T = TypeVar("T")

# A busy database is retried within one run: attempts, then the first pause, doubling up to
# the last (with jitter, so a standby's and a request's retries do not fall in step).
TRANSACTION_ATTEMPTS = 4
FIRST_PAUSE_SECONDS = 0.2
LONGEST_PAUSE_SECONDS = 5.0
# A failed wake-up is retried after 0.5 s, 1 s, 2 s … at most 30 s.
FIRST_WAKEUP_RETRY_SECONDS = 0.5
LONGEST_WAKEUP_RETRY_SECONDS = 30.0


def is_transient(error: BaseException) -> bool:
    """A failure that may pass if tried again: a locked or busy database, a lost connection,
    a serialization failure or deadlock, an exhausted pool."""
    if isinstance(error, SQLAlchemyError):
        return isinstance(translate(error), errors.ServiceUnavailable)
    return isinstance(error, OSError | TimeoutError)


def pause(attempt: int, first: float, longest: float) -> float:
    """The backoff before retry number ``attempt`` (1-based), with ±50 % jitter."""
    base: float = min(first * 2 ** (attempt - 1), longest)
    return base * random.uniform(0.5, 1.5)


async def transact(
    session_factory: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[T]],
    what: str,
    attempts: int = TRANSACTION_ATTEMPTS,
) -> T:
    """Run ``work`` in its own short transaction, again (after a pause) while the database is
    only busy; a genuine error, or the last attempt's, is raised."""
    for attempt in range(1, attempts + 1):
        try:
            async with session_factory() as session, session.begin():
                return await work(session)
        except Exception as error:
            if attempt == attempts or not is_transient(error):
                raise
            wait = pause(attempt, FIRST_PAUSE_SECONDS, LONGEST_PAUSE_SECONDS)
            log.warning(
                "job_transaction_retried",
                job=what,
                attempt=attempt,
                retry_in=round(wait, 2),
                error=summarise(error),
            )
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


class ResilientScheduler(AsyncIOScheduler):  # type: ignore[misc]
    """An ``AsyncIOScheduler`` whose wake-up never dies: APScheduler 3 schedules the next
    wake-up only after processing due jobs succeeds, so one exception there stopped the
    schedule for good, silently. Here the wake-up is retried with backoff instead."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failed_wakeups = 0
        self.last_wakeup_error: str | None = None
        # The watchdog's heartbeat: when due jobs were last looked for and handed out.
        self.last_wakeup_at: datetime | None = None

    @run_in_event_loop  # type: ignore[untyped-decorator]
    def wakeup(self) -> None:
        self._stop_timer()
        try:
            wait_seconds = self._process_jobs()
        except Exception as error:
            self.failed_wakeups += 1
            self.last_wakeup_error = summarise(error)
            wait_seconds = pause(
                self.failed_wakeups, FIRST_WAKEUP_RETRY_SECONDS, LONGEST_WAKEUP_RETRY_SECONDS
            )
            log.exception("scheduler_wakeup_failed", retry_in=round(wait_seconds, 2))
        else:
            self.failed_wakeups = 0
            self.last_wakeup_at = wall_clock()
        self._start_timer(wait_seconds)
