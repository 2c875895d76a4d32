"""Neighbourhood workers through HTTP: scoped to their communities, they find and record
residents, book for them anywhere their audience admits them, see those bookings and nothing
else, and record walk-ins (checked in at once) for the slot in progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.builders import (
    Tokens,
    assert_problem,
    book,
    make_partner,
    make_resource,
    make_window,
    ok,
    unique,
)

NOW = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)  # 18:30 in Shanghai, Tuesday 1 December 2026
IN_PROGRESS = ("2026-12-01T18:00:00+08:00", "2026-12-01T19:00:00+08:00")
LATER = ("2026-12-01T19:00:00+08:00", "2026-12-01T20:00:00+08:00")
EARLIER = ("2026-12-01T17:00:00+08:00", "2026-12-01T18:00:00+08:00")
TOMORROW_EVENING = ("2026-12-02T18:00:00+08:00", "2026-12-02T19:00:00+08:00")
TOMORROW_LUNCH = ("2026-12-02T11:00:00+08:00", "2026-12-02T12:00:00+08:00")
HOME = "shangnan-2"
OTHER = "shangnan-7"


@pytest.fixture
def evening(clock):
    clock.set(NOW)
    return clock


async def school_ground(client, tokens: Tokens, capacity: int = 60, **fields: Any):
    resource = await make_resource(client, tokens, capacity=capacity, **fields)
    await make_window(client, tokens, resource["id"], start_time="17:00", end_time="21:00")
    return resource


async def canteen(client, tokens: Tokens):
    partner = await make_partner(client, tokens, name="上南二村 committee", zone="residential")
    resource = await make_resource(
        client, tokens, partner["id"], kind="canteen", name="长者食堂", capacity=40
    )
    await make_window(client, tokens, resource["id"], start_time="11:00", end_time="13:00")
    return resource


async def resident_of(client, tokens: Tokens, community: str, name: str = "李奶奶") -> str:
    body = {"name": name, "community": community, "phone": "13800135678"}
    made = await client.post("/api/v1/residents", json=body, headers=tokens.staff())
    return str(ok(made, 201)["id"])


def for_(resident_id: str, **fields: Any) -> dict[str, Any]:
    return {"on_behalf_of": {"sub": resident_id}, **fields}


async def test_a_worker_books_their_resident_into_a_school_ground_and_the_canteen(
    client, tokens: Tokens, evening
):
    worker = tokens.worker(HOME, sub=unique("worker"))
    li = await resident_of(client, tokens, HOME)
    ground, lunch = await school_ground(client, tokens), await canteen(client, tokens)
    on_ground = ok(await book(client, worker, ground["id"], *TOMORROW_EVENING, **for_(li)), 201)
    at_lunch = ok(await book(client, worker, lunch["id"], *TOMORROW_LUNCH, **for_(li)), 201)
    for booking in (on_ground, at_lunch):
        assert booking["holder"]["sub"] == li and booking["status"] == "confirmed"
        assert booking["created_by"] != li
        assert ok(await client.get(f"/api/v1/bookings/{booking['id']}", headers=worker)) == booking
    listed = ok(await client.get("/api/v1/bookings", headers=worker))
    assert {b["id"] for b in listed["items"]} == {on_ground["id"], at_lunch["id"]}
    # The worker may cancel for her, too.
    cancelled = await client.post(f"/api/v1/bookings/{at_lunch['id']}/cancel", headers=worker)
    assert ok(cancelled)["status"] == "cancelled"


async def test_a_worker_is_refused_for_residents_of_other_communities(
    client, tokens: Tokens, evening
):
    worker = tokens.worker(HOME, sub=unique("worker"))
    stranger = await resident_of(client, tokens, OTHER, name="赵老伯")
    ground = await school_ground(client, tokens)
    refused = await book(client, worker, ground["id"], *TOMORROW_EVENING, **for_(stranger))
    assert_problem(refused, 403, "forbidden")
    # Claiming a community the registry contradicts does not help.
    lying = {"on_behalf_of": {"sub": stranger, "name": "赵老伯", "community": HOME}}
    assert_problem(
        await book(client, worker, ground["id"], *TOMORROW_EVENING, **lying), 403, "forbidden"
    )
    unknown = {"on_behalf_of": {"sub": unique("nobody"), "name": "钱阿姨", "community": OTHER}}
    assert_problem(
        await book(client, worker, ground["id"], *TOMORROW_EVENING, **unknown), 403, "forbidden"
    )
    # Staff's booking for that resident is invisible to the worker.
    theirs = ok(
        await book(client, tokens.staff(), ground["id"], *TOMORROW_EVENING, **for_(stranger)), 201
    )
    assert_problem(
        await client.get(f"/api/v1/bookings/{theirs['id']}", headers=worker), 404, "not_found"
    )
    assert_problem(
        await client.post(f"/api/v1/bookings/{theirs['id']}/cancel", headers=worker),
        404,
        "not_found",
    )


async def test_other_communities_residents_are_404_to_a_worker(client, tokens: Tokens):
    worker = tokens.worker(HOME, sub=unique("worker"))
    mine = await resident_of(client, tokens, HOME)
    stranger = await resident_of(client, tokens, OTHER)
    base = "/api/v1/residents"
    assert ok(await client.get(f"{base}/{mine}", headers=worker))["id"] == mine
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"tags": ["elderly"]}),
        ("GET", "/personal", None),
        ("POST", "/merge", {"duplicate_id": mine}),
    ):
        response = await client.request(
            method, f"{base}/{stranger}{suffix}", json=body, headers=worker
        )
        assert_problem(response, 404, "not_found")
    # A merge needs both records to be the worker's.
    merge = await client.post(
        f"{base}/{mine}/merge", json={"duplicate_id": stranger}, headers=worker
    )
    assert_problem(merge, 404, "not_found")
    found = ok(await client.get(base, params={"phone": "5678"}, headers=worker))
    assert mine in {r["id"] for r in found["items"]}
    assert stranger not in {r["id"] for r in found["items"]}
    assert ok(await client.get(base, params={"community": OTHER}, headers=worker))["total"] == 0
    # Nothing was changed or logged for the stranger.
    record = ok(await client.get(f"{base}/{stranger}", headers=tokens.staff()))
    assert record["tags"] == [] and record["version"] == 1
    log = ok(
        await client.get(
            "/api/v1/personal-data-access",
            params={"resident_id": stranger},
            headers=tokens.staff(),
        )
    )
    assert log["total"] == 0


async def test_a_worker_records_and_corrects_residents_of_their_communities_only(
    client, tokens: Tokens, evening
):
    worker_sub = unique("worker")
    worker = tokens.worker(HOME, "shangnan-3", sub=worker_sub)
    made = await client.post(
        "/api/v1/residents", json={"name": "孙阿姨", "community": HOME}, headers=worker
    )
    sun = ok(made, 201)
    assert sun["created_by"] == worker_sub
    outside = await client.post(
        "/api/v1/residents", json={"name": "周老伯", "community": OTHER}, headers=worker
    )
    assert_problem(outside, 403, "forbidden")
    path = f"/api/v1/residents/{sun['id']}"
    moved = ok(await client.patch(path, json={"community": "shangnan-3"}, headers=worker))
    assert moved["community"] == "shangnan-3"
    away = await client.patch(path, json={"community": OTHER}, headers=worker)
    assert_problem(away, 403, "forbidden")
    assert ok(await client.get(path, headers=worker))["community"] == "shangnan-3"


async def test_a_proxy_booking_for_an_unknown_resident_records_her_unverified(
    client, tokens: Tokens, evening
):
    worker = tokens.worker(HOME, sub=unique("worker"))
    ground = await school_ground(client, tokens)
    sub = unique("qian")
    proxy = {"on_behalf_of": {"sub": sub, "name": "钱阿姨", "community": HOME}}
    ok(await book(client, worker, ground["id"], *TOMORROW_EVENING, **proxy), 201)
    record = ok(await client.get(f"/api/v1/residents/{sub}", headers=worker))
    assert (record["name"], record["community"], record["verified"]) == ("钱阿姨", HOME, False)
    verified = ok(
        await client.patch(
            f"/api/v1/residents/{sub}", json={"verified": True}, headers=tokens.staff()
        )
    )
    assert verified["verified"] is True
    # Without a name the registry cannot record her: 422, nothing written.
    nameless = {"on_behalf_of": {"sub": unique("nameless"), "community": HOME}}
    response = await book(client, worker, ground["id"], *TOMORROW_EVENING, **nameless)
    assert_problem(response, 422, "validation_error")
    unknown = nameless["on_behalf_of"]["sub"]
    missing = await client.get(f"/api/v1/residents/{unknown}", headers=tokens.staff())
    assert_problem(missing, 404, "not_found")


async def test_a_walk_in_is_recorded_checked_in(client, tokens: Tokens, evening):
    worker = tokens.worker(HOME, sub=unique("worker"))
    li = await resident_of(client, tokens, HOME)
    ground = await school_ground(client, tokens, policy={"min_lead_minutes": 60})
    # Booked normally, the slot in progress is past its lead time.
    lead = await book(client, worker, ground["id"], *IN_PROGRESS, **for_(li))
    assert_problem(lead, 409, "lead_time")
    response = await book(client, worker, ground["id"], *IN_PROGRESS, **for_(li, walk_in=True))
    walk_in = ok(response, 201)
    assert (walk_in["status"], walk_in["walk_in"], walk_in["holder"]["sub"]) == (
        "checked_in",
        True,
        li,
    )
    seen = ok(await client.get(f"/api/v1/bookings/{walk_in['id']}", headers=tokens.staff()))
    assert seen["status"] == "checked_in" and seen["walk_in"] is True
    listed = ok(
        await client.get(
            "/api/v1/bookings",
            params={"resource_id": ground["id"], "status": "checked_in"},
            headers=tokens.staff(),
        )
    )
    assert [b["id"] for b in listed["items"]] == [walk_in["id"]]
    # It is her one booking at that time.
    twice = await book(client, worker, ground["id"], *IN_PROGRESS, **for_(li, walk_in=True))
    assert_problem(twice, 409, "person_limit")


@pytest.mark.parametrize("times", [LATER, EARLIER], ids=["not-begun", "over"])
async def test_a_walk_in_outside_the_slot_in_progress_is_refused(
    client, tokens: Tokens, evening, times
):
    li = await resident_of(client, tokens, HOME)
    ground = await school_ground(client, tokens)
    response = await book(
        client, tokens.worker(HOME), ground["id"], *times, **for_(li, walk_in=True)
    )
    problem = assert_problem(response, 409, "not_in_progress")
    assert problem["rule"] == "walk_in"
    bookings = ok(
        await client.get(
            "/api/v1/bookings", params={"resource_id": ground["id"]}, headers=tokens.staff()
        )
    )
    assert bookings["total"] == 0


async def test_walk_ins_keep_capacity_and_who_may_record_them(client, tokens: Tokens, evening):
    partner = await make_partner(client, tokens)
    ground = await school_ground(client, tokens, capacity=2, partner_id=partner["id"])
    residents = [await resident_of(client, tokens, HOME) for _ in range(3)]
    owner = tokens.partner(partner["id"])
    ok(
        await book(client, owner, ground["id"], *IN_PROGRESS, **for_(residents[0], walk_in=True)),
        201,
    )
    ok(
        await book(
            client, tokens.staff(), ground["id"], *IN_PROGRESS, **for_(residents[1], walk_in=True)
        ),
        201,
    )
    full = await book(
        client, tokens.worker(HOME), ground["id"], *IN_PROGRESS, **for_(residents[2], walk_in=True)
    )
    assert_problem(full, 409, "capacity")
    # Another partner, and a resident for someone else, may not record walk-ins here.
    other = await make_partner(client, tokens)
    foreign = await book(
        client,
        tokens.partner(other["id"]),
        ground["id"],
        *IN_PROGRESS,
        **for_(residents[2], walk_in=True),
    )
    assert_problem(foreign, 403, "forbidden")
    self_made = await book(
        client, tokens.resident(), ground["id"], *IN_PROGRESS, **for_(residents[2], walk_in=True)
    )
    assert_problem(self_made, 403, "forbidden")
    alone = await book(client, tokens.resident(), ground["id"], *IN_PROGRESS, walk_in=True)
    assert_problem(alone, 422, "validation_error")


async def test_a_worker_sees_only_their_communities_suspensions(client, tokens: Tokens, evening):
    mine = await resident_of(client, tokens, HOME)
    stranger = await resident_of(client, tokens, OTHER)
    until = (NOW + timedelta(days=7)).isoformat()
    for resident in (mine, stranger):
        body = {"resident_id": resident, "scope": "everywhere", "until": until, "reason": "test"}
        ok(await client.post("/api/v1/suspensions", json=body, headers=tokens.staff()), 201)
    seen = ok(await client.get("/api/v1/suspensions", headers=tokens.worker(HOME)))
    ids = {s["resident_id"] for s in seen["items"]}
    assert mine in ids and stranger not in ids
    body = {"resident_id": mine, "scope": "everywhere", "until": until, "reason": "no"}
    made = await client.post("/api/v1/suspensions", json=body, headers=tokens.worker(HOME))
    assert_problem(made, 403, "forbidden")
