"""The per-person rules under real concurrency: one person's racing requests (their own,
and proxy bookings made for them at the same moment) yield one booking per time on a
resource and one per group, through HTTP into the real server on PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from scheduler.db.bookings import ACTIVE, Booking, SlotHolding
from scheduler.db.engine import create_engine, create_session_factory
from scheduler.db.migrate import upgrade
from tests.conftest import TEST_SECRET, make_settings
from tests.support.builders import Tokens, unique
from tests.support.databases import database
from tests.support.server import running_server

# Real concurrent clients against a multi-process server: `make test-fast` skips these.
pytestmark = pytest.mark.slow

ROUNDS = 5  # each race is run on this many fresh slots
COMMUNITY = "shangnan-2"


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def service(request, tmp_path_factory):
    """A migrated database and the real server on it (two worker processes, so requests of
    one person really run in parallel): (base_url, settings, tokens)."""
    kind = request.param
    data_dir = tmp_path_factory.mktemp(f"person-race-{kind}")
    with database(kind, str(data_dir), "prace") as url:
        settings = make_settings(url, data_dir)
        upgrade(settings)
        env = {
            "SCHEDULER_DATABASE_URL": url,
            "SCHEDULER_JWT_SECRET": TEST_SECRET,
            "SCHEDULER_LOG_LEVEL": "WARNING",
            "SCHEDULER_DATA_DIR": str(data_dir),
            "SCHEDULER_DB_POOL_SIZE": "10",
        }
        with running_server(["serve", "--workers", "2"], env, data_dir / "server.log") as (
            base,
            _,
        ):
            yield base, settings, Tokens(settings)


def slot(round_number: int, hours: int = 1) -> tuple[str, str]:
    """A whole hour at least three hours from now, a different one per round."""
    start = (datetime.now(UTC) + timedelta(hours=3 + round_number)).replace(
        minute=0, second=0, microsecond=0
    )
    return start.isoformat(), (start + timedelta(hours=hours)).isoformat()


async def post(base: str, path: str, body: dict, headers: dict[str, str]) -> dict:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code == 201, response.text
        created: dict = response.json()
        return created


async def setup_resource(base: str, tokens: Tokens, capacity: int = 100) -> str:
    partner = await post(
        base,
        "/api/v1/partners",
        {"id": unique("p"), "name": "Race school", "zone": "campus"},
        tokens.staff(),
    )
    body = {
        "partner_id": partner["id"],
        "name": "Track",
        "kind": "sports_field",
        "capacity": capacity,
        "policy": {"max_party_size": 4},
    }
    resource_id: str = (await post(base, "/api/v1/resources", body, tokens.staff()))["id"]
    window = {"start_time": "00:00", "end_time": "24:00", "rrule": "FREQ=DAILY"}
    await post(base, f"/api/v1/resources/{resource_id}/windows", window, tokens.staff())
    return resource_id


async def setup_resident(base: str, tokens: Tokens) -> str:
    body = {"id": unique("li"), "name": "李奶奶", "community": COMMUNITY, "tags": ["elderly"]}
    resident_id: str = (await post(base, "/api/v1/residents", body, tokens.staff()))["id"]
    return resident_id


async def race(
    base: str, requests: list[tuple[dict[str, str], dict[str, object]]]
) -> list[httpx.Response]:
    """Fire every booking request at once (one connection each) and collect the answers."""
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        start = asyncio.Event()

        async def one(headers: dict[str, str], body: dict[str, object]) -> httpx.Response:
            await start.wait()
            return await client.post("/api/v1/bookings", json=body, headers=headers)

        tasks = [asyncio.create_task(one(headers, body)) for headers, body in requests]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*tasks)


def outcomes(responses: list[httpx.Response]) -> Counter[object]:
    return Counter(
        (r.status_code, r.json().get("code") if r.status_code >= 400 else None) for r in responses
    )


async def active(settings, resource_ids: list[str]) -> list[Booking]:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            query = select(Booking).where(
                Booking.resource_id.in_(resource_ids), Booking.status.in_(ACTIVE)
            )
            return list(await session.scalars(query))
    finally:
        await engine.dispose()


async def held(settings, resource_id: str) -> dict[datetime, int]:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            rows = await session.scalars(
                select(SlotHolding).where(SlotHolding.resource_id == resource_id)
            )
            return {row.slot_start: row.held for row in rows if row.held}
    finally:
        await engine.dispose()


async def test_ten_racing_bookings_of_one_person_yield_one(service):
    base, settings, tokens = service
    resource_id = await setup_resource(base, tokens, capacity=100)
    for round_number in range(ROUNDS):
        sub = unique("wang")
        start, end = slot(round_number)
        body = {"resource_id": resource_id, "starts_at": start, "ends_at": end, "quantity": 2}
        headers = tokens.resident(sub=sub)
        responses = await race(base, [(headers, body) for _ in range(10)])
        assert outcomes(responses) == Counter({(201, None): 1, (409, "person_limit"): 9})
    booked = await active(settings, [resource_id])
    assert len(booked) == ROUNDS and len({b.holder_id for b in booked}) == ROUNDS
    # The ledger holds exactly the winners' places: the losers took nothing.
    assert sorted((await held(settings, resource_id)).values()) == [2] * ROUNDS


async def test_self_and_proxy_bookings_for_one_person_racing_yield_one(service):
    """The resident books from her phone while staff and her worker book for her."""
    base, settings, tokens = service
    resource_id = await setup_resource(base, tokens, capacity=100)
    worker = tokens.worker(COMMUNITY, sub=unique("worker"))
    for round_number in range(ROUNDS):
        resident_id = await setup_resident(base, tokens)
        start, end = slot(round_number)
        own = {"resource_id": resource_id, "starts_at": start, "ends_at": end}
        proxy = {**own, "on_behalf_of": {"sub": resident_id}}
        requests = (
            [(tokens.resident(sub=resident_id), own)] * 4
            + [(tokens.staff(), proxy)] * 4
            + [(worker, proxy)] * 4
        )
        responses = await race(base, requests)
        assert outcomes(responses) == Counter({(201, None): 1, (409, "person_limit"): 11})
    booked = await active(settings, [resource_id])
    assert len(booked) == ROUNDS and len({b.holder_id for b in booked}) == ROUNDS


async def test_overlapping_requests_of_different_lengths_yield_one(service):
    base, settings, tokens = service
    resource_id = await setup_resource(base, tokens, capacity=100)
    accepted = 0
    for round_number in range(ROUNDS):
        origin = datetime.fromisoformat(slot(4 * round_number)[0])
        sub = unique("zhao")
        requests = []
        for offset, length in [(0, 1), (0, 2), (1, 1), (1, 2), (0, 3), (2, 1)] * 2:
            begin = origin + timedelta(hours=offset)
            body = {
                "resource_id": resource_id,
                "starts_at": begin.isoformat(),
                "ends_at": (begin + timedelta(hours=length)).isoformat(),
            }
            requests.append((tokens.resident(sub=sub), body))
        responses = await race(base, requests)
        assert {r.status_code for r in responses} <= {201, 409}
        assert {r.json()["code"] for r in responses if r.status_code == 409} == {"person_limit"}
        accepted += sum(r.status_code == 201 for r in responses)
        mine = [b for b in await active(settings, [resource_id]) if b.holder_id == sub]
        assert len(mine) == sum(r.status_code == 201 for r in responses) >= 1
        # However many were accepted, no two of them overlap.
        spans = sorted((b.starts_at, b.ends_at) for b in mine)
        assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(spans))
    assert len(await active(settings, [resource_id])) == accepted


async def test_group_limit_holds_across_two_resources_of_one_group(service):
    base, settings, tokens = service
    grounds = [await setup_resource(base, tokens) for _ in range(2)]
    group = {"id": unique("grounds"), "name": "School grounds", "resource_ids": grounds}
    await post(base, "/api/v1/resource-groups", {**group, "period": "overlap"}, tokens.staff())
    for round_number in range(ROUNDS):
        sub = unique("chen")
        start, end = slot(round_number)
        requests = [
            (
                tokens.resident(sub=sub),
                {"resource_id": ground, "starts_at": start, "ends_at": end},
            )
            for ground in grounds
            for _ in range(5)
        ]
        responses = await race(base, requests)
        # Losers on the winner's own resource meet the per-resource rule first.
        assert outcomes(responses) == Counter(
            {(201, None): 1, (409, "person_limit"): 4, (409, "group_limit"): 5}
        )
    booked = await active(settings, grounds)
    assert len(booked) == ROUNDS and len({b.holder_id for b in booked}) == ROUNDS


async def test_many_people_racing_twice_each_get_one_each_within_capacity(service):
    base, settings, tokens = service
    resource_id = await setup_resource(base, tokens, capacity=20)
    start, end = slot(0)
    body = {"resource_id": resource_id, "starts_at": start, "ends_at": end}
    people = [unique("r") for _ in range(40)]
    requests = [(tokens.resident(sub=sub), body) for sub in people for _ in range(3)]
    responses = await race(base, requests)
    found = outcomes(responses)
    assert found[(201, None)] == 20, found
    assert set(found) <= {(201, None), (409, "person_limit"), (409, "capacity")}
    booked = await active(settings, [resource_id])
    assert len(booked) == 20 and len({b.holder_id for b in booked}) == 20
    assert list((await held(settings, resource_id)).values()) == [20]
