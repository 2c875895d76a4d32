"""Windows, calendars, closures and availability through the HTTP API, on the real 2026 calendar."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.builders import (
    Tokens,
    assert_problem,
    availability,
    book,
    make_partner,
    make_resource,
    make_window,
    ok,
)

BEFORE_2026_HOLIDAYS = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture
def early(clock):
    """Most calendar tests look at autumn 2026: put the clock before it so slots are not past."""
    clock.set(BEFORE_2026_HOLIDAYS)
    return clock


def local_starts(slots):
    return [slot["starts_at"][11:16] for slot in slots]


async def test_rest_day_window_follows_the_official_calendar(client, tokens: Tokens, early):
    resource = await make_resource(client, tokens)
    await make_window(
        client,
        tokens,
        resource["id"],
        start_time="08:00",
        end_time="18:00",
        rrule=None,
        day_types=["rest_day"],
    )
    national_day = await availability(client, tokens, resource["id"], "2026-10-01", "2026-10-01")
    assert len(national_day) == 10 and national_day[0]["starts_at"] == "2026-10-01T08:00:00+08:00"
    assert {slot["status"] for slot in national_day} == {"open"}
    makeup_saturday = await availability(client, tokens, resource["id"], "2026-10-10", "2026-10-10")
    assert makeup_saturday == []
    ordinary_sunday = await availability(client, tokens, resource["id"], "2026-10-11", "2026-10-11")
    assert len(ordinary_sunday) == 10


async def test_tidal_window_crosses_midnight(client, tokens: Tokens, early):
    resource = await make_resource(
        client, tokens, kind="parking", capacity=None, units=[f"B1-{n:03d}" for n in range(1, 11)]
    )
    await make_window(
        client, tokens, resource["id"], start_time="18:00", end_time="08:00", label="residents"
    )
    await make_window(
        client,
        tokens,
        resource["id"],
        start_time="08:00",
        end_time="18:00",
        audience="visitors",
        capacity=6,
    )
    answer = ok(
        await client.get(
            f"/api/v1/resources/{resource['id']}/availability",
            params={"from": "2026-12-01T17:00:00+08:00", "to": "2026-12-02T09:00:00+08:00"},
            headers=tokens.resident(),
        )
    )
    slots = answer["slots"]
    assert local_starts(slots) == [
        "17:00",
        *[f"{h:02d}:00" for h in range(18, 24)],
        *[f"{h:02d}:00" for h in range(0, 9)],
    ]
    # Each window is listed once; slots refer to it by id.
    audience = {window["id"]: window["audience"] for window in answer["windows"]}
    assert len(answer["windows"]) == 2 and "audience" not in slots[0]
    for slot in slots:
        slot["audience"] = [a for key in slot["window_ids"] for a in audience[key]]
    night = [slot for slot in slots if slot["audience"] == ["residents"]]
    assert len(night) == 14 and night[0]["starts_at"] == "2026-12-01T18:00:00+08:00"
    assert night[-1]["ends_at"] == "2026-12-02T08:00:00+08:00"
    assert {slot["capacity"] for slot in night} == {10}
    day = [slot for slot in slots if slot["audience"] == ["visitors"]]
    assert {slot["capacity"] for slot in day} == {6}
    daytime = ("2026-12-02T09:00:00+08:00", "2026-12-02T10:00:00+08:00")
    early.set(datetime(2026, 12, 1, 0, 0, tzinfo=UTC))  # book a day ahead
    resident = tokens.resident(community="shangnan-1")
    refused = await book(client, resident, resource["id"], *daytime)
    assert assert_problem(refused, 409, "outside_window")["audience"] == ["visitors"]
    visitor = tokens.resident(tags=["visitor"])
    assert ok(await book(client, visitor, resource["id"], *daytime), 201)["unit"]


async def test_closure_beats_every_window(client, tokens: Tokens, early):
    resource = await make_resource(client, tokens)
    await make_window(client, tokens, resource["id"], start_time="08:00", end_time="12:00")
    closure = ok(
        await client.post(
            f"/api/v1/resources/{resource['id']}/closures",
            json={
                "starts_at": "2026-12-01T09:30:00+08:00",
                "ends_at": "2026-12-01T11:00:00+08:00",
                "reason": "期中考试",
            },
            headers=tokens.staff(),
        ),
        201,
    )
    slots = await availability(client, tokens, resource["id"], "2026-12-01", "2026-12-01")
    assert [(slot["starts_at"][11:16], slot["status"]) for slot in slots] == [
        ("08:00", "open"),
        ("09:00", "closed"),
        ("10:00", "closed"),
        ("11:00", "open"),
    ]
    assert slots[1]["closure_reason"] == "期中考试" and slots[1]["available"] == 0
    listed = ok(
        await client.get(
            f"/api/v1/resources/{resource['id']}/closures?from=2026-12-01&to=2026-12-01",
            headers=tokens.resident(),
        )
    )
    assert [item["id"] for item in listed] == [closure["id"]]
    deleted = await client.delete(
        f"/api/v1/resources/{resource['id']}/closures/{closure['id']}", headers=tokens.staff()
    )
    assert deleted.status_code == 204
    reopened = await availability(client, tokens, resource["id"], "2026-12-01", "2026-12-01")
    assert {slot["status"] for slot in reopened} == {"open"}


async def test_staff_calendar_correction_takes_effect(client, tokens: Tokens, early):
    resource = await make_resource(client, tokens)
    await make_window(
        client,
        tokens,
        resource["id"],
        start_time="09:00",
        end_time="10:00",
        rrule=None,
        day_types=["rest_day"],
    )
    day = "2026-10-21"  # an ordinary Wednesday, not in the official holiday list
    assert await availability(client, tokens, resource["id"], day, day) == []
    corrected = ok(
        await client.put(
            f"/api/v1/calendar/days/{day}",
            json={"day_type": "holiday", "name": "重阳节"},
            headers=tokens.staff(),
        )
    )
    assert corrected["source"] == "correction" and "rest_day" in corrected["day_types"]
    assert len(await availability(client, tokens, resource["id"], day, day)) == 1
    assert (
        await client.delete(f"/api/v1/calendar/days/{day}", headers=tokens.staff())
    ).status_code == 204
    assert await availability(client, tokens, resource["id"], day, day) == []
    assert_problem(
        await client.delete(f"/api/v1/calendar/days/{day}", headers=tokens.staff()),
        404,
        "not_found",
    )


async def test_calendar_days_and_permissions(client, tokens: Tokens):
    days = ok(
        await client.get(
            "/api/v1/calendar/days?from=2026-10-01&to=2026-10-11", headers=tokens.resident()
        )
    )
    by_date = {day["date"]: day for day in days}
    assert by_date["2026-10-01"]["day_type"] == "holiday"
    assert (
        by_date["2026-10-10"]["day_type"] == "workday"
        and "workday" in by_date["2026-10-10"]["day_types"]
    )
    assert by_date["2026-10-04"]["day_type"] == "holiday"  # a Sunday inside the National Day break
    assert by_date["2026-10-11"]["day_type"] == "rest_day"
    body = {"day_type": "rest_day"}
    assert_problem(
        await client.put("/api/v1/calendar/days/2026-10-22", json=body, headers=tokens.resident()),
        403,
        "forbidden",
    )
    partner = await make_partner(client, tokens)
    assert_problem(
        await client.put(
            "/api/v1/calendar/days/2026-10-22", json=body, headers=tokens.partner(partner["id"])
        ),
        403,
        "forbidden",
    )
    for bad in ("2026-13-01", "tomorrow", "2026-1-1"):
        assert_problem(
            await client.put(f"/api/v1/calendar/days/{bad}", json=body, headers=tokens.staff()),
            422,
            "validation_error",
        )
    assert_problem(
        await client.put(
            "/api/v1/calendar/days/2026-10-22",
            json={"day_type": "school_day"},
            headers=tokens.staff(),
        ),
        422,
        "validation_error",
    )
    assert_problem(
        await client.get(
            "/api/v1/calendar/days?from=2026-01-01&to=2027-06-01", headers=tokens.staff()
        ),
        422,
        "validation_error",
    )


async def test_school_days_come_from_partner_terms(client, tokens: Tokens, early):
    partner = await make_partner(client, tokens)
    resource = await make_resource(client, tokens, partner["id"])
    await make_window(client, tokens, resource["id"], rrule=None, day_types=["school_day"])
    await make_window(
        client,
        tokens,
        resource["id"],
        start_time="08:00",
        end_time="10:00",
        rrule=None,
        day_types=["non_school_day"],
    )
    term = ok(
        await client.post(
            f"/api/v1/partners/{partner['id']}/terms",
            json={"name": "2026 autumn", "starts_on": "2026-09-01", "ends_on": "2027-01-20"},
            headers=tokens.partner(partner["id"]),
        ),
        201,
    )
    in_term_weekday = await availability(client, tokens, resource["id"], "2026-12-02", "2026-12-02")
    assert local_starts(in_term_weekday) == ["18:00", "19:00", "20:00"]
    saturday = await availability(client, tokens, resource["id"], "2026-12-05", "2026-12-05")
    assert local_starts(saturday) == ["08:00", "09:00"]
    vacation = await availability(client, tokens, resource["id"], "2027-02-03", "2027-02-03")
    assert local_starts(vacation) == ["08:00", "09:00"]
    other = await make_partner(client, tokens)
    assert_problem(
        await client.delete(
            f"/api/v1/partners/{partner['id']}/terms/{term['id']}",
            headers=tokens.partner(other["id"]),
        ),
        403,
        "forbidden",
    )
    assert (
        await client.delete(
            f"/api/v1/partners/{partner['id']}/terms/{term['id']}", headers=tokens.staff()
        )
    ).status_code == 204
    assert local_starts(
        await availability(client, tokens, resource["id"], "2026-12-02", "2026-12-02")
    ) == ["08:00", "09:00"]


async def test_berlin_window_across_the_spring_change(client, tokens: Tokens, clock):
    clock.set(datetime(2027, 1, 1, tzinfo=UTC))
    resource = await make_resource(client, tokens, timezone="Europe/Berlin")
    await make_window(client, tokens, resource["id"], start_time="01:00", end_time="04:00")
    slots = await availability(client, tokens, resource["id"], "2027-03-28", "2027-03-28")
    assert [(slot["starts_at"], slot["ends_at"]) for slot in slots] == [
        ("2027-03-28T01:00:00+01:00", "2027-03-28T03:00:00+02:00"),  # 02:00 CET does not exist
        ("2027-03-28T03:00:00+02:00", "2027-03-28T04:00:00+02:00"),
    ]
    for slot in slots:
        length = datetime.fromisoformat(slot["ends_at"]) - datetime.fromisoformat(slot["starts_at"])
        assert length.total_seconds() == 3600


async def test_slot_status_past_and_released(client, tokens: Tokens, clock):
    clock.set(datetime(2026, 12, 1, 11, 30, tzinfo=UTC))  # 19:30 in Shanghai
    resource = await make_resource(
        client, tokens, policy={"release": {"days_ahead": 2, "at": "09:00"}}
    )
    await make_window(client, tokens, resource["id"])
    slots = await availability(client, tokens, resource["id"], "2026-12-01", "2026-12-04")
    status = {slot["starts_at"][:16]: (slot["status"], slot["releases_at"]) for slot in slots}
    assert status["2026-12-01T18:00"] == ("past", None)
    assert status["2026-12-01T20:00"] == ("open", None)
    assert status["2026-12-03T18:00"] == ("open", None)
    assert status["2026-12-04T18:00"] == ("not_released", "2026-12-02T09:00:00+08:00")


async def test_window_crud_and_ownership(client, tokens: Tokens):
    mine, theirs = await make_partner(client, tokens), await make_partner(client, tokens)
    resource = await make_resource(client, tokens, mine["id"])
    base = f"/api/v1/resources/{resource['id']}/windows"
    me, stranger = tokens.partner(mine["id"]), tokens.partner(theirs["id"])
    body = {
        "start_time": "18:00",
        "end_time": "21:00",
        "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        "audience": ["shangnan-1", "shangnan-2"],
        "label": "工作日晚间",
    }
    assert_problem(await client.post(base, json=body, headers=stranger), 403, "forbidden")
    assert_problem(await client.post(base, json=body, headers=tokens.resident()), 403, "forbidden")
    window = ok(await client.post(base, json=body, headers=me), 201)
    assert window["audience"] == ["shangnan-1", "shangnan-2"] and window["label"] == "工作日晚间"
    assert [w["id"] for w in ok(await client.get(base, headers=tokens.resident()))] == [
        window["id"]
    ]
    url = f"{base}/{window['id']}"
    assert_problem(await client.patch(url, json={"label": "x"}, headers=stranger), 403, "forbidden")
    changed = ok(
        await client.patch(url, json={"end_time": "22:00"}, headers={**me, "If-Match": '"1"'})
    )
    assert (changed["end_time"], changed["version"]) == ("22:00", 2)
    assert_problem(
        await client.patch(url, json={"label": "y"}, headers={**me, "If-Match": '"1"'}),
        412,
        "precondition_failed",
    )
    assert_problem(
        await client.patch(url, json={"start_time": "22:00"}, headers=me), 422, "validation_error"
    )
    assert_problem(await client.delete(url, headers=stranger), 403, "forbidden")
    assert (await client.delete(url, headers=me)).status_code == 204
    assert_problem(await client.get(url, headers=me), 404, "not_found")
    other_resource = await make_resource(client, tokens, theirs["id"])
    assert_problem(
        await client.get(
            f"/api/v1/resources/{other_resource['id']}/windows/{window['id']}", headers=me
        ),
        404,
        "not_found",
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"rrule": "FREQ=SECONDLY"}, "rrule"),
        ({"rrule": "FREQ=HOURLY;BYHOUR=18"}, "rrule"),
        ({"rrule": "FREQ=DAILY;COUNT=5"}, "rrule"),
        ({"rrule": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"}, "rrule"),
        ({"rrule": "FREQ=WEEKLY"}, "rrule"),
        ({"rrule": "FREQ=DAILY;INTERVAL=0"}, "rrule"),
        ({"rrule": "not a rule"}, "rrule"),
        ({"rrule": "FREQ=DAILY;" + "BYDAY=MO;" * 60}, "rrule"),
        ({"rrule": None, "day_types": []}, "rrule"),
        ({"day_types": ["full_moon"]}, "day_types"),
        ({"start_time": "18:00", "end_time": "18:00"}, "end_time"),
        ({"start_time": "25:00"}, "start_time"),
        ({"start_time": "24:00"}, "start_time"),
        ({"end_time": "7pm"}, "end_time"),
        ({"valid_from": "2026-12-01", "valid_until": "2026-11-01"}, "valid_until"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 999}, "capacity"),
        ({"audience": "aliens"}, "audience"),
        ({"audience": ["ok", "not ok!"]}, "audience"),
        ({"surprise": True}, "surprise"),
    ],
)
async def test_invalid_windows_are_422(client, tokens: Tokens, fields, field):
    resource = await make_resource(
        client, tokens, kind="court", capacity=None, units=["Court 1", "Court 2"]
    )
    body = {"start_time": "18:00", "end_time": "21:00", "rrule": "FREQ=DAILY", **fields}
    response = await client.post(
        f"/api/v1/resources/{resource['id']}/windows", json=body, headers=tokens.staff()
    )
    problem = assert_problem(response, 422, "validation_error")
    assert any(error["field"].startswith(field) for error in problem["errors"]), problem
    assert (
        ok(await client.get(f"/api/v1/resources/{resource['id']}/windows", headers=tokens.staff()))
        == []
    )


async def test_whole_day_window_and_interval_rule_with_anchor(client, tokens: Tokens, early):
    resource = await make_resource(
        client,
        tokens,
        policy={
            "granularity_minutes": 360,
            "min_duration_minutes": 360,
            "max_duration_minutes": 1440,
        },
    )
    await make_window(
        client,
        tokens,
        resource["id"],
        start_time="00:00",
        end_time="24:00",
        rrule="FREQ=DAILY;INTERVAL=2",
        valid_from="2026-12-01",
    )
    slots = await availability(client, tokens, resource["id"], "2026-12-01", "2026-12-04")
    assert sorted({slot["starts_at"][:10] for slot in slots}) == ["2026-12-01", "2026-12-03"]
    assert len(slots) == 8


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-12-01T10:00:00"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-12-05", "to": "2026-12-01"}, "to"),
        ({"from": "2026-01-01", "to": "2026-06-01"}, "to"),
        ({"to": "2026-12-01T10:00:00"}, "to"),
    ],
)
async def test_bad_availability_ranges_are_422(client, tokens: Tokens, query, field):
    resource = await make_resource(client, tokens)
    response = await client.get(
        f"/api/v1/resources/{resource['id']}/availability", params=query, headers=tokens.resident()
    )
    assert assert_problem(response, 422, "validation_error")["errors"][0]["field"] == field


async def test_availability_of_unknown_resource_is_404(client, tokens: Tokens):
    assert_problem(
        await client.get("/api/v1/resources/nope/availability", headers=tokens.resident()),
        404,
        "not_found",
    )


async def test_search_finds_a_free_court_tonight(client, tokens: Tokens, clock):
    clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    partner = await make_partner(client, tokens, zone="expo_park")
    court = await make_resource(
        client, tokens, partner["id"], kind="court", capacity=None, units=["A", "B"]
    )
    closed = await make_resource(client, tokens, partner["id"], kind="court", capacity=1)
    await make_window(client, tokens, court["id"], start_time="19:00", end_time="21:00")
    await make_window(client, tokens, closed["id"], start_time="19:00", end_time="21:00")
    ok(
        await client.post(
            f"/api/v1/resources/{closed['id']}/closures",
            json={"starts_at": "2026-12-01T00:00:00+08:00", "ends_at": "2026-12-02T00:00:00+08:00"},
            headers=tokens.staff(),
        ),
        201,
    )
    found = ok(
        await client.get(
            "/api/v1/availability",
            params={
                "zone": "expo_park",
                "kind": "court",
                "from": "2026-12-01T18:00:00+08:00",
                "to": "2026-12-01T23:00:00+08:00",
                "min_available": 2,
                "limit": 200,
            },
            headers=tokens.resident(),
        )
    )
    ids = [result["resource_id"] for result in found["results"]]
    assert court["id"] in ids and closed["id"] not in ids
    mine = next(result for result in found["results"] if result["resource_id"] == court["id"])
    assert [slot["starts_at"] for slot in mine["slots"]] == [
        "2026-12-01T19:00:00+08:00",
        "2026-12-01T20:00:00+08:00",
    ]
    too_many = ok(
        await client.get(
            "/api/v1/availability",
            params={
                "zone": "expo_park",
                "kind": "court",
                "from": "2026-12-01",
                "to": "2026-12-01",
                "min_available": 3,
                "limit": 200,
            },
            headers=tokens.resident(),
        )
    )
    assert court["id"] not in [result["resource_id"] for result in too_many["results"]]
    assert_problem(
        await client.get(
            "/api/v1/availability?from=2026-12-01&to=2026-12-31", headers=tokens.resident()
        ),
        422,
        "validation_error",
    )


async def test_invalid_closures_are_422(client, tokens: Tokens):
    resource = await make_resource(client, tokens)
    url = f"/api/v1/resources/{resource['id']}/closures"
    for body, field in (
        (
            {"starts_at": "2026-12-02T00:00:00+08:00", "ends_at": "2026-12-01T00:00:00+08:00"},
            "ends_at",
        ),
        ({"starts_at": "2026-12-01T00:00:00", "ends_at": "2026-12-02T00:00:00+08:00"}, "starts_at"),
        (
            {"starts_at": "2026-12-01T00:00:00+08:00", "ends_at": "2036-12-02T00:00:00+08:00"},
            "ends_at",
        ),
    ):
        problem = assert_problem(
            await client.post(url, json=body, headers=tokens.staff()), 422, "validation_error"
        )
        assert problem["errors"][0]["field"] == field
    partner = await make_partner(client, tokens)
    body = {"starts_at": "2026-12-01T00:00:00+08:00", "ends_at": "2026-12-02T00:00:00+08:00"}
    assert_problem(
        await client.post(url, json=body, headers=tokens.partner(partner["id"])), 403, "forbidden"
    )
    assert ok(await client.get(url, headers=tokens.staff())) == []
