"""Booking fields: a resource declares what its bookings carry (a plate, a meal, a purpose);
bookings are checked against the declaration and carry the values."""

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

PLATE = {
    "name": "plate",
    "type": "plate",
    "label_zh": "车牌",
    "required": True,
    "visible_to": ["staff", "partner"],
}


@pytest.fixture
def late_november(clock):
    clock.set(datetime(2026, 11, 28, 2, 0, tzinfo=UTC))
    return clock


async def car_park(client, tokens: Tokens, **fields):
    resource = await make_resource(
        client,
        tokens,
        kind="parking",
        capacity=None,
        units=["B1-001", "B1-002"],
        policy={"max_duration_minutes": 840, "horizon_days": 40},
        booking_fields=[PLATE],
        **fields,
    )
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="08:00")
    return resource


NIGHT = ("2026-12-01T18:00:00+08:00", "2026-12-02T08:00:00+08:00")


async def test_plate_is_checked_normalised_and_returned(client, tokens: Tokens, late_november):
    resource = await car_park(client, tokens)
    assert resource["booking_fields"][0]["name"] == "plate"
    holder = tokens.resident(sub=unique("car"))
    booking = ok(
        await book(client, holder, resource["id"], *NIGHT, fields={"plate": "沪a 12345"}), 201
    )
    assert booking["fields"] == {"plate": "沪A12345"}
    again = ok(await client.get(f"/api/v1/bookings/{booking['id']}", headers=holder))
    assert again["fields"] == {"plate": "沪A12345"}


async def test_series_carries_fields_on_every_occurrence(client, tokens: Tokens, late_november):
    resource = await car_park(client, tokens)
    body = {
        "resource_id": resource["id"],
        "starts_at": NIGHT[0],
        "ends_at": NIGHT[1],
        "rrule": "FREQ=DAILY;COUNT=5",
        "fields": {"plate": "沪B54321"},
    }
    series = ok(
        await client.post(
            "/api/v1/bookings/series", json=body, headers=tokens.resident(sub=unique("car"))
        ),
        201,
    )
    assert series["booked"] == 5
    assert {o["booking"]["fields"]["plate"] for o in series["occurrences"]} == {"沪B54321"}


async def test_missing_or_bad_plate_is_422_naming_the_field(client, tokens: Tokens, late_november):
    resource = await car_park(client, tokens)
    holder = tokens.resident(sub=unique("car"))
    missing = assert_problem(
        await book(client, holder, resource["id"], *NIGHT), 422, "validation_error"
    )
    assert missing["errors"] == [{"field": "fields.plate", "message": "required"}]
    bad = assert_problem(
        await book(
            client, holder, resource["id"], *NIGHT, fields={"plate": "12345", "colour": "red"}
        ),
        422,
        "validation_error",
    )
    assert {e["field"] for e in bad["errors"]} == {"fields.plate", "fields.colour"}
    listed = ok(
        await client.get(
            "/api/v1/bookings", params={"resource_id": resource["id"]}, headers=tokens.staff()
        )
    )
    assert listed["total"] == 0
