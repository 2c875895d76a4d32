"""The webhook job: announce releases, fan out the outbox, deliver what is due.

Scheduled by the job runner as ``scheduler.webhooks.jobs:run_webhooks`` (a textual reference,
so the SQLAlchemy job store survives restarts). Each batch is its own transaction, so one
failing step, or one slow receiver, never holds back the others for long.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.jobs.resilience import transact
from scheduler.jobs.tasks import Runtime, current, run_duty
from scheduler.settings import Settings
from scheduler.webhooks.destinations import DestinationPolicy, guarded_client
from scheduler.webhooks.dispatch import REQUEST_TIMEOUT_SECONDS, DeliveryLimits, DispatchService
from scheduler.webhooks.releases import ReleaseAnnouncer

log = structlog.get_logger("scheduler.jobs")

# Enough for a burst (25 000 events, 500 delivery attempts) per run without letting one run
# overlap the next by much; whatever is left is picked up by the next run.
MAX_BATCHES = 10

Step = Callable[[AsyncSession], Awaitable[int]]


async def _repeat(
    runtime: Runtime,
    name: str,
    step: Step,
    batches: int = MAX_BATCHES,
    failures: list[Exception] | None = None,
) -> int:
    """Run ``step`` in fresh transactions (each retried while the database is only busy)
    until it reports nothing left, at most ``batches`` times; a failure is logged, counted
    and added to ``failures``, and the other steps still run."""
    total = 0
    try:
        for _ in range(batches):
            done = await transact(runtime.session_factory, step, f"webhooks.{name}")
            total += done
            if not done:
                break
    except Exception as error:
        runtime.failures += 1
        if failures is not None:
            failures.append(error)
        log.exception("webhook_step_failed", step=name)
    return total


async def run_webhooks(client: httpx.AsyncClient | None = None) -> dict[str, int]:
    """One round: releases announced, events fanned out, due deliveries attempted. The round
    is recorded as the ``webhooks`` duty: a success only when every step succeeded."""
    runtime = current()
    counts: dict[str, int] = {}
    with contextlib.suppress(Exception):  # each step's failure is logged where it happens
        await run_duty(runtime, "webhooks", lambda: _round(runtime, client, counts))
    return counts


async def _round(
    runtime: Runtime, client: httpx.AsyncClient | None, counts: dict[str, int]
) -> None:
    failures: list[Exception] = []
    settings = runtime.settings or Settings()
    limits = DeliveryLimits.from_settings(settings)
    counts |= {
        "releases_opened": await _repeat(
            runtime,
            "announce",
            lambda s: ReleaseAnnouncer(s).announce_due(runtime.clock.now()),
            batches=1,
            failures=failures,
        ),
        "events_fanned_out": await _repeat(
            runtime,
            "fan_out",
            lambda s: DispatchService(s).fan_out(runtime.clock.now()),
            failures=failures,
        ),
    }
    async with _http(client, DestinationPolicy.from_settings(settings)) as http:
        counts["deliveries_attempted"] = await _repeat(
            runtime,
            "deliver",
            lambda s: DispatchService(s, limits).deliver_due(runtime.clock.now(), http),
            failures=failures,
        )
    runtime.runs += 1
    if any(counts.values()):
        log.info("webhooks", **{name: count for name, count in counts.items() if count})
    if failures:
        raise failures[0]


@asynccontextmanager
async def _http(
    client: httpx.AsyncClient | None, policy: DestinationPolicy
) -> AsyncIterator[httpx.AsyncClient]:
    """The given client (tests), left open; else a fresh guarded one (``destinations``)."""
    if client is not None:
        yield client
        return
    async with guarded_client(policy, REQUEST_TIMEOUT_SECONDS) as fresh:
        yield fresh
