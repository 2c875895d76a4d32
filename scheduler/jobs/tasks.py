"""The scheduled jobs: thin wrappers that open a session, call a service, commit and log.

APScheduler stores jobs by the textual reference of these module-level functions; the runner
binds the runtime (sessions, clock, the duty monitor) before starting them. Every duty runs
in its own short transaction, retried with backoff while the database is only busy, and its
start, success or failure is recorded for ``/health``.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler import metrics
from scheduler.bookings.draws import DrawService
from scheduler.clock import Clock
from scheduler.duties.services import DUTIES, DutyService
from scheduler.jobs.monitor import DutyMonitor, wall_clock
from scheduler.jobs.repositories import DutyRunRepository
from scheduler.jobs.resilience import transact
from scheduler.settings import Settings
from scheduler.standing.repositories import DUE_BATCH

log = structlog.get_logger("scheduler.jobs")
T = TypeVar("T")
LEADER = f"{socket.gethostname()}:{os.getpid()}"
# Duties that handle a batch per transaction, and the batch size: repeated while a batch is full.
BATCHED = {"book_standing_orders": DUE_BATCH}


@dataclass
class Runtime:
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    monitor: DutyMonitor = field(default_factory=lambda: DutyMonitor({}, 0))
    runs: int = 0
    failures: int = 0
    settings: Settings | None = None  # None: every job's defaults (tests that bind by hand)
    # The tasks running a job now, so a stopping process can cancel them and wait for them
    # before it closes the database.
    running: set[asyncio.Task[object]] = field(default_factory=set)


_runtime: Runtime | None = None


def bind(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("jobs run only in a process that holds the leadership")
    return _runtime


async def run_duty(runtime: Runtime, name: str, work: Callable[[], Awaitable[T]]) -> T:
    """Run one duty's ``work``, counting and recording its start, success or failure."""
    runtime.monitor.started(name)
    metrics.count_job_run(name)
    task = asyncio.current_task()
    if task is not None:
        runtime.running.add(task)
    try:
        result = await work()
    except Exception as error:
        runtime.failures += 1
        runtime.monitor.failed(name, error)
        metrics.count_job_failure(name)
        raise
    finally:
        if task is not None:
            runtime.running.discard(task)
    runtime.monitor.succeeded(name)
    return result


async def run_duties() -> dict[str, int]:
    """Every duty, each in its own transaction, so one failing duty does not block others."""
    runtime = current()
    counts: dict[str, int] = {}
    for name in DUTIES:
        try:
            counts[name] = await run_duty(runtime, name, partial(_duty, runtime, name))
        except Exception:
            log.exception("duty_failed", duty=name)
    runtime.runs += 1
    if any(counts.values()):
        log.info("duties", **{name: count for name, count in counts.items() if count})
    await publish(runtime)
    return counts


async def _duty(runtime: Runtime, name: str) -> int:
    settings = runtime.settings or Settings()

    async def work(session: AsyncSession) -> int:
        service = DutyService(session, settings.retention_months, settings.reminder_lead_minutes)
        count: int = await getattr(service, name)(runtime.clock.now())
        return count

    if name not in BATCHED:
        return await transact(runtime.session_factory, work, name)
    total = 0
    while True:  # one short transaction per batch, until a batch comes back short
        count = await transact(runtime.session_factory, work, name)
        total += count
        if count < BATCHED[name]:
            return total


async def publish(runtime: Runtime) -> None:
    """Mirror the monitor into ``duty_runs`` for the other processes; a failure here only
    delays what they see, so it is logged and left to the next round."""
    states = list(runtime.monitor.snapshot())

    async def write(session: AsyncSession) -> None:
        await DutyRunRepository(session).publish(states, LEADER, wall_clock())

    try:
        await transact(runtime.session_factory, write, "publish_duty_runs", attempts=2)
    except Exception as error:
        log.warning("duty_runs_not_published", error=str(error).splitlines()[0][:200])


async def run_draw(resource_id: str, release_at: str) -> bool:
    """The lottery draw of one release instant (scheduled for that exact instant)."""
    runtime = current()

    async def draw_one(session: AsyncSession) -> bool:
        draw = await DrawService(session).draw(
            resource_id, datetime.fromisoformat(release_at), runtime.clock.now()
        )
        if draw is not None:
            log.info(
                "draw",
                resource_id=resource_id,
                release_at=release_at,
                draw_id=draw.id,
                winners=len(draw.winners),
            )
        return draw is not None

    drawn = await run_duty(
        runtime, "draw", lambda: transact(runtime.session_factory, draw_one, "draw")
    )
    runtime.runs += 1
    return drawn


async def run_standing_orders(release_at: str) -> int:
    """Book the standing-order occurrences released at one instant (scheduled for that exact
    instant by the runner); the periodic duty catches up anything this misses."""
    runtime = current()

    booked = await run_duty(
        runtime, "book_standing_orders", partial(_duty, runtime, "book_standing_orders")
    )
    runtime.runs += 1
    if booked:
        log.info("standing_orders", release_at=release_at, decided=booked)
    return booked
