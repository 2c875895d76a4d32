"""The job scheduler keeps running through a locked database, a stopped scheduler is restarted,
and ``/health`` says whether the duties actually ran (503 when one is overdue).

The app runs with its embedded scheduler on a fresh database, on real time (duties every
second). Lock contention is real: another SQLite connection takes the write lock with
``BEGIN IMMEDIATE`` and holds it longer than the service's busy timeout, again and again.
Before the fix, one such hold of more than 5 s raised ``database is locked`` inside
APScheduler's wake-up (its SQLite job store wrote there) and no duty ran again, while
``/health`` kept answering ``"jobs": "leader"``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from scheduler.app import create_app
from scheduler.clock import ManualClock
from scheduler.db.migrate import upgrade
from scheduler.duties.services import DUTIES
from scheduler.settings import Settings
from tests.conftest import make_settings
from tests.support.builders import Tokens, book, make_resource, make_window, ok, unique
from tests.support.databases import database

# Real waits of tens of seconds: `make test-fast` skips these.
pytestmark = pytest.mark.slow

RELEASE = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
SLOT = ("2026-12-08T19:00:00+08:00", "2026-12-08T20:00:00+08:00")
BUSY_TIMEOUT_SECONDS = 1
# Every job that runs each second (webhooks every 5 s, plan_draws every 30 s).
EVERY_SECOND = (*DUTIES, "webhooks")


@pytest.fixture(params=["sqlite"])
def migrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """A fresh migrated database of the requested kind (SQLite unless parametrized)."""
    with database(request.param, str(tmp_path), "jobs") as url:
        settings = make_settings(url, tmp_path).with_overrides(
            run_jobs=True,
            jobs_interval_seconds=1,
            leader_poll_seconds=1,
            sqlite_busy_timeout_seconds=BUSY_TIMEOUT_SECONDS,
        )
        upgrade(settings)
        yield settings


@asynccontextmanager
async def service(
    migrated: Settings, stale_seconds: int
) -> AsyncIterator[tuple[AsyncTestClient[Litestar], Litestar, Settings]]:
    settings = migrated.with_overrides(jobs_stale_seconds=stale_seconds)
    app = create_app(settings, clock=ManualClock(RELEASE + timedelta(seconds=1)))
    async with AsyncTestClient(app=app) as client:
        yield client, app, settings


def hold_write_lock(settings: Settings, seconds: float) -> None:
    """Another connection takes SQLite's write lock and keeps it for ``seconds``."""
    path = make_url(settings.effective_database_url).database
    assert path is not None
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        connection.execute("BEGIN IMMEDIATE")
        time.sleep(seconds)
        connection.execute("COMMIT")
    finally:
        connection.close()


async def health(client: AsyncTestClient[Litestar]) -> tuple[int, dict[str, Any]]:
    response = await client.get("/health")
    return response.status_code, response.json()


def duties_by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {duty["name"]: duty for duty in body["duties"]}


async def eventually(condition: Callable[[], Any], seconds: float, message: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = await condition()
        if value:
            return value
        await asyncio.sleep(0.25)
    raise AssertionError(message)


def succeeded_after(body: dict[str, Any], moment: datetime, names: tuple[str, ...]) -> bool:
    duties = duties_by_name(body)
    return all(
        name in duties
        and duties[name]["last_succeeded_at"] is not None
        and datetime.fromisoformat(duties[name]["last_succeeded_at"]) > moment
        for name in names
    )


async def test_duties_keep_running_while_another_connection_holds_the_write_lock(migrated):
    async with service(migrated, stale_seconds=30) as (client, app, settings):
        tokens = Tokens(settings)
        resource = await make_resource(
            client,
            tokens,
            capacity=1,
            policy={"release": {"days_ahead": 7, "at": "09:00"}, "offer_minutes": 20},
        )
        await make_window(client, tokens, resource["id"], start_time="18:00", end_time="21:00")
        holder, waiter = tokens.resident(sub=unique("holder")), tokens.resident(sub=unique("w"))
        booked = ok(await book(client, holder, resource["id"], *SLOT), 201)
        waiting = ok(await book(client, waiter, resource["id"], *SLOT, waitlist=True), 202)
        assert waiting["status"] == "waitlisted"
        await eventually(
            lambda: _ran(client, EVERY_SECOND), 15, "the duties never ran before contention"
        )

        # Holds longer than the busy timeout with short gaps, and one longer than the 5 s
        # that used to kill the scheduler's wake-up; the freed place is given back meanwhile.
        holds = [2.5, 2.5, 8.0, 2.5, 2.5, 2.5]

        async def contend() -> None:
            for seconds in holds:
                await asyncio.to_thread(hold_write_lock, settings, seconds)
                await asyncio.sleep(0.1)

        contention = asyncio.create_task(contend())

        async def cancelled() -> bool:
            response = await client.post(f"/api/v1/bookings/{booked['id']}/cancel", headers=holder)
            assert response.status_code in (200, 503), response.text
            return response.status_code == 200

        await eventually(cancelled, 40, "the cancellation never got through")
        await contention
        ended = datetime.now(UTC)

        async def offered() -> bool:
            response = await client.get(f"/api/v1/bookings/{waiting['id']}", headers=waiter)
            return bool(ok(response)["status"] == "offered")

        await eventually(offered, 20, "the waitlist duty never offered the freed place")
        body = await eventually(
            lambda: _ran_after(client, ended), 20, "the duties did not run after contention"
        )
        duties = duties_by_name(body)
        # The contention was real: some duty lost every retry to the lock at least once …
        assert any(
            duty["failures"] and "database is locked" in (duty["last_error"] or "")
            for duty in duties.values()
        ), duties
        # … and the service stayed healthy and leading, without restarting the scheduler.
        status, body = await health(client)
        assert (status, body["status"], body["jobs"], body["overdue"]) == (
            200,
            "ok",
            "leader",
            [],
        )
        assert app.state.job_runner.restarts == 0


async def _ran(client: AsyncTestClient[Litestar], names: tuple[str, ...]) -> bool:
    _, body = await health(client)
    duties = duties_by_name(body)
    return body["jobs"] == "leader" and all(
        name in duties and duties[name]["last_succeeded_at"] for name in names
    )


async def _ran_after(client: AsyncTestClient[Litestar], moment: datetime) -> dict[str, Any] | None:
    status, body = await health(client)
    return body if status == 200 and succeeded_after(body, moment, EVERY_SECOND) else None


async def test_health_is_unhealthy_while_duties_cannot_run_and_recovers(migrated):
    async with service(migrated, stale_seconds=5) as (client, app, settings):
        await eventually(lambda: _ran(client, EVERY_SECOND), 15, "the duties never ran")
        assert (await health(client))[0] == 200

        lock = asyncio.create_task(asyncio.to_thread(hold_write_lock, settings, 12))

        async def unhealthy() -> dict[str, Any] | None:
            started = time.monotonic()
            status, body = await health(client)
            # The leader answers from memory: a locked database cannot hang the probe.
            assert time.monotonic() - started < 1
            # 503 as soon as the bound passes; a duty's error once it has lost every retry.
            late = [duty for duty in body["duties"] if duty["overdue"] and duty["last_error"]]
            return body if status == 503 and late else None

        body = await eventually(unhealthy, 11.5, "/health stayed 200 while no duty could run")
        assert body["status"] == "duties_overdue" and body["jobs"] == "leader"
        duties = duties_by_name(body)
        assert [name for name, duty in duties.items() if duty["overdue"]] == body["overdue"]
        failed = next(duty for duty in body["duties"] if duty["overdue"] and duty["last_error"])
        assert "database is locked" in failed["last_error"], failed
        assert datetime.fromisoformat(failed["last_failed_at"]) > datetime.fromisoformat(
            failed["last_succeeded_at"]
        )
        await lock
        freed = datetime.now(UTC)
        body = await eventually(
            lambda: _ran_after(client, freed), 20, "/health did not recover after the lock"
        )
        assert body["status"] == "ok" and body["overdue"] == []
        # Duties that start and fail are not a stalled scheduler: no restart was needed.
        assert app.state.job_runner.restarts == 0


@pytest.mark.parametrize(
    "migrated", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_scheduler_that_stops_waking_up_is_restarted(migrated):
    async with service(migrated, stale_seconds=4) as (client, app, _settings):
        await eventually(lambda: _ran(client, EVERY_SECOND), 15, "the duties never ran")
        runner = app.state.job_runner
        stopped = runner.scheduler
        # Exactly the state the locked wake-up used to leave behind: no next wake-up.
        stopped._eventloop.call_soon_threadsafe(stopped._stop_timer)
        await asyncio.sleep(0.5)
        frozen = datetime.now(UTC)

        async def restarted() -> bool:
            return bool(runner.restarts >= 1 and runner.scheduler is not stopped)

        await eventually(restarted, 15, "the watchdog never restarted the stalled scheduler")
        body = await eventually(
            lambda: _ran_after(client, frozen), 15, "duties did not resume after the restart"
        )
        assert body["jobs"] == "leader" and body["status"] == "ok"
