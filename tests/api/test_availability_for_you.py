"""Availability for the caller: every slot says what booking one place of it would answer
them (an audience that does not admit them, beyond the horizon, their own early access), and
that answer is what a dry-run booking of the slot gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.builders import Tokens, make_resource, make_window, ok, unique

# Tuesday 1 December 2026, 08:00 in Shanghai.
NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def morning(clock):
    clock.set(NOW)
    return clock


async def slots_for(
    client: Any, headers: dict[str, str], resource_id: str, start: str, end: str
) -> list[dict[str, Any]]:
    answer = ok(
        await client.get(
            f"/api/v1/resources/{resource_id}/availability",
            params={"from": start, "to": end},
            headers=headers,
        )
    )
    slots: list[dict[str, Any]] = answer["slots"]
    return slots


async def dry_run(
    client: Any, headers: dict[str, str], resource_id: str, slot: dict[str, Any]
) -> str:
    """What booking the slot answers: ``book``, ``enter`` or the refusal code."""
    body = {"resource_id": resource_id, "starts_at": slot["starts_at"], "ends_at": slot["ends_at"]}
    response = await client.post("/api/v1/bookings?dry_run=true", json=body, headers=headers)
    if response.status_code == 200:
        return "enter" if response.json()["would_be_status"] == "entered" else "book"
    return str(response.json()["code"])


def said(slot: dict[str, Any]) -> str:
    you = slot["for_you"]
    assert you["bookable"] == (you["outcome"] == "book")
    return str(you["refusal"] or you["outcome"])


async def test_tidal_parking_marks_the_day_as_not_for_residents(client, tokens: Tokens, morning):
    resource = await make_resource(
        client, tokens, kind="parking", capacity=None, units=["B1-001", "B1-002"]
    )
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="08:00")
    await make_window(
        client, tokens, resource["id"], start_time="08:00", end_time="18:00", audience="visitors"
    )
    span = ("2026-12-02T06:00:00+08:00", "2026-12-02T10:00:00+08:00")
    resident = tokens.resident(community="shangnan-1")
    visitor = tokens.resident(tags=["visitor"])
    for_resident = await slots_for(client, resident, resource["id"], *span)
    for_visitor = await slots_for(client, visitor, resource["id"], *span)
    assert [said(slot) for slot in for_resident] == ["book"] * 2 + ["outside_window"] * 2
    # A resident with a visitor pass is admitted by both windows.
    assert [said(slot) for slot in for_visitor] == ["book"] * 4
    # Everyone sees the same places; only what they may do with them differs.
    assert {slot["status"] for slot in for_resident + for_visitor} == {"open"}
    for headers, slots in ((resident, for_resident), (visitor, for_visitor)):
        for slot in slots:
            assert await dry_run(client, headers, resource["id"], slot) == said(slot)


async def test_beyond_the_horizon_and_too_soon_say_what_booking_says(
    client, tokens: Tokens, morning
):
    resource = await make_resource(
        client, tokens, policy={"horizon_days": 2, "min_lead_minutes": 120}
    )
    await make_window(client, tokens, resource["id"], start_time="08:00", end_time="12:00")
    me = tokens.resident()
    today = await slots_for(
        client, me, resource["id"], "2026-12-01T08:00:00+08:00", "2026-12-01T12:00:00+08:00"
    )
    assert [said(slot) for slot in today] == ["lead_time", "lead_time", "book", "book"]
    later = await slots_for(
        client, me, resource["id"], "2026-12-03T08:00:00+08:00", "2026-12-03T10:00:00+08:00"
    )
    assert [said(slot) for slot in later] == ["book", "horizon"]
    for slot in today + later:
        assert await dry_run(client, me, resource["id"], slot) == said(slot)


async def test_early_access_opens_the_slot_for_the_tagged_caller_only(
    client, tokens: Tokens, clock
):
    resource = await make_resource(
        client,
        tokens,
        policy={
            "release": {
                "days_ahead": 7,
                "at": "09:00",
                "early_access": [{"tag": "elderly", "minutes": 60}],
            }
        },
    )
    await make_window(client, tokens, resource["id"], start_time="11:00", end_time="12:00")
    # 08:30 on 1 December: the 8 December lunch opens at 09:00, at 08:00 for elders.
    clock.set(datetime(2026, 12, 1, 0, 30, tzinfo=UTC))
    lunch = ("2026-12-08T11:00:00+08:00", "2026-12-08T12:00:00+08:00")
    elder, neighbour = tokens.resident(tags=["elderly"]), tokens.resident()
    [for_elder] = await slots_for(client, elder, resource["id"], *lunch)
    [for_neighbour] = await slots_for(client, neighbour, resource["id"], *lunch)
    assert for_elder["status"] == for_neighbour["status"] == "not_released"
    assert for_elder["releases_at"] == "2026-12-01T09:00:00+08:00"
    assert for_elder["for_you"] == {
        "bookable": True,
        "outcome": "book",
        "refusal": None,
        "opens_at": "2026-12-01T08:00:00+08:00",
    }
    assert (said(for_neighbour), for_neighbour["for_you"]["opens_at"]) == ("not_released", None)
    assert await dry_run(client, elder, resource["id"], for_elder) == "book"
    assert await dry_run(client, neighbour, resource["id"], for_neighbour) == "not_released"
    # The search finds it for the elder, and not for the neighbour.
    day = {"from": lunch[0], "to": lunch[1], "kind": "sports_field"}
    found = ok(await client.get("/api/v1/availability", params=day, headers=elder))["results"]
    assert resource["id"] in {result["resource_id"] for result in found}
    found = ok(await client.get("/api/v1/availability", params=day, headers=neighbour))["results"]
    assert resource["id"] not in {result["resource_id"] for result in found}


async def test_a_community_window_and_a_suspension_are_marked(client, tokens: Tokens, morning):
    resource = await make_resource(client, tokens)
    await make_window(
        client,
        tokens,
        resource["id"],
        start_time="18:00",
        end_time="19:00",
        audience=["shangnan-2"],
    )
    evening = ("2026-12-02T18:00:00+08:00", "2026-12-02T19:00:00+08:00")
    insider, outsider = tokens.resident(community="shangnan-2"), tokens.resident(community="x")
    [mine] = await slots_for(client, insider, resource["id"], *evening)
    [theirs] = await slots_for(client, outsider, resource["id"], *evening)
    assert (said(mine), said(theirs)) == ("book", "outside_window")
    sub = unique("suspended")
    registry = {"id": sub, "name": "王伯伯", "community": "shangnan-2"}
    ok(await client.post("/api/v1/residents", json=registry, headers=tokens.staff()), 201)
    person = tokens.resident(sub=sub, community="shangnan-2")
    suspension = {
        "resident_id": sub,
        "until": (NOW + timedelta(days=7)).isoformat(),
        "reason": "three missed evenings",
        "scope": "everywhere",
    }
    response = await client.post("/api/v1/suspensions", json=suspension, headers=tokens.staff())
    assert response.status_code == 201, response.text
    [slot] = await slots_for(client, person, resource["id"], *evening)
    assert said(slot) == "suspended"
    assert await dry_run(client, person, resource["id"], slot) == "suspended"
