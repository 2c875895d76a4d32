"""Whether the scheduled duties actually ran recently, for ``/health``.

The leader answers from its own monitor (no database on the probe's path, so a locked
database cannot hang it) and is unhealthy when a duty has not succeeded within its bound:
restarting that process is what helps, since it hands the leadership on. A standby or a
``serve --no-jobs`` replica reads the leader's record from ``duty_runs`` (a read that never
waits for SQLite's write lock) and reports the same flags, but stays healthy: restarting it
would not run a single duty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

import msgspec
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler.db.engine import READ_ONLY
from scheduler.jobs.monitor import DutyState, bound_for, is_overdue, wall_clock
from scheduler.jobs.repositories import DutyRunRepository
from scheduler.jobs.runner import JobRunner, watched_periods
from scheduler.settings import Settings

READ_TIMEOUT_SECONDS = 2.0
Source = Literal["this_process", "database", "unavailable"]


class DutyStatus(msgspec.Struct):
    """One duty's last run. `overdue`: a watched duty without a success within `bound_seconds`."""

    name: str
    last_started_at: datetime | None
    last_succeeded_at: datetime | None
    last_failed_at: datetime | None
    last_error: str | None
    runs: int
    failures: int
    bound_seconds: int | None
    overdue: bool


class DutiesReport(msgspec.Struct):
    source: Source
    healthy: bool
    overdue: list[str]
    duties: list[DutyStatus]


async def _recorded(session_factory: async_sessionmaker[AsyncSession]) -> list[DutyState]:
    async with session_factory() as session:
        await session.connection(execution_options={READ_ONLY: True})
        rows = await DutyRunRepository(session).all()
    return [
        DutyState(
            row.duty,
            row.last_started_at,
            row.last_succeeded_at,
            row.last_failed_at,
            row.last_error,
            row.runs,
            row.failures,
        )
        for row in rows
    ]


def _statuses(
    states: Iterable[DutyState], periods: dict[str, float], stale_seconds: int, since: datetime
) -> list[DutyStatus]:
    known = {state.name: state for state in states}
    now = wall_clock()
    statuses = []
    for name in sorted(set(known) | set(periods)):
        state = known.get(name, DutyState(name))
        bound = bound_for(periods[name], stale_seconds) if name in periods else None
        statuses.append(
            DutyStatus(
                name,
                state.last_started_at,
                state.last_succeeded_at,
                state.last_failed_at,
                state.last_error,
                state.runs,
                state.failures,
                int(bound.total_seconds()) if bound else None,
                bound is not None and is_overdue(state.last_succeeded_at, since, bound, now),
            )
        )
    return statuses


async def duties_report(
    runner: JobRunner | None,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    started_at: datetime,
) -> DutiesReport:
    """The duties' last runs as this process knows them, and whether it is healthy."""
    periods = watched_periods(settings)
    if runner is not None and runner.role == "leader":
        monitor = runner.monitor
        duties = _statuses(monitor.snapshot(), periods, settings.jobs_stale_seconds, monitor.since)
        overdue = [duty.name for duty in duties if duty.overdue]
        return DutiesReport("this_process", not overdue, overdue, duties)
    try:
        states = await asyncio.wait_for(_recorded(session_factory), READ_TIMEOUT_SECONDS)
    except (SQLAlchemyError, OSError, TimeoutError):
        return DutiesReport("unavailable", True, [], [])
    if not states:
        periods = {}  # nothing has ever run the duties here: nothing to be late against
    duties = _statuses(states, periods, settings.jobs_stale_seconds, started_at)
    return DutiesReport("database", True, [duty.name for duty in duties if duty.overdue], duties)
