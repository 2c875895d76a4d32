"""Penalties that reach beyond a partner's own resources are set by staff only (issue 11)."""

from __future__ import annotations

from tests.support.builders import Tokens, assert_problem, make_partner, make_resource, ok

EVERYWHERE = {"no_show": {"limit": 3, "window_days": 30, "suspend_days": 14, "scope": "everywhere"}}


async def test_a_partner_cannot_suspend_everywhere_but_staff_can(client, tokens: Tokens):
    partner = await make_partner(client, tokens)
    resource = await make_resource(client, tokens, partner["id"])
    url = f"/api/v1/resources/{resource['id']}"
    desk = tokens.partner(partner["id"])
    refused = await client.patch(url, json={"policy": EVERYWHERE}, headers=desk)
    assert_problem(refused, 403, "forbidden")
    assert ok(await client.get(url, headers=desk))["policy"]["no_show"]["scope"] == "resource"
    own_unit = {"no_show": {**EVERYWHERE["no_show"], "scope": "partner"}}
    assert ok(await client.patch(url, json={"policy": own_unit}, headers=desk))
    created = await client.post(
        "/api/v1/resources",
        json={
            "partner_id": partner["id"],
            "name": "Canteen",
            "kind": "canteen",
            "capacity": 40,
            "policy": EVERYWHERE,
        },
        headers=desk,
    )
    assert_problem(created, 403, "forbidden")
    by_staff = ok(await client.patch(url, json={"policy": EVERYWHERE}, headers=tokens.staff()))
    assert by_staff["policy"]["no_show"]["scope"] == "everywhere"


async def test_penalty_bounds_are_validated(client, tokens: Tokens):
    resource = await make_resource(client, tokens)
    url = f"/api/v1/resources/{resource['id']}"
    for bad in (
        {"no_show": {"limit": 1}},
        {"no_show": {"suspend_days": 366}},
        {"cancel_deadline_minutes": 527040},
    ):
        problem = assert_problem(
            await client.patch(url, json={"policy": bad}, headers=tokens.staff()),
            422,
            "validation_error",
        )
        assert problem["errors"], problem
