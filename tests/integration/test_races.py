"""The invariant under real concurrency: many clients race through HTTP into a real database,
against the service run as in production (several worker processes)."""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from scheduler.db.bookings import ACTIVE, Booking, SlotHolding, UnitHolding
from scheduler.db.engine import create_engine, create_session_factory
from scheduler.db.migrate import upgrade
from tests.conftest import TEST_SECRET, make_settings
from tests.support.builders import Tokens, unique
from tests.support.databases import database
from tests.support.server import running_server

# Real concurrent clients, killed servers or minute-long waits: `make test-fast` skips these.
pytestmark = pytest.mark.slow

HEAVY = os.environ.get("SCHEDULER_HEAVY_TESTS", "").lower() in ("1", "true", "yes")
# 4 tests x 2 databases: 3,200 racing attempts per CI run, 10,400 with SCHEDULER_HEAVY_TESTS=1.
RACERS = 1300 if HEAVY else 400
CONCURRENCY = 200
WORKERS = {"postgres": 4, "sqlite": 2}


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def service(request, tmp_path_factory):
    """A migrated database and the real server on it: (base_url, settings, tokens)."""
    kind = request.param
    data_dir = tmp_path_factory.mktemp(f"race-{kind}")
    with database(kind, str(data_dir), "race") as url:
        settings = make_settings(url, data_dir)
        upgrade(settings)
        env = {
            "SCHEDULER_DATABASE_URL": url,
            "SCHEDULER_JWT_SECRET": TEST_SECRET,
            "SCHEDULER_LOG_LEVEL": "WARNING",
            "SCHEDULER_DATA_DIR": str(data_dir),
            "SCHEDULER_DB_POOL_SIZE": "10",
        }
        with running_server(
            ["serve", "--workers", str(WORKERS[kind])], env, data_dir / "server.log"
        ) as (base, _):
            yield base, settings, Tokens(settings)


def next_evening_slot(hours: int = 1) -> tuple[str, str]:
    """A whole-hour slot starting at least two hours from now (windows are open all day)."""
    start = (datetime.now(UTC) + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    return start.isoformat(), (start + timedelta(hours=hours)).isoformat()


async def setup_resource(base: str, tokens: Tokens, **resource) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        partner = (
            await client.post(
                "/api/v1/partners",
                json={"id": unique("p"), "name": "Race school", "zone": "campus"},
                headers=tokens.staff(),
            )
        ).json()
        body = {"partner_id": partner["id"], "name": "Hot court", "kind": "court", **resource}
        created = await client.post("/api/v1/resources", json=body, headers=tokens.staff())
        assert created.status_code == 201, created.text
        resource_id: str = created.json()["id"]
        window = {
            "start_time": "00:00",
            "end_time": "24:00",
            "rrule": "FREQ=DAILY",
            "audience": "public",
        }
        response = await client.post(
            f"/api/v1/resources/{resource_id}/windows", json=window, headers=tokens.staff()
        )
        assert response.status_code == 201, response.text
        return resource_id


async def race(
    base: str, requests: list[tuple[dict[str, str], dict[str, object]]]
) -> list[httpx.Response]:
    """Fire every request at once (one connection each) and collect the responses."""
    # A fresh connection per request: a pooled keep-alive connection that the server closes
    # while idle would fail the next request on it (an HTTP race, not the service's).
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        start = asyncio.Event()

        async def one(headers: dict[str, str], body: dict[str, object]) -> httpx.Response:
            await start.wait()
            return await client.post("/api/v1/bookings", json=body, headers=headers)

        tasks = [asyncio.create_task(one(headers, body)) for headers, body in requests]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*tasks)


async def active_bookings(settings, resource_id: str) -> list[Booking]:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            query = select(Booking).where(
                Booking.resource_id == resource_id, Booking.status.in_(ACTIVE)
            )
            return list(await session.scalars(query))
    finally:
        await engine.dispose()


async def ledger(settings, resource_id: str) -> tuple[dict[datetime, int], list[UnitHolding]]:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            rows = await session.scalars(
                select(SlotHolding).where(SlotHolding.resource_id == resource_id)
            )
            units = await session.scalars(
                select(UnitHolding).where(UnitHolding.resource_id == resource_id)
            )
            return {row.slot_start: row.held for row in rows}, list(units)
    finally:
        await engine.dispose()


def held_per_hour(bookings: list[Booking]) -> Counter[datetime]:
    held: Counter[datetime] = Counter()
    for booking in bookings:
        cursor = booking.starts_at
        while cursor < booking.ends_at:
            held[cursor] += booking.quantity
            cursor += timedelta(hours=1)
    return held


def statuses(responses: list[httpx.Response]) -> Counter[object]:
    return Counter(
        (r.status_code, r.json().get("code") if r.status_code >= 400 else None) for r in responses
    )


async def test_exactly_capacity_succeeds_for_one_granule(service):
    base, settings, tokens = service
    resource_id = await setup_resource(base, tokens, capacity=10)
    start, end = next_evening_slot()
    body = {"resource_id": resource_id, "starts_at": start, "ends_at": end}
    responses = await race(base, [(tokens.resident(sub=unique("r")), body) for _ in range(RACERS)])
    assert statuses(responses) == Counter({(201, None): 10, (409, "capacity"): RACERS - 10})
    assert len(await active_bookings(settings, resource_id)) == 10
    held, _ = await ledger(settings, resource_id)
    assert list(held.values()) == [10]


async def test_every_unit_is_assigned_at_most_once(service):
    base, settings, tokens = service
    units = [f"B1-{n:03d}" for n in range(1, 8)]
    resource_id = await setup_resource(base, tokens, units=units)
    start, end = next_evening_slot()
    body = {"resource_id": resource_id, "starts_at": start, "ends_at": end, "unit": "B1-001"}
    responses = await race(base, [(tokens.resident(sub=unique("r")), body) for _ in range(RACERS)])
    won = [r.json() for r in responses if r.status_code == 201]
    assert len(won) == len(units)
    assert sorted(b["unit"] for b in won) == units
    assert all(r.json()["code"] == "capacity" for r in responses if r.status_code != 201)
    _, unit_rows = await ledger(settings, resource_id)
    assert sorted(row.unit for row in unit_rows) == units


async def test_overlapping_intervals_of_different_lengths(service):
    base, settings, tokens = service
    resource_id = await setup_resource(base, tokens, capacity=3)
    first, _ = next_evening_slot()
    origin = datetime.fromisoformat(first)
    rng = random.Random(7)
    requests = []
    for _ in range(RACERS):
        offset, length = rng.randrange(0, 4), rng.randrange(1, 4)
        begin = origin + timedelta(hours=offset)
        body = {
            "resource_id": resource_id,
            "starts_at": begin.isoformat(),
            "ends_at": (begin + timedelta(hours=length)).isoformat(),
            "quantity": rng.choice([1, 1, 2]),
        }
        requests.append((tokens.resident(sub=unique("r")), body))
    responses = await race(base, requests)
    assert {r.status_code for r in responses} <= {201, 409}
    booked = await active_bookings(settings, resource_id)
    assert len(booked) == sum(1 for r in responses if r.status_code == 201) > 0
    per_hour = held_per_hour(booked)
    assert max(per_hour.values()) <= 3
    held, _ = await ledger(settings, resource_id)
    assert {start: count for start, count in held.items() if count} == dict(per_hour)


async def test_staff_approvals_racing_new_bookings(service):
    base, settings, tokens = service
    resource_id = await setup_resource(base, tokens, capacity=5, policy={"approval": "staff"})
    start, end = next_evening_slot()
    body = {"resource_id": resource_id, "starts_at": start, "ends_at": end}
    first = await race(base, [(tokens.resident(sub=unique("r")), body) for _ in range(3)])
    pending = [r.json()["id"] for r in first if r.status_code == 201]
    assert len(pending) == 3
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        approvals = [
            client.post(f"/api/v1/bookings/{booking_id}/approve", headers=tokens.staff())
            for booking_id in pending
            for _ in range(3)
        ]
        newcomers = [
            client.post("/api/v1/bookings", json=body, headers=tokens.resident(sub=unique("r")))
            for _ in range(RACERS - len(approvals))
        ]
        responses = await asyncio.gather(*approvals, *newcomers)
    approved = [r for r in responses[: len(approvals)] if r.status_code == 200]
    assert len(approved) == 3
    assert {r.json()["code"] for r in responses[: len(approvals)] if r.status_code != 200} <= {
        "invalid_transition"
    }
    assert sum(1 for r in responses[len(approvals) :] if r.status_code == 201) == 2
    booked = await active_bookings(settings, resource_id)
    assert len(booked) == 5 and sum(b.quantity for b in booked) == 5
