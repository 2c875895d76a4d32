"""Permits racing for the last spaces through HTTP, against the real server (several worker
processes) on PostgreSQL and SQLite: exactly as many permits as units, each unit held once
per night, and every refused application leaves nothing behind."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from scheduler.db.engine import create_engine, create_session_factory
from scheduler.db.permits import Permit
from tests.integration.test_races import active_bookings, ledger, service, setup_resource
from tests.support.builders import unique

pytestmark = pytest.mark.slow
__all__ = ["service"]  # the module fixture: the real server on each database

UNITS = ["B1-001", "B1-002", "B1-003"]
RACERS = 12


def released_month() -> str:
    """A month whose permit release (the 25th of the month before) has passed and which has
    nights left: this month until the 27th, then the next one."""
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    if today.day <= 27:
        return f"{today:%Y-%m}"
    following = today.replace(day=1) + timedelta(days=32)
    return f"{following:%Y-%m}"


async def test_racing_permits_get_exactly_the_units(service):
    base, settings, tokens = service
    resource_id = await setup_resource(
        base,
        tokens,
        kind="parking",
        capacity=None,
        units=UNITS,
        policy={"max_duration_minutes": 840, "permit": {"permit_horizon_days": 62}},
    )
    limits = httpx.Limits(max_connections=RACERS, max_keepalive_connections=0)
    body = {"resource_id": resource_id, "period": released_month()}
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:
        start = asyncio.Event()

        async def one() -> httpx.Response:
            headers = tokens.resident(sub=unique("racer"))
            await start.wait()
            return await client.post("/api/v1/permits", json=body, headers=headers)

        tasks = [asyncio.create_task(one()) for _ in range(RACERS)]
        await asyncio.sleep(0.05)
        start.set()
        responses = await asyncio.gather(*tasks)
    outcomes = Counter(
        (r.status_code, r.json().get("code") if r.status_code >= 400 else r.json()["state"])
        for r in responses
    )
    assert outcomes[(201, "confirmed")] == len(UNITS), outcomes
    assert set(outcomes) <= {(201, "confirmed"), (409, "series_refused")}, outcomes
    won = [r.json() for r in responses if r.status_code == 201]
    assert sorted(p["unit"] for p in won) == UNITS
    nights = won[0]["nights"]
    bookings = await active_bookings(settings, resource_id)
    assert len(bookings) == nights * len(UNITS)
    assert {b.series_id for b in bookings} == {p["id"] for p in won}
    held, units = await ledger(settings, resource_id)
    assert max(held.values()) <= len(UNITS)
    assert len({(u.unit, u.slot_start) for u in units}) == len(units)
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            count = await session.scalar(
                select(func.count()).select_from(Permit).where(Permit.resource_id == resource_id)
            )
    finally:
        await engine.dispose()
    assert count == len(UNITS)
