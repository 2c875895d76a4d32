"""The scheduled jobs: thin wrappers that open a session, call a service, commit and log.

APScheduler stores jobs by the textual reference of these module-level functions, so they
survive restarts; the runner binds the runtime (sessions, clock) before starting them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler import metrics
from scheduler.bookings.draws import DrawService
from scheduler.clock import Clock
from scheduler.duties.services import DUTIES, DutyService
from scheduler.settings import Settings

log = structlog.get_logger("scheduler.jobs")


@dataclass
class Runtime:
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    runs: int = 0
    failures: int = 0
    settings: Settings | None = None  # None: every job's defaults (tests that bind by hand)


_runtime: Runtime | None = None


def bind(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("jobs run only in a process that holds the leadership")
    return _runtime


async def run_duties() -> dict[str, int]:
    """Every duty, each in its own transaction, so one failing duty does not block others."""
    runtime = current()
    now = runtime.clock.now()
    counts: dict[str, int] = {}
    for name in DUTIES:
        metrics.count_job_run(name)
        try:
            async with runtime.session_factory() as session, session.begin():
                retention = runtime.settings.retention_months if runtime.settings else 0
                counts[name] = await getattr(DutyService(session, retention), name)(now)
        except Exception:
            runtime.failures += 1
            metrics.count_job_failure(name)
            log.exception("duty_failed", duty=name)
    runtime.runs += 1
    if any(counts.values()):
        log.info("duties", **{name: count for name, count in counts.items() if count})
    return counts


async def run_draw(resource_id: str, release_at: str) -> bool:
    """The lottery draw of one release instant (scheduled for that exact instant)."""
    runtime = current()
    metrics.count_job_run("draw")
    try:
        async with runtime.session_factory() as session, session.begin():
            draw = await DrawService(session).draw(
                resource_id, datetime.fromisoformat(release_at), runtime.clock.now()
            )
    except Exception:
        metrics.count_job_failure("draw")
        raise
    runtime.runs += 1
    if draw is not None:
        log.info(
            "draw",
            resource_id=resource_id,
            release_at=release_at,
            draw_id=draw.id,
            winners=len(draw.winners),
        )
    return draw is not None
