"""Booking fields: a resource declares what its bookings carry (a plate, a meal, a purpose);
bookings are checked against the declaration and carry the values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from scheduler.db.bookings import OutboxEvent
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


ROOM_FIELDS = [
    {"name": "purpose", "label_zh": "用途", "label_en": "Purpose", "required": True},
    {"name": "attendees", "type": "integer", "minimum": 1, "maximum": 40},
    {"name": "organiser", "max_length": 50},
    {"name": "contact_phone", "type": "phone", "visible_to": ["staff"]},
    {"name": "layout", "type": "choice", "choices": ["meeting", "classroom"]},
]


async def room(client, tokens: Tokens, partner_id=None):
    resource = await make_resource(
        client, tokens, partner_id, kind="room", capacity=1, booking_fields=ROOM_FIELDS
    )
    await make_window(client, tokens, resource["id"], start_time="09:00", end_time="21:00")
    return resource


MORNING = ("2026-12-01T09:00:00+08:00", "2026-12-01T10:00:00+08:00")


async def test_values_are_checked_by_type(client, tokens: Tokens, late_november):
    resource = await room(client, tokens)
    holder = tokens.resident(sub=unique("org"))
    cases = [
        ({"purpose": "choir", "attendees": 0}, "fields.attendees", "must be at least 1"),
        ({"purpose": "choir", "attendees": "12"}, "fields.attendees", "must be a whole number"),
        ({"purpose": "choir", "attendees": True}, "fields.attendees", "must be a whole number"),
        ({"purpose": "choir", "organiser": "x" * 51}, "fields.organiser", "at most 50 characters"),
        (
            {"purpose": "choir", "contact_phone": "call me"},
            "fields.contact_phone",
            "not a phone number",
        ),
        (
            {"purpose": "choir", "layout": "banquet"},
            "fields.layout",
            "must be one of meeting, classroom",
        ),
        ({"purpose": 3}, "fields.purpose", "must be a string"),
        ({"purpose": "   "}, "fields.purpose", "required"),
    ]
    for values, field, message in cases:
        problem = assert_problem(
            await book(client, holder, resource["id"], *MORNING, fields=values),
            422,
            "validation_error",
        )
        assert problem["errors"] == [{"field": field, "message": message}], values
    # Nothing was written by any refused request; a good one is booked.
    booking = ok(
        await book(
            client,
            holder,
            resource["id"],
            *MORNING,
            fields={"purpose": " 合唱团排练 ", "attendees": 12, "layout": "classroom"},
        ),
        201,
    )
    assert booking["fields"] == {"purpose": "合唱团排练", "attendees": 12, "layout": "classroom"}


async def test_dry_run_checks_fields(client, tokens: Tokens, late_november):
    resource = await room(client, tokens)
    response = await client.post(
        "/api/v1/bookings?dry_run=true",
        json={"resource_id": resource["id"], "starts_at": MORNING[0], "ends_at": MORNING[1]},
        headers=tokens.resident(sub=unique("org")),
    )
    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["field"] == "fields.purpose"


async def test_personal_fields_are_shown_only_to_the_roles_declared(
    client, tokens: Tokens, late_november
):
    resource = await room(client, tokens)
    sub = unique("org")
    values = {"purpose": "业委会", "contact_phone": "138 0000 1234"}
    booking = ok(
        await book(client, tokens.resident(sub=sub), resource["id"], *MORNING, fields=values), 201
    )
    url = f"/api/v1/bookings/{booking['id']}"
    mine = ok(await client.get(url, headers=tokens.resident(sub=sub)))
    assert mine["fields"] == {"purpose": "业委会", "contact_phone": "13800001234"}
    partner = ok(await client.get(url, headers=tokens.partner(resource["partner_id"])))
    assert partner["fields"] == {"purpose": "业委会"}
    assert ok(await client.get(url, headers=tokens.staff()))["fields"] == mine["fields"]
    listed = ok(
        await client.get(
            "/api/v1/bookings",
            params={"resource_id": resource["id"]},
            headers=tokens.partner(resource["partner_id"]),
        )
    )
    assert [item["fields"] for item in listed["items"]] == [{"purpose": "业委会"}]


async def test_a_worker_booking_for_a_resident_sees_what_they_typed(
    client, tokens: Tokens, late_november
):
    resource = await car_park(client, tokens)
    worker = tokens.worker("shangnan-3")
    body = {
        "resource_id": resource["id"],
        "starts_at": NIGHT[0],
        "ends_at": NIGHT[1],
        "on_behalf_of": {"sub": unique("elder"), "name": "王阿姨", "community": "shangnan-3"},
        "fields": {"plate": "沪C11111"},
    }
    booking = ok(await client.post("/api/v1/bookings", json=body, headers=worker), 201)
    assert booking["fields"] == {"plate": "沪C11111"}
    other_worker = tokens.worker("shangnan-3")
    seen = ok(await client.get(f"/api/v1/bookings/{booking['id']}", headers=other_worker))
    assert seen["fields"] == {}  # the plate is for staff and the car park, not every worker


async def test_declarations_are_checked(client, tokens: Tokens):
    bad = [
        ([{"name": "meal", "type": "choice"}], "booking_fields[0].choices"),
        ([{"name": "meal", "type": "choice", "choices": []}], "booking_fields[0].choices"),
        ([{"name": "meal", "type": "choice", "choices": ["a", "a"]}], "booking_fields[0].choices"),
        ([{"name": "plate"}, {"name": "plate", "type": "plate"}], "booking_fields[1].name"),
        (
            [{"name": "n", "type": "integer", "minimum": 5, "maximum": 1}],
            "booking_fields[0].maximum",
        ),
        ([{"name": "n", "type": "text", "minimum": 5}], "booking_fields[0].minimum"),
        ([{"name": "n", "type": "plate", "max_length": 5}], "booking_fields[0].max_length"),
        ([{"name": "n", "visible_to": ["staff", "staff"]}], "booking_fields[0].visible_to"),
    ]
    for fields, where in bad:
        problem = assert_problem(
            await client.post(
                "/api/v1/resources",
                json={
                    "partner_id": (await make_resource(client, tokens))["partner_id"],
                    "name": "Room",
                    "kind": "room",
                    "capacity": 1,
                    "booking_fields": fields,
                },
                headers=tokens.staff(),
            ),
            422,
            "validation_error",
        )
        assert [e["field"] for e in problem["errors"]] == [where], fields
    for fields, message in [
        ([{"name": "meal", "type": "colour"}], "booking_fields[0].type"),
        ([{"name": "Meal"}], "booking_fields[0].name"),
        ([{"name": "meal", "visible_to": ["resident"]}], "booking_fields[0].visible_to"),
    ]:
        response = await client.post(
            "/api/v1/resources",
            json={
                "partner_id": (await make_resource(client, tokens))["partner_id"],
                "name": "Room",
                "kind": "room",
                "capacity": 1,
                "booking_fields": fields,
            },
            headers=tokens.staff(),
        )
        problem = assert_problem(response, 422, "validation_error")
        assert message in problem["detail"], problem


async def test_partner_declares_fields_on_its_own_resource(client, tokens: Tokens, late_november):
    resource = await make_resource(client, tokens, kind="canteen", capacity=80)
    partner = tokens.partner(resource["partner_id"])
    url = f"/api/v1/resources/{resource['id']}"
    meal = {"name": "meal", "type": "choice", "choices": ["红烧肉", "素菜"], "required": True}
    diet = {"name": "diet", "label_en": "Diet", "visible_to": ["staff", "partner"]}
    bad = await client.patch(
        url, json={"booking_fields": [meal, {**diet, "type": "choice"}]}, headers=partner
    )
    assert_problem(bad, 422, "validation_error")
    assert ok(await client.get(url, headers=partner))["booking_fields"] == []
    patched = ok(await client.patch(url, json={"booking_fields": [meal, diet]}, headers=partner))
    assert [f["name"] for f in patched["booking_fields"]] == ["meal", "diet"]
    assert patched["booking_fields"][1]["visible_to"] == ["staff", "partner"]
    other = await make_resource(client, tokens)
    foreign = await client.patch(
        f"/api/v1/resources/{other['id']}", json={"booking_fields": [meal]}, headers=partner
    )
    assert_problem(foreign, 403, "forbidden")


async def test_fields_declared_later_apply_to_the_next_booking(
    client, tokens: Tokens, late_november
):
    """Each process caches a resource's facts (docs/facts-cache.md): declaring fields after
    bookings were made must still hold the very next booking to them."""
    resource = await make_resource(client, tokens, kind="canteen", capacity=80)
    await make_window(client, tokens, resource["id"], start_time="11:00", end_time="13:00")
    ok(await book(client, tokens.resident(), resource["id"], *LUNCH), 201)
    meal = {"name": "meal", "type": "choice", "choices": ["红烧肉", "素菜"], "required": True}
    url = f"/api/v1/resources/{resource['id']}"
    ok(await client.patch(url, json={"booking_fields": [meal]}, headers=tokens.staff()))
    missing = assert_problem(
        await book(client, tokens.resident(), resource["id"], *LUNCH), 422, "validation_error"
    )
    assert missing["errors"] == [{"field": "fields.meal", "message": "required"}]
    booked = ok(
        await book(client, tokens.resident(), resource["id"], *LUNCH, fields={"meal": "素菜"}),
        201,
    )
    assert booked["fields"] == {"meal": "素菜"}


async def canteen(client, tokens: Tokens):
    resource = await make_resource(
        client,
        tokens,
        kind="canteen",
        capacity=80,
        policy={"max_party_size": 4},
        booking_fields=[
            {"name": "meal", "type": "choice", "choices": ["红烧肉", "素菜"], "required": True},
            {"name": "diet", "visible_to": ["staff", "partner"]},
            {"name": "note_for_staff", "visible_to": ["staff"]},
        ],
    )
    await make_window(client, tokens, resource["id"], start_time="11:00", end_time="13:00")
    return resource


LUNCH = ("2026-12-01T11:00:00+08:00", "2026-12-01T12:00:00+08:00")


async def test_day_list_shows_fields_as_columns_and_counts_meals(
    client, tokens: Tokens, late_november
):
    resource = await canteen(client, tokens)
    lunches = [
        ("红烧肉", "软食", 2, "=1+1"),
        ("素菜", None, 1, None),
        ("红烧肉", None, 1, None),
    ]
    for meal, diet, quantity, note in lunches:
        values = (
            {"meal": meal}
            | ({"diet": diet} if diet else {})
            | ({"note_for_staff": note} if note else {})
        )
        ok(
            await book(
                client,
                tokens.resident(sub=unique("elder")),
                resource["id"],
                *LUNCH,
                quantity=quantity,
                fields=values,
            ),
            201,
        )
    url = f"/api/v1/resources/{resource['id']}/day-list"
    partner = tokens.partner(resource["partner_id"])
    listing = ok(await client.get(url, params={"date": "2026-12-01"}, headers=partner))
    assert [c["name"] for c in listing["columns"]] == ["meal", "diet"]
    assert len(listing["rows"]) == 3
    assert listing["rows"][0]["fields"] == {"meal": "红烧肉", "diet": "软食"}
    assert listing["totals"] == [{"field": "meal", "counts": {"红烧肉": 3, "素菜": 1}}]
    staff_list = ok(await client.get(url, params={"date": "2026-12-01"}, headers=tokens.staff()))
    assert [c["name"] for c in staff_list["columns"]] == ["meal", "diet", "note_for_staff"]
    empty = ok(await client.get(url, params={"date": "2026-12-02"}, headers=partner))
    assert empty["rows"] == []

    response = await client.get(
        url, params={"date": "2026-12-01"}, headers={**tokens.staff(), "Accept": "text/csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert lines[0] == "start,end,unit,quantity,holder,status,booking_id,meal,diet,note_for_staff"
    assert lines[1].startswith("2026-12-01 11:00,2026-12-01 12:00,,2,")
    assert lines[1].endswith(",红烧肉,软食,'=1+1")
    assert len(lines) == 4


async def test_day_list_is_for_the_resource_manager(client, tokens: Tokens, late_november):
    resource = await canteen(client, tokens)
    url = f"/api/v1/resources/{resource['id']}/day-list"
    assert_problem(await client.get(url, headers=tokens.resident()), 403, "forbidden")
    assert_problem(await client.get(url, headers=tokens.partner(unique("ptn"))), 403, "forbidden")
    bad_day = await client.get(url, params={"date": "1 Dec"}, headers=tokens.staff())
    assert assert_problem(bad_day, 422, "validation_error")["errors"][0]["field"] == "date"


async def test_tonight_list_shows_the_plate_of_a_night_series(
    client, tokens: Tokens, late_november
):
    resource = await car_park(client, tokens)
    body = {
        "resource_id": resource["id"],
        "starts_at": NIGHT[0],
        "ends_at": NIGHT[1],
        "rrule": "FREQ=DAILY;COUNT=3",
        "fields": {"plate": "沪D99999"},
    }
    ok(await client.post("/api/v1/bookings/series", json=body, headers=tokens.resident()), 201)
    url = f"/api/v1/resources/{resource['id']}/day-list"
    partner = tokens.partner(resource["partner_id"])
    tonight = ok(await client.get(url, params={"date": "2026-12-02"}, headers=partner))
    assert [(r["unit"], r["fields"]) for r in tonight["rows"]] == [
        ("B1-001", {"plate": "沪D99999"})
    ]
    assert tonight["rows"][0]["local_start"] == "2026-12-02T18:00:00+08:00"
    csv_text = (
        await client.get(
            url, params={"date": "2026-12-02"}, headers={**partner, "Accept": "text/csv"}
        )
    ).text
    assert csv_text.splitlines()[1].endswith(",沪D99999")


async def test_webhook_payload_carries_what_the_partner_may_read(
    client, tokens: Tokens, db, late_november
):
    resource = await room(client, tokens)
    values = {"purpose": "象棋比赛", "contact_phone": "13800001234"}
    booking = ok(
        await book(client, tokens.resident(), resource["id"], *MORNING, fields=values), 201
    )
    async with db() as session:
        payloads = (
            await session.scalars(
                select(OutboxEvent.payload).where(OutboxEvent.booking_id == booking["id"])
            )
        ).all()
    assert [payload["fields"] for payload in payloads] == [{"purpose": "象棋比赛"}]


async def test_values_of_a_field_no_longer_declared_stay_with_holder_and_staff(
    client, tokens: Tokens, late_november
):
    resource = await room(client, tokens)
    sub = unique("org")
    booking = ok(
        await book(
            client,
            tokens.resident(sub=sub),
            resource["id"],
            *MORNING,
            fields={"purpose": "choir", "organiser": "孙阿姨"},
        ),
        201,
    )
    partner = tokens.partner(resource["partner_id"])
    ok(
        await client.patch(
            f"/api/v1/resources/{resource['id']}",
            json={"booking_fields": [ROOM_FIELDS[0]]},
            headers=partner,
        )
    )
    url = f"/api/v1/bookings/{booking['id']}"
    assert ok(await client.get(url, headers=partner))["fields"] == {"purpose": "choir"}
    everything = {"purpose": "choir", "organiser": "孙阿姨"}
    assert ok(await client.get(url, headers=tokens.staff()))["fields"] == everything
    assert ok(await client.get(url, headers=tokens.resident(sub=sub)))["fields"] == everything


async def test_a_series_with_a_bad_plate_is_one_422_and_books_nothing(
    client, tokens: Tokens, late_november
):
    resource = await car_park(client, tokens)
    body = {
        "resource_id": resource["id"],
        "starts_at": NIGHT[0],
        "ends_at": NIGHT[1],
        "rrule": "FREQ=DAILY;COUNT=3",
        "fields": {"plate": "not a plate"},
    }
    response = await client.post("/api/v1/bookings/series", json=body, headers=tokens.resident())
    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"] == [
        {"field": "fields.plate", "message": "not a vehicle plate (e.g. 沪A12345)"}
    ]
    listed = ok(
        await client.get(
            "/api/v1/bookings", params={"resource_id": resource["id"]}, headers=tokens.staff()
        )
    )
    assert listed["total"] == 0
