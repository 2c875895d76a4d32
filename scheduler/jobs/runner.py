"""Runs APScheduler in the one process that holds the leadership; the others stand by.

Jobs live in memory: a process that takes the leadership creates every job afresh, due at
once, and plans the lottery draws from the database, so nothing is lost when a leader dies
(``run_duties`` also catches up any draw that is due). A job store in the database would
add only synchronous writes inside the scheduler's wake-up, on the event loop, where a
locked SQLite file stopped the schedule for good. Every job is idempotent, so a catch-up
run or an extra run changes nothing that was already done.

A watchdog in the campaign loop restarts a scheduler that stopped starting its jobs, and
releases the leadership meanwhile, so a standby may take over (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Literal

import structlog
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.base import STATE_RUNNING
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from scheduler.bookings.repositories import DrawRepository
from scheduler.clock import Clock
from scheduler.duties.services import DUTIES
from scheduler.jobs import tasks
from scheduler.jobs.leader import Leadership, leadership_for
from scheduler.jobs.monitor import DutyMonitor, bound_for, is_overdue, wall_clock
from scheduler.jobs.resilience import ResilientScheduler, transact
from scheduler.settings import Settings
from scheduler.standing.repositories import StandingOrderRepository

log = structlog.get_logger("scheduler.jobs")
Role = Literal["leader", "standby", "stopped"]
DRAW_PLANNING_HORIZON = timedelta(minutes=10)
WEBHOOKS_SECONDS = 5
PLAN_DRAWS_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10


def watched_periods(settings: Settings) -> dict[str, float]:
    """Every periodic duty and how often it runs: each must succeed within its bound."""
    periods: dict[str, float] = dict.fromkeys(DUTIES, settings.jobs_interval_seconds)
    periods["webhooks"] = WEBHOOKS_SECONDS
    periods["plan_draws"] = PLAN_DRAWS_SECONDS
    periods["plan_standing_orders"] = PLAN_DRAWS_SECONDS
    return periods


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
        self.scheduler: ResilientScheduler | None = None
        self._task: asyncio.Task[None] | None = None
        # One monitor for the process's life: a restarted scheduler does not reset what
        # /health knows about the duties' last successes.
        self.monitor = DutyMonitor(watched_periods(settings), settings.jobs_stale_seconds)
        self.led_since: datetime | None = None
        self.restarts = 0
        self.runtime: tasks.Runtime | None = None

    async def start(self) -> None:
        self.role = "standby"
        self._task = asyncio.create_task(self._campaign(), name="job-runner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        runtime = self.runtime
        await self._step_down()
        if runtime is not None and runtime.running:
            # Jobs still running would use the engine the app disposes of next.
            for task in runtime.running:
                task.cancel()
            await asyncio.wait(set(runtime.running), timeout=STOP_TIMEOUT_SECONDS)
        self.role = "stopped"

    async def _campaign(self) -> None:
        """Try to lead; while leading, check the lock is still ours and the scheduler still
        starts its jobs; step down if not. No error ends this loop."""
        poll = self.settings.leader_poll_seconds
        while True:
            try:
                await self._tend()
            except Exception:
                log.exception("job_runner_check_failed")
            await asyncio.sleep(poll)

    async def _tend(self) -> None:
        if self.role == "standby" and await self.leadership.acquire():
            try:
                self._lead()
            except Exception:
                log.exception("scheduler_start_failed")
                await self._step_down()
        elif self.role == "leader" and not await self.leadership.still_held():
            log.warning("leadership_lost")
            await self._step_down()
        elif self.role == "leader" and (reason := self.stalled()):
            # Release the leadership too: another process may take over; if none does, this
            # one takes it again on the next poll, with a fresh scheduler.
            self.restarts += 1
            log.error("scheduler_stalled", reason=reason, restarts=self.restarts)
            await self._step_down()

    def stalled(self) -> str | None:
        """Why the scheduler no longer wakes up to start its jobs, or None while it does.
        A job that waits for a locked database, or fails, is not a stall: /health reports
        it instead, and interrupting it would not help."""
        scheduler = self.scheduler
        if scheduler is None or scheduler.state != STATE_RUNNING:
            return "the scheduler is not running"
        assert self.led_since is not None
        # It wakes at least once per period of its most frequent job.
        bound = bound_for(min(self.monitor.periods.values()), self.settings.jobs_stale_seconds)
        if is_overdue(scheduler.last_wakeup_at, self.led_since, bound, wall_clock()):
            return f"no wake-up for more than {int(bound.total_seconds())} s"
        return None

    def _lead(self) -> None:
        self.runtime = tasks.Runtime(
            self.session_factory, self.clock, self.monitor, settings=self.settings
        )
        tasks.bind(self.runtime)
        scheduler = ResilientScheduler(
            jobstores={"default": MemoryJobStore()},
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
            seconds=WEBHOOKS_SECONDS,
            next_run_time=now,
        )
        scheduler.add_job(
            self._plan_draws,
            "interval",
            id="plan-draws",
            seconds=PLAN_DRAWS_SECONDS,
            next_run_time=now,
        )
        scheduler.add_job(
            self._plan_standing_orders,
            "interval",
            id="plan-standing-orders",
            seconds=PLAN_DRAWS_SECONDS,
            next_run_time=now,
        )
        scheduler.start()
        self.scheduler = scheduler
        self.led_since = wall_clock()
        if self.restarts == 0 and not any(s.runs for s in self.monitor.snapshot()):
            self.monitor.since = self.led_since  # a standby that takes over gets the bound
        self.role = "leader"
        log.info("leadership_acquired")

    async def _plan_draws(self) -> None:
        """Schedule a date job at each upcoming lottery release instant, so draws happen on the
        second; ``run_duties`` also draws anything due, so a missed instant is caught up."""
        scheduler = self.scheduler
        assert scheduler is not None
        now = self.clock.now()

        async def upcoming(session: AsyncSession) -> list[tuple[str, datetime]]:
            found = await DrawRepository(session).upcoming(now, now + DRAW_PLANNING_HORIZON)
            return list(found)

        runtime = tasks.current()
        try:
            draws = await tasks.run_duty(
                runtime,
                "plan_draws",
                lambda: transact(self.session_factory, upcoming, "plan_draws"),
            )
        except Exception:
            log.exception("duty_failed", duty="plan_draws")
            return
        for resource_id, release_at in draws:
            scheduler.add_job(
                "scheduler.jobs.tasks:run_draw",
                "date",
                run_date=release_at,
                replace_existing=True,
                id=f"draw:{resource_id}:{release_at.isoformat()}",
                args=[resource_id, release_at.isoformat()],
            )

    async def _plan_standing_orders(self) -> None:
        """Schedule a date job at each upcoming release moment of a standing-order
        occurrence, so it is booked on the second it becomes bookable; the periodic
        ``book_standing_orders`` duty catches up a missed instant."""
        scheduler = self.scheduler
        assert scheduler is not None
        now = self.clock.now()

        async def upcoming(session: AsyncSession) -> list[datetime]:
            return await StandingOrderRepository(session).upcoming_releases(
                now, now + DRAW_PLANNING_HORIZON
            )

        try:
            moments = await tasks.run_duty(
                tasks.current(),
                "plan_standing_orders",
                lambda: transact(self.session_factory, upcoming, "plan_standing_orders"),
            )
        except Exception:
            log.exception("duty_failed", duty="plan_standing_orders")
            return
        for release_at in moments:
            scheduler.add_job(
                "scheduler.jobs.tasks:run_standing_orders",
                "date",
                run_date=release_at,
                replace_existing=True,
                id=f"standing:{release_at.isoformat()}",
                args=[release_at.isoformat()],
            )

    async def _step_down(self) -> None:
        if self.scheduler is not None:
            with contextlib.suppress(Exception):  # already stopped: nothing to shut down
                self.scheduler.shutdown(wait=False)
            self.scheduler = None
        self.led_since = None
        tasks.bind(None)
        await self.leadership.release()
        if self.role == "leader":
            self.role = "standby"
