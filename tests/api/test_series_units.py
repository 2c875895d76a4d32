"""Series that keep one unit: a December night permit gets one space for all 31 nights even
when neighbours hold some nights on other spaces; otherwise the client chooses refusal or the
fewest changes of space; a dry run tells which spaces are free throughout."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.builders import (
    Tokens,
    assert_problem,
    book,
    make_resource,
    make_window,
    ok,
    unique,
)


@pytest.fixture
def late_november(clock):
    clock.set(datetime(2026, 11, 28, 2, 0, tzinfo=UTC))
    return clock


async def car_park(client, tokens: Tokens, units):
    resource = await make_resource(
        client,
        tokens,
        kind="parking",
        capacity=None,
        units=units,
        policy={"max_duration_minutes": 840, "horizon_days": 40},
    )
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="08:00")
    return resource


async def neighbour_holds(client, tokens: Tokens, resource_id: str, unit: str, day: int):
    ok(
        await book(
            client,
            tokens.resident(sub=unique("neighbour")),
            resource_id,
            f"2026-12-{day:02d}T18:00:00+08:00",
            f"2026-12-{day + 1:02d}T08:00:00+08:00",
            unit=unit,
            unit_exact=True,
        ),
        201,
    )


def permit(resource_id: str, **fields):
    return {
        "resource_id": resource_id,
        "starts_at": "2026-12-01T18:00:00+08:00",
        "ends_at": "2026-12-02T08:00:00+08:00",
        "rrule": "FREQ=DAILY;UNTIL=20261231",
        **fields,
    }


async def test_one_space_for_all_31_nights(client, tokens: Tokens, late_november):
    resource = await car_park(client, tokens, ["B1-001", "B1-002", "B1-003"])
    await neighbour_holds(client, tokens, resource["id"], "B1-001", 5)
    await neighbour_holds(client, tokens, resource["id"], "B1-001", 6)
    await neighbour_holds(client, tokens, resource["id"], "B1-002", 10)
    me = tokens.resident(sub=unique("permit"))
    # The preferred space is taken on two nights, so the one free throughout is kept instead.
    body = permit(resource["id"], unit="B1-001")
    preview = ok(await client.post("/api/v1/bookings/series?dry_run=true", json=body, headers=me))
    assert preview["units_free_throughout"] == ["B1-003"]
    assert (preview["unit"], preview["booked"]) == ("B1-003", 31)
    assert ok(await client.get("/api/v1/bookings", headers=me))["total"] == 0
    series = ok(await client.post("/api/v1/bookings/series", json=body, headers=me), 201)
    assert (series["booked"], series["unit"], series["unit_changes"]) == (31, "B1-003", 0)
    assert {o["booking"]["unit"] for o in series["occurrences"]} == {"B1-003"}
    assert not any(o["unit_changed"] for o in series["occurrences"])
    # With its preferred space free throughout, a second permit keeps that one.
    other = ok(
        await client.post(
            "/api/v1/bookings/series",
            json=permit(resource["id"], unit="B1-002", rrule="FREQ=DAILY;COUNT=5"),
            headers=tokens.resident(sub=unique("permit")),
        ),
        201,
    )
    assert {o["booking"]["unit"] for o in other["occurrences"]} == {"B1-002"}


async def test_no_space_free_throughout_same_or_fewest_changes(
    client, tokens: Tokens, late_november
):
    resource = await car_park(client, tokens, ["B1-001", "B1-002"])
    await neighbour_holds(client, tokens, resource["id"], "B1-001", 5)
    await neighbour_holds(client, tokens, resource["id"], "B1-002", 10)
    me = tokens.resident(sub=unique("permit"))
    preview = assert_problem(
        await client.post(
            "/api/v1/bookings/series?dry_run=true", json=permit(resource["id"]), headers=me
        ),
        409,
        "series_refused",
    )
    assert preview["units_free_throughout"] == []
    refused = assert_problem(
        await client.post("/api/v1/bookings/series", json=permit(resource["id"]), headers=me),
        409,
        "series_refused",
    )
    bad = [
        (o["starts_at"][:10], o["problem"]["code"]) for o in refused["occurrences"] if o["problem"]
    ]
    assert bad == [("2026-12-05", "unit_taken")]
    assert {o["unit"] for o in refused["occurrences"]} == {"B1-001"}
    best = ok(
        await client.post(
            "/api/v1/bookings/series",
            json=permit(resource["id"], unit_policy="fewest_changes"),
            headers=me,
        ),
        201,
    )
    assert (best["booked"], best["unit_changes"], best["unit"]) == (31, 1, None)
    units = [o["booking"]["unit"] for o in best["occurrences"]]
    assert units == ["B1-002"] * 5 + ["B1-001"] * 26
    assert [o["starts_at"][:10] for o in best["occurrences"] if o["unit_changed"]] == ["2026-12-06"]
