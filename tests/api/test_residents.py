"""The resident registry through HTTP: staff record an elder before any booking, book her
early access, correct her community, merge duplicates, and every read of her personal data
is logged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

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

# The canteen releases a week ahead at 09:00 Shanghai (01:00 UTC); elderly residents may book
# an hour earlier. Lunch on Tuesday 8 December is released on Tuesday 1 December.
RELEASE = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
LUNCH = ("2026-12-08T11:00:00+08:00", "2026-12-08T12:00:00+08:00")
NEXT_LUNCH = ("2026-12-09T11:00:00+08:00", "2026-12-09T12:00:00+08:00")
# Both lunches are open to everyone from 09:00 on 2 December.
BOTH_RELEASED = RELEASE + timedelta(days=1, hours=1)
EARLY = {"days_ahead": 7, "at": "09:00", "early_access": [{"tag": "elderly", "minutes": 60}]}


@pytest.fixture
def before_release(clock):
    """Half an hour into the elders' head start: 08:30 on release day."""
    clock.set(RELEASE - timedelta(minutes=30))
    return clock


async def canteen(client, tokens: Tokens, audience: Any = "residents", **policy: Any):
    resource = await make_resource(
        client,
        tokens,
        kind="canteen",
        name="上南二村长者食堂 elderly canteen",
        capacity=40,
        policy={"release": EARLY, "horizon_days": 10, **policy},
    )
    await make_window(
        client, tokens, resource["id"], start_time="11:00", end_time="13:00", audience=audience
    )
    return resource


async def new_resident(client, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "李奶奶", "community": "shangnan-2", **fields}
    response = await client.post("/api/v1/residents", json=body, headers=headers)
    resident = ok(response, 201)
    assert response.headers["etag"] == f'"{resident["version"]}"'
    return resident


def for_(resident: dict[str, Any]) -> dict[str, Any]:
    return {"on_behalf_of": {"sub": resident["id"]}}


async def test_staff_record_li_nainai_and_book_her_early_access_seat(
    client, tokens: Tokens, before_release
):
    staff = tokens.staff()
    li = await new_resident(
        client, staff, id=unique("li-nainai"), tags=["elderly"], phone="138 0013 5678"
    )
    assert (li["name"], li["community"], li["tags"]) == ("李奶奶", "shangnan-2", ["elderly"])
    assert (li["verified"], li["suspended"], li["created_by"]) == (True, False, "staff-test")
    assert li["phone_masked"] == "138****5678" and "phone" not in li
    assert ok(await client.get(f"/api/v1/residents/{li['id']}", headers=staff)) == li
    resource = await canteen(client, tokens)

    seat = ok(await book(client, staff, resource["id"], *LUNCH, **for_(li)), 201)
    assert (seat["status"], seat["holder"], seat["created_by"]) == (
        "confirmed",
        {"sub": li["id"], "name": "李奶奶"},
        "staff-test",
    )
    # Her neighbour without the tag, and an elder the registry does not know, wait for 09:00.
    assert_problem(
        await book(client, tokens.resident(), resource["id"], *LUNCH), 409, "not_released"
    )
    stranger = {"on_behalf_of": {"sub": unique("zhang"), "name": "张老伯"}}
    assert_problem(
        await book(client, staff, resource["id"], *LUNCH, **stranger), 409, "not_released"
    )
    # The holder sees her seat with her own token.
    mine = ok(await client.get(f"/api/v1/bookings/{seat['id']}", headers=tokens.resident(li["id"])))
    assert mine["id"] == seat["id"]


async def test_a_resident_without_the_tag_gets_early_access_once_staff_add_it(
    client, tokens: Tokens, before_release
):
    staff = tokens.staff()
    wang = await new_resident(client, staff, name="王阿婆")
    resource = await canteen(client, tokens)
    assert_problem(
        await book(client, staff, resource["id"], *LUNCH, **for_(wang)), 409, "not_released"
    )
    tagged = ok(
        await client.patch(
            f"/api/v1/residents/{wang['id']}",
            json={"tags": ["elderly", "elderly"]},
            headers={**staff, "If-Match": f'"{wang["version"]}"'},
        )
    )
    assert (tagged["tags"], tagged["version"]) == (["elderly"], wang["version"] + 1)
    ok(await book(client, staff, resource["id"], *LUNCH, **for_(wang)), 201)


async def test_a_corrected_community_applies_to_the_next_booking(client, tokens: Tokens, clock):
    clock.set(BOTH_RELEASED)
    staff = tokens.staff()
    li = await new_resident(client, staff, community="shangnan-1")  # mistyped at the desk
    resource = await canteen(client, tokens, audience=["shangnan-2"])
    refused = await book(client, staff, resource["id"], *LUNCH, **for_(li))
    problem = assert_problem(refused, 409, "outside_window")
    assert problem["rule"] == "window.audience"

    path = f"/api/v1/residents/{li['id']}"
    stale = await client.patch(
        path, json={"community": "shangnan-2"}, headers={**staff, "If-Match": '"99"'}
    )
    assert_problem(stale, 412, "precondition_failed")
    assert ok(await client.get(path, headers=staff))["community"] == "shangnan-1"
    fixed = ok(
        await client.patch(
            path, json={"community": "shangnan-2"}, headers={**staff, "If-Match": '"1"'}
        )
    )
    assert (fixed["community"], fixed["version"]) == ("shangnan-2", 2)
    ok(await book(client, staff, resource["id"], *LUNCH, **for_(li)), 201)
    # The correction works the other way too: moved out, she is refused again.
    ok(await client.patch(path, json={"community": "zhoujiadu-5"}, headers=staff))
    assert_problem(
        await book(client, staff, resource["id"], *NEXT_LUNCH, **for_(li)), 409, "outside_window"
    )


async def test_merging_two_records_moves_bookings_and_the_old_id_resolves(
    client, tokens: Tokens, clock
):
    clock.set(BOTH_RELEASED)
    staff = tokens.staff()
    survivor = await new_resident(client, staff, tags=["elderly"], phone="13800135678")
    duplicate = await new_resident(
        client, staff, name="李奶奶 (dup)", tags=["diabetic"], identity_ref="sh-realname-4711"
    )
    resource = await canteen(client, tokens)
    moved = ok(await book(client, staff, resource["id"], *LUNCH, **for_(duplicate)), 201)
    kept = ok(await book(client, staff, resource["id"], *NEXT_LUNCH, **for_(survivor)), 201)

    merged = ok(
        await client.post(
            f"/api/v1/residents/{survivor['id']}/merge",
            json={"duplicate_id": duplicate["id"]},
            headers=staff,
        )
    )
    assert (merged["survivor_id"], merged["merged_id"]) == (survivor["id"], duplicate["id"])
    assert (merged["moved_bookings"], merged["moved_suspensions"]) == (1, 0)
    assert merged["resident"]["tags"] == ["diabetic", "elderly"]
    assert merged["resident"]["has_identity_ref"] is True
    assert merged["resident"]["version"] == survivor["version"] + 1

    # The old id answers with the survivor; the booking now belongs to her.
    old = ok(await client.get(f"/api/v1/residents/{duplicate['id']}", headers=staff))
    assert old["id"] == survivor["id"]
    booking = ok(await client.get(f"/api/v1/bookings/{moved['id']}", headers=staff))
    assert booking["holder"] == {"sub": survivor["id"], "name": "李奶奶"}
    holder_view = tokens.resident(survivor["id"])
    listed = ok(await client.get("/api/v1/bookings", headers=holder_view))
    assert {b["id"] for b in listed["items"]} >= {moved["id"], kept["id"]}
    # Searches show one record, and a proxy booking under the old id is hers (and counts as
    # her one booking at that lunch).
    found = ok(
        await client.get(
            "/api/v1/residents", params={"phone": "5678", "q": "李奶奶"}, headers=staff
        )
    )
    ids = {r["id"] for r in found["items"]}
    assert survivor["id"] in ids and duplicate["id"] not in ids
    again = await book(client, staff, resource["id"], *LUNCH, **for_(duplicate))
    assert_problem(again, 409, "person_limit")
    # Merging again, or into itself, is refused.
    twice = await client.post(
        f"/api/v1/residents/{survivor['id']}/merge",
        json={"duplicate_id": duplicate["id"]},
        headers=staff,
    )
    assert_problem(twice, 409, "conflict")


async def test_merge_moves_a_suspension_to_the_survivor(client, tokens: Tokens, clock):
    clock.set(BOTH_RELEASED)
    staff = tokens.staff()
    survivor = await new_resident(client, staff)
    duplicate = await new_resident(client, staff)
    resource = await canteen(client, tokens)
    body = {
        "resident_id": duplicate["id"],
        "scope": "resource",
        "scope_id": resource["id"],
        "until": (RELEASE + timedelta(days=14)).isoformat(),
        "reason": "shouted at the cook",
    }
    ok(await client.post("/api/v1/suspensions", json=body, headers=staff), 201)
    ok(await book(client, staff, resource["id"], *LUNCH, **for_(survivor)), 201)
    merged = ok(
        await client.post(
            f"/api/v1/residents/{survivor['id']}/merge",
            json={"duplicate_id": duplicate["id"]},
            headers=staff,
        )
    )
    assert merged["moved_suspensions"] == 1 and merged["resident"]["suspended"] is True
    problem = assert_problem(
        await book(client, staff, resource["id"], *NEXT_LUNCH, **for_(survivor)), 403, "suspended"
    )
    assert problem["suspended_until"].startswith("2026-12-15")


async def test_reading_personal_data_is_logged_and_staff_can_query_the_log(
    client, tokens: Tokens, clock
):
    staff = tokens.staff()
    li = await new_resident(
        client, staff, phone="+86 138-0013-5678", identity_ref="sh-realname-0042"
    )
    path = f"/api/v1/residents/{li['id']}"
    log = "/api/v1/personal-data-access"
    # The masked record is not a read of personal data.
    ok(await client.get(path, headers=staff))
    assert ok(await client.get(log, params={"resident_id": li["id"]}, headers=staff))["total"] == 0

    personal = ok(await client.get(f"{path}/personal", headers=staff))
    assert personal == {
        "id": li["id"],
        "phone": "+8613800135678",
        "identity_ref": "sh-realname-0042",
    }
    worker = tokens.worker("shangnan-2", sub=unique("worker"))
    ok(await client.get(f"{path}/personal", headers=worker))

    entries = ok(await client.get(log, params={"resident_id": li["id"]}, headers=staff))
    assert entries["total"] == 2
    newest, oldest = entries["items"]
    assert (oldest["actor_sub"], oldest["actor_role"]) == ("staff-test", "staff")
    assert newest["actor_role"] == "worker"
    assert oldest["fields"] == ["phone", "identity_ref"] and oldest["action"] == "read"
    assert oldest["path"] == f"{path}/personal" and oldest["resident_id"] == li["id"]
    by_actor = ok(await client.get(log, params={"actor": "staff-test"}, headers=staff))
    assert any(e["resident_id"] == li["id"] for e in by_actor["items"])
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (
        ok(await client.get(log, params={"resident_id": li["id"], "since": later}, headers=staff))[
            "total"
        ]
        == 0
    )
    # Only staff query the log; the resident reads her own entries at /me.
    assert_problem(await client.get(log, headers=worker), 403, "forbidden")
    mine = ok(await client.get("/api/v1/residents/me", headers=tokens.resident(li["id"])))
    assert mine["personal"]["phone"] == "+8613800135678"
    assert [a["actor_role"] for a in mine["accesses"]] == ["worker", "staff"]
    assert mine["resident"]["id"] == li["id"] and mine["suspensions"] == []


async def test_a_resident_never_seen_has_nothing_stored(client, tokens: Tokens):
    # The caller is provisioned on sight, so /me answers with the bare record.
    me = ok(await client.get("/api/v1/residents/me", headers=tokens.resident(unique("new"))))
    assert me["personal"]["phone"] is None and me["accesses"] == []


async def test_search_by_name_phone_and_community(client, tokens: Tokens):
    staff = tokens.staff()
    community = unique("c")
    li = await new_resident(client, staff, community=community, phone="139 1111 2222")
    wang = await new_resident(client, staff, name="王大爷", community=community)

    async def search(**params: str) -> list[str]:
        found = ok(await client.get("/api/v1/residents", params=params, headers=staff))
        return [r["id"] for r in found["items"]]

    assert sorted(await search(community=community)) == sorted([li["id"], wang["id"]])
    assert await search(community=community, q="王") == [wang["id"]]
    assert await search(phone="2222", community=community) == [li["id"]]
    assert await search(phone="13911112222") == [li["id"]]
    assert await search(q=li["id"]) == [li["id"]]
    assert_problem(
        await client.get("/api/v1/residents", params={"phone": "22"}, headers=staff),
        422,
        "validation_error",
    )


async def test_registry_refuses_bad_input_and_duplicates(client, tokens: Tokens):
    staff = tokens.staff()
    li = await new_resident(client, staff, id=unique("li"), identity_ref=unique("idref"))
    again = await client.post(
        "/api/v1/residents",
        json={"id": li["id"], "name": "李奶奶", "community": "x"},
        headers=staff,
    )
    assert_problem(again, 409, "already_exists")
    for body in (
        {"name": "李奶奶"},
        {"name": "李奶奶", "community": "shangnan 2"},
        {"name": "李奶奶", "community": "shangnan-2", "phone": "call me"},
        {"name": "李奶奶", "community": "shangnan-2", "tags": ["no spaces"]},
        {"name": "李奶奶", "community": "shangnan-2", "role": "staff"},
    ):
        response = await client.post("/api/v1/residents", json=body, headers=staff)
        assert_problem(response, 422, "validation_error")
    assert_problem(
        await client.get(f"/api/v1/residents/{unique('nobody')}", headers=staff), 404, "not_found"
    )
    # Partners and residents have no access to the registry.
    for headers in (tokens.partner(unique("p")), tokens.resident()):
        assert_problem(await client.get("/api/v1/residents", headers=headers), 403, "forbidden")
