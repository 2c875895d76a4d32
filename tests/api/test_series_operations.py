"""Series operations through HTTP: filter by series, refuse unknown query parameters, cancel
the rest of a month, approve or reject a series (or several bookings) in one request."""

from __future__ import annotations

from datetime import UTC, datetime

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


@pytest.fixture
def late_november(clock):
    clock.set(datetime(2026, 11, 28, 2, 0, tzinfo=UTC))
    return clock


async def car_park(client, tokens: Tokens, **policy):
    resource = await make_resource(
        client,
        tokens,
        kind="parking",
        capacity=None,
        units=["B1-001", "B1-002"],
        policy={"max_duration_minutes": 840, "horizon_days": 40, **policy},
    )
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="08:00")
    return resource


def december_nights(resource_id: str, **fields):
    return {
        "resource_id": resource_id,
        "starts_at": "2026-12-01T18:00:00+08:00",
        "ends_at": "2026-12-02T08:00:00+08:00",
        "rrule": "FREQ=DAILY;UNTIL=20261231",
        **fields,
    }


async def test_unknown_query_parameters_are_refused_everywhere(client, tokens: Tokens):
    me = tokens.resident()
    problem = assert_problem(
        await client.get("/api/v1/bookings?series=ser_x", headers=me), 422, "validation_error"
    )
    assert problem["errors"][0]["field"] == "series"
    assert "series_id" in problem["errors"][0]["message"]
    assert_problem(
        await client.get("/api/v1/resources?colour=red", headers=me), 422, "validation_error"
    )
    # A misspelt dry_run must not book for real.
    resource = await make_resource(client, tokens, capacity=1)
    await make_window(client, tokens, resource["id"])
    typo = await client.post(
        "/api/v1/bookings?dryrun=true",
        json={
            "resource_id": resource["id"],
            "starts_at": "2030-01-01T19:00:00+08:00",
            "ends_at": "2030-01-01T20:00:00+08:00",
        },
        headers=me,
    )
    assert_problem(typo, 422, "validation_error")
    assert (
        ok(await client.get(f"/api/v1/bookings?resource_id={resource['id']}", headers=me))["total"]
        == 0
    )
    # Declared names, aliases and list parameters pass.
    ok(
        await client.get(
            "/api/v1/bookings?status=confirmed&status=pending&from=2026-12-01", headers=me
        )
    )
    ok(await client.get("/health"))
    assert_problem(await client.get("/health?x=1"), 422, "validation_error")


async def test_filter_by_series(client, tokens: Tokens, late_november):
    resource = await car_park(client, tokens)
    me = tokens.resident(sub=unique("car"))
    first = ok(
        await client.post(
            "/api/v1/bookings/series",
            json=december_nights(resource["id"], rrule="FREQ=DAILY;COUNT=3"),
            headers=me,
        ),
        201,
    )
    ok(
        await client.post(
            "/api/v1/bookings/series",
            json=december_nights(
                resource["id"],
                starts_at="2026-12-10T18:00:00+08:00",
                ends_at="2026-12-11T08:00:00+08:00",
                rrule="FREQ=DAILY;COUNT=2",
            ),
            headers=me,
        ),
        201,
    )
    assert ok(await client.get("/api/v1/bookings", headers=me))["total"] == 5
    listed = ok(await client.get(f"/api/v1/bookings?series_id={first['series_id']}", headers=me))
    assert listed["total"] == 3
    assert {b["series_id"] for b in listed["items"]} == {first["series_id"]}
    stranger = tokens.resident(sub=unique("other"))
    assert (
        ok(await client.get(f"/api/v1/bookings?series_id={first['series_id']}", headers=stranger))[
            "total"
        ]
        == 0
    )


async def test_cancel_the_rest_of_the_month(client, tokens: Tokens, late_november):
    resource = await car_park(client, tokens)
    me = tokens.resident(sub=unique("car"))
    series = ok(
        await client.post(
            "/api/v1/bookings/series",
            json=december_nights(resource["id"], unit="B1-001"),
            headers=me,
        ),
        201,
    )
    assert series["booked"] == 31
    path = f"/api/v1/bookings/series/{series['series_id']}/cancel"
    assert_problem(
        await client.post(path, json={"from": "2026-12-15"}, headers=tokens.resident()),
        404,
        "not_found",
    )
    result = ok(
        await client.post(path, json={"from": "2026-12-15", "reason": "moving"}, headers=me)
    )
    assert (result["done"], result["refused"]) == (17, 0)
    assert {r["status"] for r in result["results"]} == {"cancelled"}
    assert result["results"][0]["starts_at"] == "2026-12-15T10:00:00Z"
    left = ok(
        await client.get(
            f"/api/v1/bookings?series_id={series['series_id']}&status=confirmed", headers=me
        )
    )
    assert left["total"] == 14
    assert max(b["starts_at"] for b in left["items"]) == "2026-12-14T10:00:00Z"
    # The space is free again at once: two neighbours take both units on the 20th.
    for unit in ("B1-001", "B1-002"):
        ok(
            await book(
                client,
                tokens.resident(sub=unique("neighbour")),
                resource["id"],
                "2026-12-20T18:00:00+08:00",
                "2026-12-21T08:00:00+08:00",
                unit=unit,
                unit_exact=True,
            ),
            201,
        )
    again = ok(await client.post(path, json={"from": "2026-12-15"}, headers=me))
    assert (again["done"], again["refused"]) == (0, 0)


async def test_approve_a_series_and_reject_selected(client, tokens: Tokens, late_november):
    resource = await make_resource(
        client, tokens, capacity=1, policy={"horizon_days": 90, "approval": "staff"}
    )
    await make_window(client, tokens, resource["id"], start_time="19:00", end_time="21:00")
    me = tokens.resident(sub=unique("club"))
    body = {
        "resource_id": resource["id"],
        "starts_at": "2026-12-01T19:00:00+08:00",
        "ends_at": "2026-12-01T20:00:00+08:00",
        "rrule": "FREQ=WEEKLY;COUNT=4",
    }
    series = ok(await client.post("/api/v1/bookings/series", json=body, headers=me), 201)
    ids = [o["booking"]["id"] for o in series["occurrences"]]
    assert {o["booking"]["status"] for o in series["occurrences"]} == {"pending"}
    ok(await client.post(f"/api/v1/bookings/{ids[0]}/reject", headers=tokens.staff()))
    batch = {"action": "approve", "series_id": series["series_id"], "note": "term booking"}
    assert_problem(
        await client.post("/api/v1/approvals/batch", json=batch, headers=me), 403, "forbidden"
    )
    approved = ok(await client.post("/api/v1/approvals/batch", json=batch, headers=tokens.staff()))
    assert (approved["done"], approved["refused"]) == (3, 0)
    assert [r["booking_id"] for r in approved["results"]] == ids[1:]
    listed = ok(await client.get(f"/api/v1/bookings?series_id={series['series_id']}", headers=me))
    assert [b["status"] for b in listed["items"]] == [
        "rejected",
        "confirmed",
        "confirmed",
        "confirmed",
    ]
    assert {b["decision_note"] for b in listed["items"][1:]} == {"term booking"}
    # Several selected bookings: the one already decided is refused, the unknown one not found.
    other = ok(
        await client.post(
            "/api/v1/bookings/series",
            json={
                **body,
                "starts_at": "2026-12-01T20:00:00+08:00",
                "ends_at": "2026-12-01T21:00:00+08:00",
            },
            headers=tokens.resident(sub=unique("club")),
        ),
        201,
    )
    other_ids = [o["booking"]["id"] for o in other["occurrences"]]
    selected = {"action": "reject", "booking_ids": [other_ids[0], ids[1], "bkg_missing"]}
    rejected = ok(
        await client.post("/api/v1/approvals/batch", json=selected, headers=tokens.staff())
    )
    outcomes = [
        (r["outcome"], r["status"], (r["problem"] or {}).get("code")) for r in rejected["results"]
    ]
    assert outcomes == [
        ("done", "rejected", None),
        ("refused", None, "invalid_transition"),
        ("refused", None, "not_found"),
    ]
    # A stranger partner sees nothing of the series.
    partner = tokens.partner((await make_partner(client, tokens))["id"])
    assert_problem(
        await client.post("/api/v1/approvals/batch", json=batch, headers=partner), 404, "not_found"
    )
    assert_problem(
        await client.post(
            "/api/v1/approvals/batch",
            json={"action": "approve", "series_id": "x", "booking_ids": ["y"]},
            headers=tokens.staff(),
        ),
        422,
        "validation_error",
    )


async def test_bookings_carry_the_resource_name_and_local_times(
    client, tokens: Tokens, late_november
):
    resource = await car_park(client, tokens)
    me = tokens.resident(sub=unique("car"))
    made = ok(
        await book(
            client, me, resource["id"], "2026-12-03T18:00:00+08:00", "2026-12-04T08:00:00+08:00"
        ),
        201,
    )
    assert (made["starts_at"], made["ends_at"]) == ("2026-12-03T10:00:00Z", "2026-12-04T00:00:00Z")
    assert made["resource_name"] == resource["name"]
    assert (made["local_start"], made["local_end"]) == (
        "2026-12-03T18:00:00+08:00",
        "2026-12-04T08:00:00+08:00",
    )
    listed = ok(await client.get(f"/api/v1/bookings?resource_id={resource['id']}", headers=me))
    assert listed["items"][0]["local_start"] == "2026-12-03T18:00:00+08:00"
    one = ok(await client.get(f"/api/v1/bookings/{made['id']}", headers=me))
    assert one["resource_name"] == resource["name"]
    series = ok(
        await client.post(
            "/api/v1/bookings/series",
            json=december_nights(resource["id"], rrule="FREQ=DAILY;COUNT=2"),
            headers=tokens.resident(sub=unique("car")),
        ),
        201,
    )
    assert series["occurrences"][1]["booking"]["local_end"] == "2026-12-03T08:00:00+08:00"
