"""Bookings through HTTP: creation, every refusal code, approvals, lifecycle, visibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.db.catalogue import User
from tests.support.builders import (
    Tokens,
    assert_problem,
    availability,
    book,
    make_partner,
    make_resource,
    make_window,
    ok,
    unique,
)

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai, Tuesday 1 December 2026
EVENING = ("2026-12-01T18:00:00+08:00", "2026-12-01T19:00:00+08:00")


@pytest.fixture
def at_eight(clock):
    clock.set(NOW)
    return clock


async def court(client, tokens: Tokens, partner_id: str | None = None, **policy):
    resource = await make_resource(
        client,
        tokens,
        partner_id,
        kind="court",
        capacity=None,
        units=["Court 1", "Court 2"],
        policy=policy or None,
    )
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="22:00")
    return resource


async def track(
    client, tokens: Tokens, partner_id: str | None = None, capacity: int = 10, **policy
):
    resource = await make_resource(
        client, tokens, partner_id, capacity=capacity, policy=policy or None
    )
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="22:00")
    return resource


async def test_booking_is_confirmed_with_a_unit(client, tokens: Tokens, at_eight):
    resource = await court(client, tokens)
    me = tokens.resident(sub=unique("wang"), name="王阿姨")
    response = await book(
        client, me, resource["id"], *EVENING, unit="Court 2", note="with grandson"
    )
    booking = ok(response, 201)
    assert response.headers["etag"] == '"1"'
    assert (booking["status"], booking["unit"], booking["quantity"], booking["version"]) == (
        "confirmed",
        "Court 2",
        1,
        1,
    )
    assert (
        booking["holder"]["name"] == "王阿姨" and booking["created_by"] == booking["holder"]["sub"]
    )
    assert booking["starts_at"] == "2026-12-01T10:00:00Z"
    other = ok(await book(client, tokens.resident(), resource["id"], *EVENING, unit="Court 2"), 201)
    assert other["unit"] == "Court 1"
    slots = await availability(client, tokens, resource["id"], *EVENING)
    assert (slots[0]["held"], slots[0]["status"]) == (2, "full")
    third = await book(client, tokens.resident(), resource["id"], *EVENING)
    problem = assert_problem(third, 409, "capacity")
    assert problem["full_slots"][0]["starts_at"] == "2026-12-01T18:00:00+08:00"
    assert problem["alternatives"][0] == {
        "starts_at": "2026-12-01T19:00:00+08:00",
        "ends_at": "2026-12-01T20:00:00+08:00",
    }
    assert ok(await client.get(f"/api/v1/bookings/{booking['id']}", headers=me)) == booking


async def test_refusals_in_a_rush_suggest_what_is_still_free(client, tokens: Tokens, at_eight):
    """The suggestions are kept a second for identical refusals (docs/performance.md), but a
    booking this process makes is seen by the very next refusal."""
    resource = await track(client, tokens, capacity=1)
    ok(await book(client, tokens.resident(), resource["id"], *EVENING), 201)

    async def suggested() -> list[str]:
        problem = assert_problem(
            await book(client, tokens.resident(), resource["id"], *EVENING), 409, "capacity"
        )
        return [option["starts_at"][5:16] for option in problem["alternatives"]]

    assert await suggested() == ["12-01T19:00", "12-01T20:00", "12-01T21:00"]
    assert await suggested() == ["12-01T19:00", "12-01T20:00", "12-01T21:00"]
    seven = ("2026-12-01T19:00:00+08:00", "2026-12-01T20:00:00+08:00")
    holder = tokens.resident()
    taken = ok(await book(client, holder, resource["id"], *seven), 201)
    assert await suggested() == ["12-01T20:00", "12-01T21:00", "12-02T18:00"]
    # A cancellation gives the place back to the very next refusal's suggestions too.
    ok(await client.post(f"/api/v1/bookings/{taken['id']}/cancel", headers=holder))
    assert await suggested() == ["12-01T19:00", "12-01T20:00", "12-01T21:00"]


async def test_exact_unit_is_refused_when_taken(client, tokens: Tokens, at_eight):
    resource = await court(client, tokens)
    ok(await book(client, tokens.resident(), resource["id"], *EVENING, unit="Court 1"), 201)
    refused = await book(
        client, tokens.resident(), resource["id"], *EVENING, unit="Court 1", unit_exact=True
    )
    assert assert_problem(refused, 409, "unit_taken")["free_units"] == ["Court 2"]


async def test_head_count_and_party_size(client, tokens: Tokens, at_eight):
    resource = await track(client, tokens, capacity=5)
    ok(await book(client, tokens.resident(), resource["id"], *EVENING, quantity=4), 201)
    assert_problem(
        await book(client, tokens.resident(), resource["id"], *EVENING, quantity=2), 409, "capacity"
    )
    ok(await book(client, tokens.resident(), resource["id"], *EVENING, quantity=1), 201)
    too_many = await book(client, tokens.resident(), resource["id"], *EVENING, quantity=5)
    problem = assert_problem(too_many, 422, "invalid_quantity")
    assert (problem["rule"], problem["limit"]) == ("policy.max_party_size", 4)


@pytest.mark.parametrize(
    ("times", "status", "code", "rule"),
    [
        (
            ("2026-12-01T18:30:00+08:00", "2026-12-01T19:30:00+08:00"),
            422,
            "invalid_duration",
            "slot_boundaries",
        ),
        (
            ("2026-12-01T18:00:00+08:00", "2026-12-01T18:30:00+08:00"),
            422,
            "invalid_duration",
            "policy.granularity_minutes",
        ),
        (
            ("2026-12-01T18:00:00+08:00", "2026-12-01T22:00:00+08:00"),
            422,
            "invalid_duration",
            "policy.max_duration_minutes",
        ),
        (
            ("2026-12-01T12:00:00+08:00", "2026-12-01T13:00:00+08:00"),
            409,
            "outside_window",
            "windows",
        ),
        (
            ("2026-12-01T21:00:00+08:00", "2026-12-01T23:00:00+08:00"),
            409,
            "outside_window",
            "windows",
        ),
        (
            ("2026-12-01T07:00:00+08:00", "2026-12-01T08:00:00+08:00"),
            409,
            "lead_time",
            "policy.min_lead_minutes",
        ),
        (
            ("2026-12-20T18:00:00+08:00", "2026-12-20T19:00:00+08:00"),
            409,
            "horizon",
            "policy.horizon_days",
        ),
    ],
)
async def test_refusals_name_the_rule(client, tokens: Tokens, at_eight, times, status, code, rule):
    resource = await track(client, tokens, max_duration_minutes=180)
    problem = assert_problem(
        await book(client, tokens.resident(), resource["id"], *times), status, code
    )
    assert problem["rule"] == rule
    listed = ok(
        await client.get(f"/api/v1/bookings?resource_id={resource['id']}", headers=tokens.staff())
    )
    assert listed["total"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"starts_at": "2026-12-01T18:00:00", "ends_at": "2026-12-01T19:00:00+08:00"}, "starts_at"),
        (
            {"starts_at": "2026-12-01T19:00:00+08:00", "ends_at": "2026-12-01T18:00:00+08:00"},
            "ends_at",
        ),
        ({"starts_at": "next tuesday", "ends_at": "2026-12-01T19:00:00+08:00"}, "starts_at"),
        ({"starts_at": EVENING[0], "ends_at": EVENING[1], "quantity": 0}, "quantity"),
        ({"starts_at": EVENING[0], "ends_at": EVENING[1], "quantity": -3}, "quantity"),
        ({"starts_at": EVENING[0], "ends_at": EVENING[1], "surprise": 1}, "surprise"),
    ],
)
async def test_malformed_booking_requests_are_422(client, tokens: Tokens, at_eight, body, field):
    resource = await track(client, tokens)
    me = tokens.resident(sub=unique("malformed"))
    response = await client.post(
        "/api/v1/bookings", json={"resource_id": resource["id"], **body}, headers=me
    )
    problem = assert_problem(response, 422, "validation_error")
    assert [error["field"] for error in problem["errors"]] == [field]
    assert ok(await client.get("/api/v1/bookings", headers=me))["total"] == 0
    assert (await availability(client, tokens, resource["id"], *EVENING))[0]["held"] == 0


async def test_unknown_resource_is_404(client, tokens: Tokens, at_eight):
    assert_problem(
        await book(client, tokens.resident(), "no-such-resource", *EVENING), 404, "not_found"
    )


async def test_not_released_and_closed(client, tokens: Tokens, at_eight):
    resource = await track(client, tokens, release={"days_ahead": 2, "at": "09:00"})
    later = ("2026-12-04T18:00:00+08:00", "2026-12-04T19:00:00+08:00")
    problem = assert_problem(
        await book(client, tokens.resident(), resource["id"], *later), 409, "not_released"
    )
    assert (problem["rule"], problem["releases_at"]) == (
        "policy.release",
        "2026-12-02T09:00:00+08:00",
    )
    ok(
        await client.post(
            f"/api/v1/resources/{resource['id']}/closures",
            json={"starts_at": EVENING[0], "ends_at": EVENING[1], "reason": "运动会 sports day"},
            headers=tokens.staff(),
        ),
        201,
    )
    closed = assert_problem(
        await book(client, tokens.resident(), resource["id"], *EVENING), 409, "closed"
    )
    assert "运动会" in closed["detail"]
    assert (closed["rule"], closed["reason"], closed["closed_from"]) == (
        "closure",
        "运动会 sports day",
        "2026-12-01T18:00:00+08:00",
    )


async def test_audience_and_eligibility(client, tokens: Tokens, at_eight):
    resource = await make_resource(
        client, tokens, capacity=10, policy={"eligible_tags": ["elderly"]}
    )
    await make_window(
        client,
        tokens,
        resource["id"],
        start_time="18:00",
        end_time="20:00",
        audience=["shangnan-1"],
    )
    outsider = tokens.resident(community="other", tags=["elderly"])
    refused = assert_problem(
        await book(client, outsider, resource["id"], *EVENING), 409, "outside_window"
    )
    assert refused["audience"] == ["community:shangnan-1"]
    young = tokens.resident(community="shangnan-1")
    assert assert_problem(await book(client, young, resource["id"], *EVENING), 403, "not_eligible")[
        "rule"
    ] == ("policy.eligible_tags")
    elder = tokens.resident(community="shangnan-1", tags=["elderly"])
    ok(await book(client, elder, resource["id"], *EVENING), 201)


async def test_suspended_resident_is_refused(client, tokens: Tokens, db, at_eight):
    resource = await track(client, tokens)
    sub = unique("suspended")
    ok(await client.get("/api/v1/zones", headers=tokens.resident(sub=sub)))
    await client.get("/api/v1/resources?limit=1", headers=tokens.resident(sub=sub))
    suspension = {
        "resident_id": sub,
        "scope": "everywhere",
        "until": (NOW + timedelta(days=14)).isoformat(),
        "reason": "three missed evenings",
    }
    ok(await client.post("/api/v1/suspensions", json=suspension, headers=tokens.staff()), 201)
    problem = assert_problem(
        await book(client, tokens.resident(sub=sub), resource["id"], *EVENING), 403, "suspended"
    )
    assert problem["suspended_until"].startswith("2026-12-15")


async def test_quotas_count_the_holders_active_bookings(client, tokens: Tokens, at_eight):
    resource = await track(client, tokens, max_active_bookings_per_week=2, max_minutes_per_day=120)
    me = tokens.resident(sub=unique("quota"))
    ok(
        await book(
            client, me, resource["id"], "2026-12-01T18:00:00+08:00", "2026-12-01T20:00:00+08:00"
        ),
        201,
    )
    daily = assert_problem(
        await book(
            client, me, resource["id"], "2026-12-01T20:00:00+08:00", "2026-12-01T21:00:00+08:00"
        ),
        409,
        "quota_exceeded",
    )
    assert (daily["rule"], daily["limit"], daily["current"]) == (
        "policy.max_minutes_per_day",
        120,
        120,
    )
    ok(
        await book(
            client, me, resource["id"], "2026-12-02T18:00:00+08:00", "2026-12-02T19:00:00+08:00"
        ),
        201,
    )
    weekly = assert_problem(
        await book(
            client, me, resource["id"], "2026-12-03T18:00:00+08:00", "2026-12-03T19:00:00+08:00"
        ),
        409,
        "quota_exceeded",
    )
    assert (weekly["rule"], weekly["limit"], weekly["current"]) == (
        "policy.max_active_bookings_per_week",
        2,
        2,
    )
    ok(
        await book(
            client, me, resource["id"], "2026-12-07T18:00:00+08:00", "2026-12-07T19:00:00+08:00"
        ),
        201,
    )


async def test_dry_run_writes_nothing(client, tokens: Tokens, at_eight):
    resource = await court(client, tokens)
    me = tokens.resident()
    body = {"resource_id": resource["id"], "starts_at": EVENING[0], "ends_at": EVENING[1]}
    preview = ok(await client.post("/api/v1/bookings?dry_run=true", json=body, headers=me))
    assert (preview["dry_run"], preview["would_be_status"], preview["unit"]) == (
        True,
        "confirmed",
        "Court 1",
    )
    assert (await availability(client, tokens, resource["id"], *EVENING))[0]["held"] == 0
    assert ok(await client.get("/api/v1/bookings", headers=me))["total"] == 0
    bad = {**body, "starts_at": "2026-12-01T12:00:00+08:00", "ends_at": "2026-12-01T13:00:00+08:00"}
    assert_problem(
        await client.post("/api/v1/bookings?dry_run=true", json=bad, headers=me),
        409,
        "outside_window",
    )


async def test_idempotency_key_returns_the_original_response(client, tokens: Tokens, at_eight):
    resource = await track(client, tokens)
    me = {**tokens.resident(sub=unique("retry")), "Idempotency-Key": "tap-1"}
    first = await book(client, me, resource["id"], *EVENING)
    again = await book(client, me, resource["id"], *EVENING)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    changed = await book(client, me, resource["id"], *EVENING, quantity=2)
    assert_problem(changed, 422, "idempotency_key_reused")
    mine = ok(await client.get("/api/v1/bookings", headers=me))
    assert mine["total"] == 1
    assert (await availability(client, tokens, resource["id"], *EVENING))[0]["held"] == 1


async def test_approval_workflow(client, tokens: Tokens, at_eight):
    partner = await make_partner(client, tokens)
    resource = await track(client, tokens, partner["id"], capacity=1, approval="staff")
    pending = ok(await book(client, tokens.resident(), resource["id"], *EVENING), 201)
    assert pending["status"] == "pending"
    assert_problem(await book(client, tokens.resident(), resource["id"], *EVENING), 409, "capacity")
    queue = ok(
        await client.get(f"/api/v1/approvals?resource_id={resource['id']}", headers=tokens.staff())
    )
    assert [item["id"] for item in queue["items"]] == [pending["id"]]
    assert_problem(
        await client.get("/api/v1/approvals", headers=tokens.resident()), 403, "forbidden"
    )
    url = f"/api/v1/bookings/{pending['id']}"
    assert_problem(await client.post(f"{url}/approve", headers=tokens.resident()), 404, "not_found")
    other_partner = await make_partner(client, tokens)
    assert_problem(
        await client.post(f"{url}/approve", headers=tokens.partner(other_partner["id"])),
        404,
        "not_found",
    )
    assert_problem(
        await client.post(f"{url}/approve", headers={**tokens.staff(), "If-Match": '"7"'}),
        412,
        "precondition_failed",
    )
    approved = ok(
        await client.post(
            f"{url}/approve", json={"note": "ok"}, headers=tokens.partner(partner["id"])
        )
    )
    assert (approved["status"], approved["decision_note"]) == ("confirmed", "ok")
    again = assert_problem(
        await client.post(f"{url}/reject", headers=tokens.staff()), 409, "invalid_transition"
    )
    assert again["current_status"] == "confirmed"
    history = ok(await client.get(f"{url}/history", headers=tokens.staff()))
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "pending"),
        ("pending", "confirmed"),
    ]


async def test_rejection_frees_capacity_and_partner_approval_can_be_disabled(
    client, tokens: Tokens, at_eight
):
    partner = await make_partner(client, tokens)
    resource = await track(
        client, tokens, partner["id"], capacity=1, approval="staff", partner_may_approve=False
    )
    pending = ok(await book(client, tokens.resident(), resource["id"], *EVENING), 201)
    url = f"/api/v1/bookings/{pending['id']}"
    assert_problem(
        await client.post(f"{url}/approve", headers=tokens.partner(partner["id"])), 403, "forbidden"
    )
    rejected = ok(
        await client.post(f"{url}/reject", json={"reason": "maintenance"}, headers=tokens.staff())
    )
    assert (rejected["status"], rejected["decision_note"]) == ("rejected", "maintenance")
    assert (await availability(client, tokens, resource["id"], *EVENING))[0]["held"] == 0
    ok(await book(client, tokens.resident(), resource["id"], *EVENING), 201)


async def test_proxy_booking_for_a_resident(client, tokens: Tokens, at_eight):
    partner = await make_partner(client, tokens)
    resource = await track(client, tokens, partner["id"])
    elder = {"sub": unique("elder"), "name": "李奶奶", "community": "shangnan-2"}
    made = ok(await book(client, tokens.staff(), resource["id"], *EVENING, on_behalf_of=elder), 201)
    assert (
        made["holder"] == {"sub": elder["sub"], "name": "李奶奶"}
        and made["created_by"] == "staff-test"
    )
    later = ("2026-12-01T19:00:00+08:00", "2026-12-01T20:00:00+08:00")
    by_partner = ok(
        await book(
            client, tokens.partner(partner["id"]), resource["id"], *later, on_behalf_of=elder
        ),
        201,
    )
    assert by_partner["holder"]["sub"] == elder["sub"]
    other = await make_partner(client, tokens)
    assert_problem(
        await book(
            client, tokens.partner(other["id"]), resource["id"], *EVENING, on_behalf_of=elder
        ),
        403,
        "forbidden",
    )
    assert_problem(
        await book(client, tokens.resident(), resource["id"], *EVENING, on_behalf_of=elder),
        403,
        "forbidden",
    )
    theirs = ok(await client.get("/api/v1/bookings", headers=tokens.resident(sub=elder["sub"])))
    assert {item["id"] for item in theirs["items"]} == {made["id"], by_partner["id"]}


async def test_visibility_is_404_for_other_peoples_bookings(client, tokens: Tokens, at_eight):
    partner, other = await make_partner(client, tokens), await make_partner(client, tokens)
    resource = await track(client, tokens, partner["id"])
    owner = tokens.resident(sub=unique("owner"))
    booking = ok(await book(client, owner, resource["id"], *EVENING), 201)
    url = f"/api/v1/bookings/{booking['id']}"
    for stranger in (tokens.resident(), tokens.partner(other["id"])):
        assert_problem(await client.get(url, headers=stranger), 404, "not_found")
        assert_problem(await client.get(f"{url}/history", headers=stranger), 404, "not_found")
        assert_problem(await client.post(f"{url}/cancel", headers=stranger), 404, "not_found")
        assert (
            ok(
                await client.get(f"/api/v1/bookings?resource_id={resource['id']}", headers=stranger)
            )["total"]
            == 0
        )
    for allowed in (owner, tokens.partner(partner["id"]), tokens.staff(), tokens.admin()):
        assert ok(await client.get(url, headers=allowed))["id"] == booking["id"]
    partner_list = ok(
        await client.get(
            f"/api/v1/bookings?partner_id={partner['id']}", headers=tokens.partner(partner["id"])
        )
    )
    assert [item["id"] for item in partner_list["items"]] == [booking["id"]]


async def test_cancellation_deadline_and_capacity_release(client, tokens: Tokens, clock):
    clock.set(NOW)
    resource = await track(client, tokens, capacity=1, cancel_deadline_minutes=120)
    me = tokens.resident(sub=unique("canceller"))
    booking = ok(await book(client, me, resource["id"], *EVENING), 201)
    url = f"/api/v1/bookings/{booking['id']}"
    clock.set(datetime(2026, 12, 1, 8, 30, tzinfo=UTC))  # 16:30, 90 minutes before the start
    late = assert_problem(await client.post(f"{url}/cancel", headers=me), 409, "cancel_deadline")
    assert (late["rule"], late["limit"], late["deadline"]) == (
        "policy.cancel_deadline_minutes",
        120,
        "2026-12-01T16:00:00+08:00",  # in the resource's local time, like every refusal instant
    )
    cancelled = ok(
        await client.post(f"{url}/cancel", json={"reason": "pipe burst"}, headers=tokens.staff())
    )
    assert cancelled["status"] == "cancelled"
    assert (await availability(client, tokens, resource["id"], *EVENING))[0]["held"] == 0
    assert_problem(
        await client.post(f"{url}/cancel", headers=tokens.staff()), 409, "invalid_transition"
    )
    history = ok(await client.get(f"{url}/history", headers=me))
    assert history[-1]["reason"] == "pipe burst" and history[-1]["actor"] == "staff-test"


async def test_check_in_window(client, tokens: Tokens, clock):
    clock.set(NOW)
    partner = await make_partner(client, tokens)
    resource = await track(client, tokens, partner["id"])
    me = tokens.resident(sub=unique("gate"))
    booking = ok(await book(client, me, resource["id"], *EVENING), 201)
    url = f"/api/v1/bookings/{booking['id']}/check-in"
    early = assert_problem(await client.post(url, headers=me), 409, "check_in_window")
    assert (early["rule"], early["opens_at"], early["closes_at"]) == (
        "policy.check_in_opens_minutes",
        "2026-12-01T17:30:00+08:00",
        "2026-12-01T18:15:00+08:00",
    )
    clock.set(datetime(2026, 12, 1, 9, 50, tzinfo=UTC))  # 17:50
    checked = ok(await client.post(url, headers=me))
    assert checked["status"] == "checked_in"
    assert (await availability(client, tokens, resource["id"], *EVENING))[0]["held"] == 1
    assert_problem(await client.post(url, headers=me), 409, "invalid_transition")


async def test_check_in_closes_for_the_holder_after_15_minutes_and_at_the_end_for_the_gate(
    client, tokens: Tokens, clock
):
    clock.set(NOW)
    partner = await make_partner(client, tokens)
    resource = await track(client, tokens, partner["id"])
    me = tokens.resident(sub=unique("late"))
    # Two bookings of one person for one time: allowed by this resource's policy.
    await client.patch(
        f"/api/v1/resources/{resource['id']}",
        json={"policy": {"max_bookings_per_person_per_slot": 2}},
        headers=tokens.staff(),
    )
    late, later = [
        ok(await book(client, me, resource["id"], *EVENING, quantity=1), 201)["id"]
        for _ in range(2)
    ]
    clock.set(datetime(2026, 12, 1, 10, 15, 1, tzinfo=UTC))  # 18:15:01
    refused = assert_problem(
        await client.post(f"/api/v1/bookings/{late}/check-in", headers=me), 409, "check_in_window"
    )
    assert refused["closes_at"] == "2026-12-01T18:15:00+08:00"
    gate = tokens.partner(partner["id"])
    checked = ok(await client.post(f"/api/v1/bookings/{late}/check-in", headers=gate))
    assert checked["status"] == "checked_in"
    clock.set(datetime(2026, 12, 1, 11, 0, 1, tzinfo=UTC))  # 19:00:01, after the end
    too_late = assert_problem(
        await client.post(f"/api/v1/bookings/{later}/check-in", headers=gate),
        409,
        "check_in_window",
    )
    assert too_late["closes_at"] == "2026-12-01T19:00:00+08:00"


async def test_listing_filters(client, tokens: Tokens, at_eight):
    resource = await track(client, tokens, capacity=3, approval="staff")
    me = tokens.resident(sub=unique("lister"))
    first = ok(await book(client, me, resource["id"], *EVENING), 201)
    second = ok(
        await book(
            client, me, resource["id"], "2026-12-02T18:00:00+08:00", "2026-12-02T19:00:00+08:00"
        ),
        201,
    )
    ok(await client.post(f"/api/v1/bookings/{second['id']}/approve", headers=tokens.staff()))
    pending = ok(await client.get("/api/v1/bookings?status=pending", headers=me))
    assert [item["id"] for item in pending["items"]] == [first["id"]]
    both = ok(await client.get("/api/v1/bookings?status=pending&status=confirmed", headers=me))
    assert [item["id"] for item in both["items"]] == [first["id"], second["id"]]
    tuesday = ok(await client.get("/api/v1/bookings?from=2026-12-01&to=2026-12-01", headers=me))
    assert [item["id"] for item in tuesday["items"]] == [first["id"]]
    assert_problem(
        await client.get("/api/v1/bookings?status=lost", headers=me), 422, "validation_error"
    )


async def test_closure_reports_the_bookings_it_overlaps(client, tokens: Tokens, at_eight):
    resource = await track(client, tokens)
    booking = ok(await book(client, tokens.resident(name="张"), resource["id"], *EVENING), 201)
    created = ok(
        await client.post(
            f"/api/v1/resources/{resource['id']}/closures",
            json={
                "starts_at": EVENING[0],
                "ends_at": "2026-12-01T22:00:00+08:00",
                "reason": "burst pipe",
            },
            headers=tokens.staff(),
        ),
        201,
    )
    assert [item["id"] for item in created["affected_bookings"]] == [booking["id"]]
    still = ok(await client.get(f"/api/v1/bookings/{booking['id']}", headers=tokens.staff()))
    assert still["status"] == "confirmed"


async def test_resource_with_future_bookings_cannot_be_deleted_or_regridded(
    client, tokens: Tokens, at_eight
):
    resource = await track(client, tokens)
    ok(await book(client, tokens.resident(), resource["id"], *EVENING), 201)
    url = f"/api/v1/resources/{resource['id']}"
    assert_problem(await client.delete(url, headers=tokens.staff()), 409, "resource_in_use")
    regrid = {"policy": {"granularity_minutes": 30, "min_duration_minutes": 30}}
    assert_problem(
        await client.patch(url, json=regrid, headers=tokens.staff()), 409, "resource_in_use"
    )
    assert ok(
        await client.patch(url, json={"policy": {"approval": "staff"}}, headers=tokens.staff())
    )


async def test_proxy_dry_run_does_not_create_the_resident(client, tokens: Tokens, db, at_eight):
    resource = await track(client, tokens)
    newcomer = {"sub": unique("newcomer"), "name": "赵爷爷"}
    body = {
        "resource_id": resource["id"],
        "starts_at": EVENING[0],
        "ends_at": EVENING[1],
        "on_behalf_of": newcomer,
    }
    ok(await client.post("/api/v1/bookings?dry_run=true", json=body, headers=tokens.staff()))
    async with db() as session:
        assert await session.get(User, newcomer["sub"]) is None


async def test_alternatives_respect_the_lead_time(client, tokens: Tokens, at_eight):
    resource = await track(client, tokens, capacity=1, min_lead_minutes=24 * 60)
    tomorrow = ("2026-12-02T18:00:00+08:00", "2026-12-02T19:00:00+08:00")
    ok(await book(client, tokens.resident(), resource["id"], *tomorrow), 201)
    problem = assert_problem(
        await book(client, tokens.resident(), resource["id"], *tomorrow), 409, "capacity"
    )
    earliest = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    assert problem["alternatives"]
    assert all(
        datetime.fromisoformat(option["starts_at"]) >= earliest
        for option in problem["alternatives"]
    )
