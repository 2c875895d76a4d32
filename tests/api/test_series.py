"""Booking series: every night of December in the tidal car park, every Tuesday for 8 weeks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.builders import Tokens, assert_problem, make_resource, make_window, ok, unique


@pytest.fixture
def late_november(clock):
    clock.set(datetime(2026, 11, 28, 2, 0, tzinfo=UTC))
    return clock


async def tidal_car_park(client, tokens: Tokens):
    resource = await make_resource(
        client,
        tokens,
        kind="parking",
        capacity=None,
        units=["B1-001", "B1-002"],
        policy={"max_duration_minutes": 840, "horizon_days": 40},
    )
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="08:00")
    return resource


async def test_every_night_of_december(client, tokens: Tokens, late_november):
    resource = await tidal_car_park(client, tokens)
    body = {
        "resource_id": resource["id"],
        "starts_at": "2026-12-01T18:00:00+08:00",
        "ends_at": "2026-12-02T08:00:00+08:00",
        "unit": "B1-002",
        "rrule": "FREQ=DAILY;UNTIL=20261231",
    }
    series = ok(
        await client.post(
            "/api/v1/bookings/series", json=body, headers=tokens.resident(sub=unique("car"))
        ),
        201,
    )
    assert (series["booked"], series["refused"], series["mode"]) == (31, 0, "all_or_nothing")
    nights = [item["booking"] for item in series["occurrences"]]
    assert {night["unit"] for night in nights} == {"B1-002"}
    assert (
        nights[-1]["starts_at"] == "2026-12-31T10:00:00Z"
        and nights[-1]["ends_at"] == "2027-01-01T00:00:00Z"
    )
    assert {night["series_id"] for night in nights} == {series["series_id"]}


async def test_all_or_nothing_and_best_effort(client, tokens: Tokens, late_november):
    resource = await make_resource(client, tokens, capacity=1, policy={"horizon_days": 90})
    await make_window(client, tokens, resource["id"], start_time="19:00", end_time="21:00")
    ok(
        await client.post(
            f"/api/v1/resources/{resource['id']}/closures",
            json={
                "starts_at": "2026-12-15T00:00:00+08:00",
                "ends_at": "2026-12-16T00:00:00+08:00",
                "reason": "考试",
            },
            headers=tokens.staff(),
        ),
        201,
    )
    body = {
        "resource_id": resource["id"],
        "starts_at": "2026-12-01T19:00:00+08:00",
        "ends_at": "2026-12-01T20:00:00+08:00",
        "rrule": "FREQ=WEEKLY;COUNT=8",
    }
    me = tokens.resident(sub=unique("tuesday"))
    refused = assert_problem(
        await client.post("/api/v1/bookings/series", json=body, headers=me), 409, "series_refused"
    )
    outcomes = [
        (o["starts_at"][:10], o["outcome"], (o["problem"] or {}).get("code"))
        for o in refused["occurrences"]
    ]
    assert len(outcomes) == 8 and outcomes[2] == ("2026-12-15", "refused", "closed")
    assert [o for o in outcomes if o[1] == "refused"] == [outcomes[2]]
    assert ok(await client.get("/api/v1/bookings", headers=me))["total"] == 0
    best = ok(
        await client.post(
            "/api/v1/bookings/series", json={**body, "mode": "best_effort"}, headers=me
        ),
        201,
    )
    assert (best["booked"], best["refused"]) == (7, 1)
    assert ok(await client.get("/api/v1/bookings", headers=me))["total"] == 7


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY",
        "FREQ=DAILY;COUNT=100",
        "FREQ=DAILY;COUNT=3;UNTIL=20261231",
        "FREQ=MINUTELY;COUNT=3",
        "FREQ=DAILY;UNTIL=20280101",
    ],
)
async def test_unbounded_or_huge_series_are_422(client, tokens: Tokens, late_november, rule):
    resource = await tidal_car_park(client, tokens)
    body = {
        "resource_id": resource["id"],
        "starts_at": "2026-12-01T18:00:00+08:00",
        "ends_at": "2026-12-02T08:00:00+08:00",
        "rrule": rule,
    }
    problem = assert_problem(
        await client.post("/api/v1/bookings/series", json=body, headers=tokens.resident()),
        422,
        "validation_error",
    )
    assert problem["errors"][0]["field"] == "rrule"


async def test_series_dry_run_writes_nothing(client, tokens: Tokens, late_november):
    resource = await tidal_car_park(client, tokens)
    body = {
        "resource_id": resource["id"],
        "starts_at": "2026-12-01T18:00:00+08:00",
        "ends_at": "2026-12-02T08:00:00+08:00",
        "rrule": "FREQ=DAILY;COUNT=3",
    }
    me = tokens.resident(sub=unique("dry"))
    preview = ok(await client.post("/api/v1/bookings/series?dry_run=true", json=body, headers=me))
    assert (preview["booked"], preview["refused"]) == (3, 0)
    assert ok(await client.get("/api/v1/bookings", headers=me))["total"] == 0
