"""Catalogue API: zones, partners, resources; validation, ownership, pagination, ETags."""

from __future__ import annotations

import pytest

from tests.support.builders import Tokens, assert_problem, make_partner, make_resource, ok, unique


async def test_zones_are_the_five_kinds(client):
    zones = ok(await client.get("/api/v1/zones"))
    assert [zone["key"] for zone in zones] == [
        "expo_park",
        "office",
        "camp",
        "campus",
        "residential",
    ]
    assert {zone["name_zh"] for zone in zones} == {"园区", "办公区", "营区", "校区", "居民区"}


async def test_partner_lifecycle(client, tokens: Tokens):
    partner = await make_partner(client, tokens, contact_phone="021-5888 0000")
    fetched = await client.get(f"/api/v1/partners/{partner['id']}", headers=tokens.resident())
    assert ok(fetched) == partner
    assert fetched.headers["etag"] == '"1"'
    changed = ok(
        await client.patch(
            f"/api/v1/partners/{partner['id']}",
            json={"contact_name": "张老师"},
            headers={**tokens.staff(), "If-Match": '"1"'},
        )
    )
    assert changed["contact_name"] == "张老师"
    assert changed["version"] == 2
    stale = await client.patch(
        f"/api/v1/partners/{partner['id']}",
        json={"name": "Y"},
        headers={**tokens.staff(), "If-Match": '"1"'},
    )
    assert assert_problem(stale, 412, "precondition_failed")["current_version"] == 2
    assert (
        ok(await client.get(f"/api/v1/partners/{partner['id']}", headers=tokens.staff()))["name"]
        == partner["name"]
    )


async def test_duplicate_partner_id_is_409(client, tokens: Tokens):
    partner = await make_partner(client, tokens)
    again = await client.post(
        "/api/v1/partners",
        json={"id": partner["id"], "name": "X", "zone": "camp"},
        headers=tokens.staff(),
    )
    assert_problem(again, 409, "already_exists")


async def test_partner_listing_filters_by_zone(client, tokens: Tokens):
    partner = await make_partner(client, tokens, zone="camp")
    listed = ok(await client.get("/api/v1/partners?zone=camp&limit=200", headers=tokens.resident()))
    assert partner["id"] in [item["id"] for item in listed["items"]]
    assert {item["zone"] for item in listed["items"]} == {"camp"}
    assert_problem(
        await client.get("/api/v1/partners?zone=moon", headers=tokens.resident()),
        422,
        "validation_error",
    )


async def test_unknown_ids_are_404(client, tokens: Tokens):
    assert_problem(
        await client.get("/api/v1/partners/nope", headers=tokens.staff()), 404, "not_found"
    )
    assert_problem(
        await client.get("/api/v1/resources/nope", headers=tokens.staff()), 404, "not_found"
    )
    assert_problem(
        await client.patch("/api/v1/resources/nope", json={}, headers=tokens.staff()),
        404,
        "not_found",
    )
    assert_problem(
        await client.delete("/api/v1/resources/nope", headers=tokens.staff()), 404, "not_found"
    )


async def test_resource_defaults_and_units(client, tokens: Tokens):
    partner = await make_partner(client, tokens)
    resource = await make_resource(
        client,
        tokens,
        partner["id"],
        kind="parking",
        capacity=None,
        units=["B1-001", "B1-002", "B1-003"],
    )
    assert resource["capacity"] == 3
    assert resource["zone"] == "campus"
    assert resource["timezone"] == "Asia/Shanghai"
    assert resource["policy"] == {
        "granularity_minutes": 60,
        "min_duration_minutes": 60,
        "max_duration_minutes": 240,
        "min_lead_minutes": 0,
        "horizon_days": 14,
        "approval": "auto",
        "cancel_deadline_minutes": 60,
        "release": None,
        "max_party_size": 4,
        "max_active_bookings_per_week": None,
        "max_minutes_per_day": None,
        "eligible_tags": [],
        "partner_may_approve": True,
        "check_in_opens_minutes": 30,
        "check_in_closes_minutes": 15,
        "check_in_required": False,
        "allocation": "fcfs",
        "pending_expiry_minutes": None,
        "offer_minutes": 30,
        "reminder_minutes": None,
        "no_show": {"limit": 3, "window_days": 30, "suspend_days": 14, "scope": "resource"},
        "max_bookings_per_person_per_slot": 1,
        "max_places_per_person_per_slot": None,
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"capacity": 0}, "capacity"),
        ({"capacity": -5}, "capacity"),
        ({"capacity": 10**9}, "capacity"),
        ({"capacity": None}, "capacity"),
        ({"capacity": 2, "units": ["A", "B", "C"]}, "capacity"),
        ({"capacity": None, "units": ["A", "A"]}, "units"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"kind": "spaceship"}, "kind"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"policy": {"granularity_minutes": 7}}, "policy"),
        ({"policy": {"granularity_minutes": 60, "min_duration_minutes": 90}}, "policy"),
        ({"policy": {"min_duration_minutes": 120, "max_duration_minutes": 60}}, "policy"),
        ({"policy": {"approval": "maybe"}}, "policy"),
        ({"policy": {"surprise": 1}}, "policy"),
        ({"latitude": 123.0}, "latitude"),
        ({"partner_id": "no-such-partner"}, "partner_id"),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
async def test_invalid_resources_are_422_naming_the_field(client, tokens: Tokens, fields, field):
    partner = await make_partner(client, tokens)
    body = {"partner_id": partner["id"], "name": "Court", "kind": "court", "capacity": 1, **fields}
    response = await client.post("/api/v1/resources", json=body, headers=tokens.staff())
    problem = assert_problem(response, 422, "validation_error")
    assert any(error["field"].startswith(field) for error in problem["errors"]), problem
    listed = ok(
        await client.get(f"/api/v1/resources?partner_id={partner['id']}", headers=tokens.staff())
    )
    assert listed["total"] == 0


async def test_partner_manages_only_its_own_resources(client, tokens: Tokens):
    mine, theirs = await make_partner(client, tokens), await make_partner(client, tokens)
    me = tokens.partner(mine["id"])
    created = await client.post(
        "/api/v1/resources", json={"name": "Court", "kind": "court", "capacity": 2}, headers=me
    )
    resource = ok(created, 201)
    assert resource["partner_id"] == mine["id"]
    foreign = await client.post(
        "/api/v1/resources",
        json={"partner_id": theirs["id"], "name": "Court", "kind": "court", "capacity": 2},
        headers=me,
    )
    assert_problem(foreign, 403, "forbidden")
    their_resource = await make_resource(client, tokens, theirs["id"])
    assert_problem(
        await client.patch(
            f"/api/v1/resources/{their_resource['id']}", json={"name": "Mine"}, headers=me
        ),
        403,
        "forbidden",
    )
    assert_problem(
        await client.delete(f"/api/v1/resources/{their_resource['id']}", headers=me),
        403,
        "forbidden",
    )
    changed = await client.patch(
        f"/api/v1/resources/{resource['id']}", json={"capacity": 3}, headers=me
    )
    assert ok(changed)["capacity"] == 3


async def test_resident_reads_but_cannot_write_resources(client, tokens: Tokens):
    resource = await make_resource(client, tokens)
    resident = tokens.resident()
    assert (
        ok(await client.get(f"/api/v1/resources/{resource['id']}", headers=resident))["id"]
        == resource["id"]
    )
    assert_problem(
        await client.patch(f"/api/v1/resources/{resource['id']}", json={}, headers=resident),
        403,
        "forbidden",
    )
    assert_problem(
        await client.delete(f"/api/v1/resources/{resource['id']}", headers=resident),
        403,
        "forbidden",
    )
    body = {"partner_id": resource["partner_id"], "name": "X", "kind": "room", "capacity": 1}
    assert_problem(
        await client.post("/api/v1/resources", json=body, headers=resident), 403, "forbidden"
    )


async def test_policy_patch_merges_and_units_drive_capacity(client, tokens: Tokens):
    resource = await make_resource(client, tokens)
    url = f"/api/v1/resources/{resource['id']}"
    changed = ok(
        await client.patch(url, json={"policy": {"approval": "staff"}}, headers=tokens.staff())
    )
    assert changed["policy"]["approval"] == "staff"
    assert changed["policy"]["granularity_minutes"] == 60
    with_units = ok(
        await client.patch(url, json={"units": ["Court 1", "Court 2"]}, headers=tokens.staff())
    )
    assert with_units["capacity"] == 2
    mismatch = await client.patch(url, json={"capacity": 5}, headers=tokens.staff())
    assert_problem(mismatch, 422, "validation_error")
    bad_policy = await client.patch(
        url, json={"policy": {"granularity_minutes": "sixty"}}, headers=tokens.staff()
    )
    assert (
        assert_problem(bad_policy, 422, "validation_error")["errors"][0]["field"]
        == "policy.granularity_minutes"
    )
    assert ok(await client.get(url, headers=tokens.staff()))["version"] == with_units["version"]


async def test_resource_listing_filters_and_pages(client, tokens: Tokens):
    partner = await make_partner(client, tokens, zone="office")
    for index in range(5):
        await make_resource(client, tokens, partner["id"], name=f"Space {index}", kind="parking")
    await make_resource(client, tokens, partner["id"], name="Room", kind="room", capacity=1)
    base = f"/api/v1/resources?partner_id={partner['id']}"
    first = ok(await client.get(base + "&kind=parking&limit=2", headers=tokens.resident()))
    second = ok(
        await client.get(base + "&kind=parking&limit=2&offset=2", headers=tokens.resident())
    )
    assert first["total"] == second["total"] == 5
    assert [item["name"] for item in first["items"] + second["items"]] == [
        f"Space {i}" for i in range(4)
    ]
    office = ok(await client.get(base + "&zone=office&limit=200", headers=tokens.resident()))
    assert office["total"] == 6
    assert ok(await client.get(base + "&zone=campus", headers=tokens.resident()))["total"] == 0
    for query in ("limit=0", "limit=201", "offset=-1", "limit=abc", "kind=spaceship"):
        assert_problem(
            await client.get(f"{base}&{query}", headers=tokens.resident()), 422, "validation_error"
        )


async def test_deleted_resource_disappears(client, tokens: Tokens):
    resource = await make_resource(client, tokens)
    url = f"/api/v1/resources/{resource['id']}"
    assert_problem(
        await client.delete(url, headers={**tokens.staff(), "If-Match": '"9"'}),
        412,
        "precondition_failed",
    )
    response = await client.delete(url, headers={**tokens.staff(), "If-Match": '"1"'})
    assert response.status_code == 204
    assert_problem(await client.get(url, headers=tokens.staff()), 404, "not_found")
    listed = ok(
        await client.get(
            f"/api/v1/resources?partner_id={resource['partner_id']}", headers=tokens.staff()
        )
    )
    assert listed["total"] == 0
    reuse = {
        "id": resource["id"],
        "partner_id": resource["partner_id"],
        "name": "X",
        "kind": "room",
        "capacity": 1,
    }
    assert_problem(
        await client.post("/api/v1/resources", json=reuse, headers=tokens.staff()),
        409,
        "already_exists",
    )


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "malformed_request"),
        (b"[1, 2]", "application/json", 422, "validation_error"),
        (b'{"name": "x", "zone": "camp"', "application/json", 400, "malformed_request"),
    ],
)
async def test_malformed_bodies_are_4xx_problems(
    client, tokens: Tokens, content, content_type, status, code
):
    response = await client.post(
        "/api/v1/partners",
        content=content,
        headers={**tokens.staff(), "Content-Type": content_type},
    )
    assert_problem(response, status, code)


async def test_hostile_strings_are_stored_verbatim(client, tokens: Tokens):
    name = "'; DROP TABLE partners; -- <script>alert(1)</script> 周家渡"
    partner = await make_partner(client, tokens, name=name, id=unique("hostile"))
    assert (
        ok(await client.get(f"/api/v1/partners/{partner['id']}", headers=tokens.staff()))["name"]
        == name
    )


async def test_responses_carry_a_request_id(client, tokens: Tokens):
    response = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    problem = await client.get("/api/v1/resources")
    assert problem.json()["request_id"] == problem.headers["x-request-id"]


async def test_unknown_route_and_method(client, tokens: Tokens):
    assert_problem(
        await client.get("/api/v1/nothing-here", headers=tokens.staff()), 404, "not_found"
    )
    assert_problem(
        await client.put("/api/v1/zones", headers=tokens.staff()), 405, "method_not_allowed"
    )


async def test_body_must_be_json(client, tokens: Tokens):
    body = b'{"name": "X", "zone": "camp"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = await client.post(
            "/api/v1/partners",
            content=body,
            headers={**tokens.staff(), "Content-Type": content_type},
        )
        assert_problem(response, 415, "unsupported_media_type")


async def test_overlong_contact_phone_is_422_not_500(client, tokens: Tokens):
    response = await client.post(
        "/api/v1/partners",
        json={"name": "X", "zone": "camp", "contact_phone": "1" * 51},
        headers=tokens.staff(),
    )
    assert (
        assert_problem(response, 422, "validation_error")["errors"][0]["field"] == "contact_phone"
    )


async def test_missing_field_is_named(client, tokens: Tokens):
    response = await client.post("/api/v1/partners", json={"zone": "camp"}, headers=tokens.staff())
    assert assert_problem(response, 422, "validation_error")["errors"][0]["field"] == "name"


async def test_racing_creates_with_one_id_give_one_201_and_409s(client, tokens: Tokens):
    import asyncio

    body = {"id": unique("race"), "name": "X", "zone": "camp"}
    responses = await asyncio.gather(
        *(client.post("/api/v1/partners", json=body, headers=tokens.staff()) for _ in range(6))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 5, [r.text for r in responses]
