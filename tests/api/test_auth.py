"""Authentication: missing, malformed, forged, expired tokens are 401; wrong role is 403."""

from __future__ import annotations

import time

import jwt
import pytest

from scheduler.settings import Settings
from tests.support.builders import Tokens, assert_problem, make_partner, ok


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
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/ready")).status_code == 200
    assert len(ok(await client.get("/api/v1/zones"))) == 5
    assert (await client.get("/schema/openapi.json")).status_code == 200


@pytest.mark.parametrize("role", ["resident", "partner"])
async def test_wrong_role_is_403(client, tokens: Tokens, role):
    headers = (
        tokens.headers(role, partner="some-partner") if role == "partner" else tokens.resident()
    )
    response = await client.post(
        "/api/v1/partners", json={"name": "X", "zone": "camp"}, headers=headers
    )
    assert_problem(response, 403, "forbidden")


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


async def test_concurrent_first_requests_provision_one_user(client, tokens: Tokens):
    import asyncio

    headers = tokens.resident(sub="resident-racing-first-sight")
    responses = await asyncio.gather(
        *(client.get("/api/v1/zones", headers=headers) for _ in range(2))
    )
    responses += await asyncio.gather(
        *(client.get("/api/v1/resources", headers=headers) for _ in range(5))
    )
    assert all(response.status_code == 200 for response in responses)


async def test_staff_and_admin_may_create_partners(client, tokens: Tokens):
    for headers in (tokens.staff(), tokens.admin()):
        await make_partner(client, tokens)
        ok(await client.get("/api/v1/partners", headers=headers))
