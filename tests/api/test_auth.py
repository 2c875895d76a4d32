"""Authentication: missing, malformed, forged, expired tokens are 401; wrong role is 403."""

from __future__ import annotations

import time

import jwt
import pytest
from sqlalchemy import select

from scheduler.db.catalogue import User
from scheduler.settings import Settings
from tests.support.builders import Tokens, assert_problem, ok, unique


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed(settings: Settings, **claims: object) -> str:
    now = int(time.time())
    return jwt.encode(
        {"iat": now, "exp": now + 60, **claims}, settings.jwt_secret, algorithm="HS256"
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-jwt"},
    ],
)
async def test_missing_or_malformed_token_is_401(client, headers):
    response = await client.get("/api/v1/resources", headers=headers)
    body = assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Traceback" not in body["detail"]


async def test_forged_expired_and_premature_tokens_are_401(client, settings):
    forged = jwt.encode(
        {"sub": "x", "role": "admin", "exp": int(time.time()) + 60}, "another-secret-" * 4
    )
    expired = signed(settings, sub="x", role="resident", exp=int(time.time()) - 3600)
    premature = signed(settings, sub="x", role="resident", nbf=int(time.time()) + 3600)
    for token, needle in ((forged, "invalid"), (expired, "expired"), (premature, "not valid yet")):
        body = assert_problem(
            await client.get("/api/v1/resources", headers=bearer(token)), 401, "unauthenticated"
        )
        assert needle in body["detail"]


async def test_claims_are_checked(client, settings):
    no_role = signed(settings, sub="x")
    bad_role = signed(settings, sub="x", role="superuser")
    partner_without_partner = signed(settings, sub="x", role="partner")
    no_expiry = jwt.encode({"sub": "x", "role": "resident"}, settings.jwt_secret, algorithm="HS256")
    for token in (no_role, bad_role, partner_without_partner, no_expiry):
        assert_problem(
            await client.get("/api/v1/resources", headers=bearer(token)), 401, "unauthenticated"
        )


async def test_none_algorithm_is_refused(client):
    unsigned = jwt.encode(
        {"sub": "x", "role": "admin", "exp": int(time.time()) + 60}, None, algorithm="none"
    )
    assert_problem(
        await client.get("/api/v1/resources", headers=bearer(unsigned)), 401, "unauthenticated"
    )


async def test_public_routes_need_no_token(client):
    health = ok(await client.get("/health"))
    assert (health["status"], health["jobs"]) == ("ok", "disabled")
    ready = ok(await client.get("/ready"))
    assert (ready["status"], ready["database"]) == ("ok", "ok")
    assert ready["migration"] == ready["expected_migration"] is not None
    assert len(ok(await client.get("/api/v1/zones"))) == 5
    schema = ok(await client.get("/schema/openapi.json"))
    assert "/api/v1/bookings" in schema["paths"]


@pytest.mark.parametrize("role", ["resident", "partner"])
async def test_wrong_role_is_403_and_writes_nothing(client, tokens: Tokens, role):
    headers = (
        tokens.headers(role, partner="some-partner") if role == "partner" else tokens.resident()
    )
    partner_id = unique("refused")
    response = await client.post(
        "/api/v1/partners", json={"id": partner_id, "name": "X", "zone": "camp"}, headers=headers
    )
    assert_problem(response, 403, "forbidden")
    assert_problem(
        await client.get(f"/api/v1/partners/{partner_id}", headers=tokens.staff()),
        404,
        "not_found",
    )


async def test_user_is_provisioned_on_first_sight_with_chinese_name(client, tokens: Tokens, db):
    from scheduler.users.repositories import UserRepository

    sub = "resident-provision-test"
    headers = tokens.resident(sub=sub, name="王阿姨", community="shangnan-1")
    ok(await client.get("/api/v1/resources", headers=headers))
    ok(await client.get("/api/v1/resources", headers=headers))
    async with db() as session:
        user = await UserRepository(session).get(sub)
    assert user is not None
    assert (user.name, user.role, user.community) == ("王阿姨", "resident", "shangnan-1")


async def test_concurrent_first_requests_provision_one_user(client, tokens: Tokens, db):
    import asyncio

    sub = unique("resident-racing-first-sight")
    headers = tokens.resident(sub=sub, name="李奶奶", community="shangnan-2")
    responses = await asyncio.gather(
        *(client.get("/api/v1/zones", headers=headers) for _ in range(2))
    )
    responses += await asyncio.gather(
        *(client.get("/api/v1/resources", headers=headers) for _ in range(5))
    )
    assert [response.status_code for response in responses] == [200] * 7
    async with db() as session:
        users = list(await session.scalars(select(User).where(User.id == sub)))
    assert [(u.name, u.role, u.community) for u in users] == [("李奶奶", "resident", "shangnan-2")]


@pytest.mark.parametrize("role", ["staff", "admin"])
async def test_staff_and_admin_may_create_partners(client, tokens: Tokens, role):
    partner_id = unique("ptn")
    body = {"id": partner_id, "name": "三林体育中心 Sanlin Sports Centre", "zone": "expo_park"}
    response = await client.post("/api/v1/partners", json=body, headers=tokens.headers(role))
    created = ok(response, 201)
    assert (created["id"], created["name"], created["zone"]) == (
        partner_id,
        body["name"],
        "expo_park",
    )
    read = ok(await client.get(f"/api/v1/partners/{partner_id}", headers=tokens.staff()))
    assert read == created
