"""Fairness per person and humane no-show handling through HTTP: one booking per person per
time on a resource (party size still allowed), places per person, limits across a group of
resources, suspension scopes, excusing a no-show, and the list of who is suspended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scheduler.duties.services import DUTIES, DutyService
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

NOW = datetime(2027, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai, Tuesday 2 March 2027


def evening(hour: int, hours: int = 1, day: int = 2) -> tuple[str, str]:
    return (
        f"2027-03-{day:02d}T{hour:02d}:00:00+08:00",
        f"2027-03-{day:02d}T{hour + hours:02d}:00:00+08:00",
    )


@pytest.fixture
def morning(clock):
    clock.set(NOW)
    return clock


async def track(client, tokens: Tokens, partner_id: str | None = None, **policy: Any):
    resource = await make_resource(
        client, tokens, partner_id, capacity=60, policy={"max_party_size": 8, **policy}
    )
    await make_window(client, tokens, resource["id"], start_time="17:00", end_time="22:00")
    return resource


async def run_duties(db, now: datetime) -> None:
    for name in DUTIES:
        async with db() as session, session.begin():
            await getattr(DutyService(session), name)(now)


async def test_one_person_cannot_hold_two_overlapping_bookings_on_one_slot(
    client, tokens: Tokens, morning
):
    resource = await track(client, tokens)
    sub = unique("wang")
    me = tokens.resident(sub=sub)
    first = ok(await book(client, me, resource["id"], *evening(18), quantity=3), 201)
    again = await book(client, me, resource["id"], *evening(18), quantity=4)
    problem = assert_problem(again, 409, "person_limit")
    assert (problem["rule"], problem["limit"], problem["current"]) == (
        "policy.max_bookings_per_person_per_slot",
        1,
        1,
    )
    # Overlapping in part is overlapping; back to back is not.
    assert_problem(await book(client, me, resource["id"], *evening(17, 2)), 409, "person_limit")
    ok(await book(client, me, resource["id"], *evening(19)), 201)
    # Staff booking for the same person hit the same rule; another person is unaffected.
    proxy = {"on_behalf_of": {"sub": sub}}
    refused = await book(client, tokens.staff(), resource["id"], *evening(18), **proxy)
    assert_problem(refused, 409, "person_limit")
    ok(await book(client, tokens.resident(), resource["id"], *evening(18), quantity=4), 201)
    # Once cancelled, the time is hers to book again.
    ok(await client.post(f"/api/v1/bookings/{first['id']}/cancel", headers=me))
    ok(await book(client, me, resource["id"], *evening(18), quantity=4), 201)


async def test_other_resources_and_other_days_are_not_limited(client, tokens: Tokens, morning):
    one, two = await track(client, tokens), await track(client, tokens)
    me = tokens.resident()
    ok(await book(client, me, one["id"], *evening(18)), 201)
    ok(await book(client, me, two["id"], *evening(18)), 201)
    ok(await book(client, me, one["id"], *evening(18, day=3)), 201)


async def test_places_per_person_and_more_bookings_per_person(client, tokens: Tokens, morning):
    resource = await track(
        client, tokens, max_bookings_per_person_per_slot=2, max_places_per_person_per_slot=4
    )
    me = tokens.resident()
    ok(await book(client, me, resource["id"], *evening(18), quantity=3), 201)
    too_many = await book(client, me, resource["id"], *evening(18), quantity=2)
    problem = assert_problem(too_many, 409, "person_limit")
    assert (problem["rule"], problem["limit"], problem["current"]) == (
        "policy.max_places_per_person_per_slot",
        4,
        3,
    )
    ok(await book(client, me, resource["id"], *evening(18), quantity=1), 201)
    third = await book(client, me, resource["id"], *evening(18), quantity=1)
    assert assert_problem(third, 409, "person_limit")["limit"] == 2


async def test_policy_person_limits_are_validated(client, tokens: Tokens):
    resource = await track(client, tokens)
    for policy in (
        {"max_bookings_per_person_per_slot": 0},
        {"max_places_per_person_per_slot": 0},
        {"max_bookings_per_person_per_slot": "one"},
    ):
        response = await client.patch(
            f"/api/v1/resources/{resource['id']}", json={"policy": policy}, headers=tokens.staff()
        )
        assert_problem(response, 422, "validation_error")
    got = ok(await client.get(f"/api/v1/resources/{resource['id']}", headers=tokens.staff()))
    assert got["policy"]["max_bookings_per_person_per_slot"] == 1
    assert got["policy"]["max_places_per_person_per_slot"] is None


async def school_grounds(client, tokens: Tokens, **group: Any) -> tuple[list[str], dict]:
    grounds = [(await track(client, tokens))["id"] for _ in range(2)]
    body = {"id": unique("grounds"), "name": "School grounds", "resource_ids": grounds, **group}
    made = ok(await client.post("/api/v1/resource-groups", json=body, headers=tokens.staff()), 201)
    assert made["resource_ids"] == sorted(grounds)
    return grounds, made


async def test_one_school_ground_per_evening_across_the_group(client, tokens: Tokens, morning):
    (one, two), group = await school_grounds(client, tokens)
    me = tokens.resident()
    first = ok(await book(client, me, one, *evening(18)), 201)
    refused = await book(client, me, two, *evening(20))
    problem = assert_problem(refused, 409, "group_limit")
    assert (problem["group_id"], problem["group_name"]) == (group["id"], "School grounds")
    assert (problem["rule"], problem["limit"], problem["current"]) == ("group.max_bookings", 1, 1)
    ok(await book(client, me, two, *evening(20, day=3)), 201)  # another evening
    ok(await book(client, tokens.resident(), two, *evening(20)), 201)  # another person
    ok(await client.post(f"/api/v1/bookings/{first['id']}/cancel", headers=me))
    ok(await book(client, me, two, *evening(20)), 201)


async def test_a_group_counting_overlaps_allows_two_grounds_one_after_the_other(
    client, tokens: Tokens, morning
):
    (one, two), group = await school_grounds(client, tokens, period="overlap")
    me = tokens.resident()
    ok(await book(client, me, one, *evening(18)), 201)
    ok(await book(client, me, two, *evening(19)), 201)
    assert_problem(await book(client, me, two, *evening(18)), 409, "group_limit")
    # Raising the limit lets the same booking through.
    path = f"/api/v1/resource-groups/{group['id']}"
    raised = ok(
        await client.patch(
            path, json={"max_bookings": 2}, headers={**tokens.staff(), "If-Match": '"1"'}
        )
    )
    assert raised["max_bookings"] == 2
    ok(await book(client, me, two, *evening(18)), 201)
    # A third ground joins the group: two overlapping bookings are all one person may hold.
    other = await track(client, tokens)
    members = {"resource_ids": [one, two, other["id"]]}
    ok(await client.patch(path, json=members, headers=tokens.staff()))
    assert_problem(await book(client, me, other["id"], *evening(18)), 409, "group_limit")
    ok(await book(client, me, other["id"], *evening(20)), 201)


async def test_group_bad_input(client, tokens: Tokens):
    staff = tokens.staff()
    for body in (
        {"id": unique("g"), "name": "x", "resource_ids": [unique("missing")]},
        {"id": unique("g"), "name": "x", "resource_ids": [], "period": "week"},
        {"id": unique("g"), "name": "x", "resource_ids": [], "max_bookings": 0},
        {"id": unique("g"), "name": "x", "resource_ids": [], "timezone": "Mars/Olympus"},
    ):
        response = await client.post("/api/v1/resource-groups", json=body, headers=staff)
        assert_problem(response, 422, "validation_error")
    body = {"id": unique("g"), "name": "x", "resource_ids": []}
    partner = tokens.partner(unique("p"))
    assert_problem(
        await client.post("/api/v1/resource-groups", json=body, headers=partner), 403, "forbidden"
    )


LOTTERY = {"allocation": "lottery", "release": {"days_ahead": 7, "at": "09:00"}}
DRAWN_AT = datetime(2027, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 on 2 March: slots of 9 March open


async def test_one_lottery_entry_per_evening_across_the_group(client, tokens: Tokens, clock):
    clock.set(DRAWN_AT - timedelta(hours=1))
    grounds = [(await track(client, tokens, **LOTTERY))["id"] for _ in range(2)]
    body = {"id": unique("draws"), "name": "Evening draws", "resource_ids": grounds}
    ok(await client.post("/api/v1/resource-groups", json=body, headers=tokens.staff()), 201)
    me = tokens.resident()
    entry = await book(client, me, grounds[0], *evening(18, day=9))
    assert entry.status_code == 202 and entry.json()["status"] == "entered"
    second = await book(client, me, grounds[1], *evening(18, day=9))
    assert assert_problem(second, 409, "group_limit")["rule"] == "group.max_entries"


async def test_winning_one_draw_of_a_group_withdraws_the_other_entry(
    client, tokens: Tokens, clock, db
):
    clock.set(DRAWN_AT - timedelta(hours=1))
    grounds = [(await track(client, tokens, **LOTTERY))["id"] for _ in range(2)]
    body = {
        "id": unique("draws"),
        "name": "Evening draws",
        "resource_ids": grounds,
        "max_entries": 2,
    }
    ok(await client.post("/api/v1/resource-groups", json=body, headers=tokens.staff()), 201)
    sub = unique("lucky")
    me = tokens.resident(sub=sub)
    entries = [await book(client, me, ground, *evening(18, day=9)) for ground in grounds]
    assert [e.status_code for e in entries] == [202, 202]
    clock.set(DRAWN_AT)
    await run_duties(db, DRAWN_AT)
    statuses = [
        ok(await client.get(f"/api/v1/bookings/{e.json()['id']}", headers=me))["status"]
        for e in entries
    ]
    assert "entered" not in statuses, "both entries were drawn"
    assert statuses.count("confirmed") == 1, statuses


async def two_no_shows(
    client, tokens: Tokens, clock, db, resource_id: str, sub: str
) -> list[dict[str, Any]]:
    """Two bookings of ``sub`` that end unchecked, turned into no-shows by the duty."""
    clock.set(NOW)
    me = tokens.resident(sub=sub)
    made = [ok(await book(client, me, resource_id, *evening(h)), 201) for h in (18, 20)]
    await run_duties(db, datetime(2027, 3, 2, 13, 30, tzinfo=UTC))
    return made


async def test_an_excused_no_show_stops_counting_and_lifts_its_suspension(
    client, tokens: Tokens, clock, db
):
    partner = await make_partner(client, tokens)
    rule = {"limit": 2, "window_days": 30, "suspend_days": 14}
    resource = await track(client, tokens, partner["id"], check_in_required=True, no_show=rule)
    li, wang = unique("li"), unique("wang")
    absent = await two_no_shows(client, tokens, clock, db, resource["id"], li)
    await two_no_shows(client, tokens, clock, db, resource["id"], wang)
    clock.set(datetime(2027, 3, 2, 13, 40, tzinfo=UTC))
    staff = tokens.staff()

    running = ok(await client.get("/api/v1/suspensions", headers=staff))["items"]
    mine = [s for s in running if s["resident_id"] in (li, wang)]
    assert sorted(s["resident_id"] for s in mine) == sorted([li, wang])
    assert {(s["scope"], s["scope_id"], s["created_by"]) for s in mine} == {
        ("resource", resource["id"], "system:jobs")
    }
    assert all(s["reason"] == "2 no-shows in 30 days" for s in mine)
    tomorrow = evening(18, day=3)
    assert_problem(
        await book(client, tokens.resident(sub=li), resource["id"], *tomorrow), 403, "suspended"
    )

    # The owning partner excuses one of Li's no-shows (she was in hospital).
    owner = tokens.partner(partner["id"])
    path = f"/api/v1/bookings/{absent[0]['id']}/excuse"
    excused = ok(await client.post(path, json={"reason": "in hospital"}, headers=owner))
    assert excused["status"] == "no_show" and excused["excused_at"] is not None
    # Excusing twice changes nothing; an empty reason is refused.
    assert (
        ok(await client.post(path, json={"reason": "again"}, headers=owner))["version"]
        == (excused["version"])
    )
    assert_problem(
        await client.post(path, json={"reason": ""}, headers=owner), 422, "validation_error"
    )

    running = ok(await client.get("/api/v1/suspensions", headers=staff))["items"]
    assert [s["resident_id"] for s in running if s["resident_id"] in (li, wang)] == [wang]
    ok(await book(client, tokens.resident(sub=li), resource["id"], *tomorrow), 201)
    assert_problem(
        await book(client, tokens.resident(sub=wang), resource["id"], *tomorrow), 403, "suspended"
    )
    # The partner's list shows its own resources' suspensions.
    theirs = ok(await client.get("/api/v1/suspensions", headers=owner))["items"]
    assert [s["resident_id"] for s in theirs] == [wang]


async def test_who_may_excuse_and_only_a_no_show(client, tokens: Tokens, clock, db):
    resource = await track(client, tokens, check_in_required=True)
    sub = unique("zhao")
    absent = await two_no_shows(client, tokens, clock, db, resource["id"], sub)
    path = f"/api/v1/bookings/{absent[0]['id']}/excuse"
    body = {"reason": "ill"}
    holder = tokens.resident(sub=sub)
    assert_problem(await client.post(path, json=body, headers=holder), 403, "forbidden")
    other = tokens.partner((await make_partner(client, tokens))["id"])
    assert_problem(await client.post(path, json=body, headers=other), 404, "not_found")
    clock.set(NOW)
    fresh = ok(await book(client, holder, resource["id"], *evening(18, day=4)), 201)
    refused = await client.post(
        f"/api/v1/bookings/{fresh['id']}/excuse", json=body, headers=tokens.staff()
    )
    assert assert_problem(refused, 409, "invalid_transition")["current_status"] == "confirmed"


async def test_suspension_scopes(client, tokens: Tokens, morning):
    school, other_school = await make_partner(client, tokens), await make_partner(client, tokens)
    track_a = await track(client, tokens, school["id"])
    track_b = await track(client, tokens, school["id"])
    elsewhere = await track(client, tokens, other_school["id"])
    until = (NOW + timedelta(days=7)).isoformat()

    async def suspended(scope: str, scope_id: str | None, by: dict[str, str]) -> tuple[bool, ...]:
        sub = unique("r")
        body = {"resident_id": sub, "scope": scope, "scope_id": scope_id, "until": until}
        ok(await client.get("/api/v1/residents/me", headers=tokens.resident(sub=sub)))
        ok(await client.post("/api/v1/suspensions", json={**body, "reason": "x"}, headers=by), 201)
        outcomes = []
        for resource in (track_a, track_b, elsewhere):
            response = await book(client, tokens.resident(sub=sub), resource["id"], *evening(18))
            assert response.status_code in (201, 403), response.text
            outcomes.append(response.status_code == 403)
        return tuple(outcomes)

    owner = tokens.partner(school["id"])
    assert await suspended("resource", track_a["id"], owner) == (True, False, False)
    assert await suspended("partner", school["id"], owner) == (True, True, False)
    assert await suspended("everywhere", None, tokens.staff()) == (True, True, True)
    # A partner suspends only on its own resources or unit.
    for scope, scope_id in (
        ("everywhere", None),
        ("partner", other_school["id"]),
        ("resource", elsewhere["id"]),
    ):
        body = {
            "resident_id": unique("r"),
            "scope": scope,
            "scope_id": scope_id,
            "until": until,
            "reason": "x",
        }
        made = await client.post("/api/v1/suspensions", json=body, headers=owner)
        assert_problem(made, 403, "forbidden")


async def test_a_lifted_suspension_leaves_the_list(client, tokens: Tokens, morning):
    sub = unique("r")
    ok(await client.get("/api/v1/residents/me", headers=tokens.resident(sub=sub)))
    body = {
        "resident_id": sub,
        "scope": "everywhere",
        "until": (NOW + timedelta(days=3)).isoformat(),
        "reason": "fought over a court",
    }
    made = ok(await client.post("/api/v1/suspensions", json=body, headers=tokens.staff()), 201)
    me = ok(await client.get("/api/v1/residents/me", headers=tokens.resident(sub=sub)))
    assert [s["id"] for s in me["suspensions"]] == [made["id"]]
    path = f"/api/v1/suspensions/{made['id']}"
    assert (await client.delete(path, headers=tokens.staff())).status_code == 204
    running = ok(await client.get("/api/v1/suspensions", headers=tokens.staff()))["items"]
    assert made["id"] not in {s["id"] for s in running}
    assert_problem(await client.delete(path, headers=tokens.staff()), 404, "not_found")
    for bad in (
        {**body, "until": (NOW - timedelta(days=1)).isoformat()},
        {**body, "scope_id": "x"},
    ):
        response = await client.post("/api/v1/suspensions", json=bad, headers=tokens.staff())
        assert_problem(response, 422, "validation_error")


async def test_only_staff_scope_a_no_show_rule_everywhere(client, tokens: Tokens):
    partner = await make_partner(client, tokens)
    resource = await track(client, tokens, partner["id"])
    path = f"/api/v1/resources/{resource['id']}"
    owner = tokens.partner(partner["id"])
    for scope, status in (("partner", 200), ("everywhere", 403)):
        policy = {"no_show": {"limit": 3, "window_days": 30, "suspend_days": 14, "scope": scope}}
        response = await client.patch(path, json={"policy": policy}, headers=owner)
        assert response.status_code == status, response.text
    policy = {"no_show": {"limit": 3, "window_days": 30, "suspend_days": 14, "scope": "everywhere"}}
    ok(await client.patch(path, json={"policy": policy}, headers=tokens.staff()))
    # The partner may still change other fields of a policy staff scoped everywhere.
    kept = ok(await client.patch(path, json={"policy": {"max_party_size": 6}}, headers=owner))
    assert kept["policy"]["no_show"]["scope"] == "everywhere"
    assert kept["policy"]["max_party_size"] == 6
    made = await client.post(
        "/api/v1/resources",
        json={
            "partner_id": partner["id"],
            "name": "court",
            "kind": "court",
            "capacity": 2,
            "policy": {"no_show": {"scope": "everywhere"}},
        },
        headers=owner,
    )
    assert_problem(made, 403, "forbidden")
    fresh = await track(client, tokens)
    assert fresh["policy"]["no_show"]["scope"] == "resource"
