"""Runs APScheduler in the one process that holds the leadership; the others stand by.

Jobs live in a SQLAlchemy job store in the service's own database, so they survive
restarts. ``coalesce`` and an unlimited ``misfire_grace_time`` mean that runs missed while no
process was leading are caught up once, on the next leader's start. Every job is
idempotent, so a catch-up run or an extra run changes nothing that was already done.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Literal

import structlog
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from scheduler.bookings.repositories import DrawRepository
from scheduler.clock import Clock
from scheduler.db.jobs import JOBS_TABLE
from scheduler.jobs import tasks
from scheduler.jobs.leader import Leadership, leadership_for
from scheduler.settings import Settings

log = structlog.get_logger("scheduler.jobs")
Role = Literal["leader", "standby", "stopped"]
DRAW_PLANNING_HORIZON = timedelta(minutes=10)


def sync_url(async_url: str) -> str:
    """The job store's synchronous URL for the service's database (APScheduler 3 is sync)."""
    url = make_url(async_url)
    driver = "postgresql+psycopg" if url.get_backend_name() == "postgresql" else "sqlite"
    return url.set(drivername=driver).render_as_string(hide_password=False)


class JobRunner:
    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        leadership: Leadership | None = None,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.clock = clock
        self.leadership = leadership or leadership_for(settings, engine)
        self.role: Role = "stopped"
        self.scheduler: AsyncIOScheduler | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.role = "standby"
        self._task = asyncio.create_task(self._campaign(), name="job-runner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._step_down()
        self.role = "stopped"

    async def _campaign(self) -> None:
        """Try to lead; while leading, check the lock is still ours; step down if it is not."""
        poll = self.settings.leader_poll_seconds
        while True:
            if self.role == "standby" and await self.leadership.acquire():
                self._lead()
            elif self.role == "leader" and not await self.leadership.still_held():
                log.warning("leadership_lost")
                await self._step_down()
            await asyncio.sleep(poll)

    def _lead(self) -> None:
        tasks.bind(tasks.Runtime(self.session_factory, self.clock, settings=self.settings))
        store = SQLAlchemyJobStore(
            url=sync_url(self.settings.effective_database_url),
            tablename=JOBS_TABLE,
            engine_options={"pool_pre_ping": True},
        )
        scheduler = AsyncIOScheduler(
            jobstores={"default": store, "memory": MemoryJobStore()},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=UTC,
        )
        now = datetime.now(UTC)
        scheduler.add_job(
            "scheduler.jobs.tasks:run_duties",
            "interval",
            id="duties",
            replace_existing=True,
            seconds=self.settings.jobs_interval_seconds,
            next_run_time=now,
        )
        scheduler.add_job(
            "scheduler.webhooks.jobs:run_webhooks",
            "interval",
            id="webhooks",
            replace_existing=True,
            seconds=5,
            next_run_time=now,
        )
        scheduler.add_job(
            self._plan_draws,
            "interval",
            id="plan-draws",
            jobstore="memory",
            seconds=30,
            next_run_time=now,
        )
        scheduler.start()
        self.scheduler = scheduler
        self.role = "leader"
        log.info("leadership_acquired")

    async def _plan_draws(self) -> None:
        """Schedule a date job at each upcoming lottery release instant, so draws happen on the
        second; ``run_duties`` also draws anything due, so a missed instant is caught up."""
        assert self.scheduler is not None
        now = self.clock.now()
        async with self.session_factory() as session:
            upcoming = await DrawRepository(session).upcoming(now, now + DRAW_PLANNING_HORIZON)
        for resource_id, release_at in upcoming:
            self.scheduler.add_job(
                "scheduler.jobs.tasks:run_draw",
                "date",
                run_date=release_at,
                replace_existing=True,
                id=f"draw:{resource_id}:{release_at.isoformat()}",
                args=[resource_id, release_at.isoformat()],
            )

    async def _step_down(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        tasks.bind(None)
        await self.leadership.release()
        if self.role == "leader":
            self.role = "standby"
