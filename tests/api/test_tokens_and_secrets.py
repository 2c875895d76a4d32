"""Tokens and secrets: feed tokens stored as hashes, with an optional expiry, revocable by
staff; JWT time claims are numbers, an optional maximum age, aud/iss required in production;
a token naming a partner that does not exist is refused; a failed provisioning gives its
database connection back."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from datetime import timedelta

import jwt
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from scheduler.app import create_app
from scheduler.auth.tokens import VerifiedTokens, mint_token
from scheduler.db.bookings import FeedToken
from scheduler.db.catalogue import User
from scheduler.errors import Unauthenticated
from scheduler.settings import Settings, SettingsError, load_settings
from tests.conftest import TEST_SECRET
from tests.support.builders import Tokens, assert_problem, make_partner, ok, unique


def signed(settings: Settings, **claims: object) -> dict[str, str]:
    now = int(time.time())
    body = {"sub": unique("jwt"), "role": "resident", "iat": now, "exp": now + 600, **claims}
    token = jwt.encode(body, settings.jwt_secret, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


async def test_feed_tokens_are_stored_as_sha256_only(client, tokens: Tokens, db):
    me = unique("feed")
    issued = ok(await client.post("/api/v1/feeds", headers=tokens.resident(sub=me)), 201)
    assert issued["expires_at"] is None
    async with db() as session:
        rows = (await session.scalars(select(FeedToken).where(FeedToken.user_id == me))).all()
    digest = hashlib.sha256(issued["token"].encode()).hexdigest()
    assert [row.token_hash for row in rows] == [digest]
    assert issued["token"] not in {row.token_hash for row in rows}
    assert (await client.get(f"/api/v1/feeds/{issued['token']}.ics")).status_code == 200
    # the stored value is no credential: using it as a feed URL finds nothing
    assert_problem(await client.get(f"/api/v1/feeds/{rows[0].token_hash}.ics"), 404, "not_found")


async def test_a_feed_token_can_expire(client, tokens: Tokens, clock):
    me = tokens.resident()
    issued = ok(await client.post("/api/v1/feeds", json={"expires_in_days": 7}, headers=me), 201)
    assert issued["expires_at"].startswith((clock.now() + timedelta(days=7)).date().isoformat())
    assert (await client.get(f"/api/v1/feeds/{issued['token']}.ics")).status_code == 200
    clock.advance(timedelta(days=7, seconds=1))
    assert_problem(await client.get(f"/api/v1/feeds/{issued['token']}.ics"), 404, "not_found")


@pytest.mark.parametrize(
    "body", [{"expires_in_days": 0}, {"expires_in_days": 100_000}, {"expires_in": 3}]
)
async def test_bad_feed_expiry_is_422(client, tokens: Tokens, body):
    assert_problem(
        await client.post("/api/v1/feeds", json=body, headers=tokens.resident()),
        422,
        "validation_error",
    )


async def test_staff_revoke_every_feed_of_a_resident(client, tokens: Tokens):
    resident, neighbour = unique("resident"), unique("resident")
    mine = [
        ok(await client.post("/api/v1/feeds", headers=tokens.resident(sub=resident)), 201)
        for _ in range(2)
    ]
    theirs = ok(await client.post("/api/v1/feeds", headers=tokens.resident(sub=neighbour)), 201)
    path = f"/api/v1/users/{resident}/feeds"
    for not_staff in (tokens.resident(sub=resident), tokens.partner("any")):
        assert_problem(await client.delete(path, headers=not_staff), 403, "forbidden")
    assert ok(await client.delete(path, headers=tokens.staff())) == {"revoked": 2}
    for feed in mine:
        assert_problem(await client.get(f"/api/v1/feeds/{feed['token']}.ics"), 404, "not_found")
    assert (await client.get(f"/api/v1/feeds/{theirs['token']}.ics")).status_code == 200
    assert ok(await client.delete(path, headers=tokens.staff())) == {"revoked": 0}


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": str(int(time.time()) + 600)},
        {"exp": int(time.time()) + 600, "nbf": str(int(time.time()))},
        {"exp": int(time.time()) + 600, "iat": str(int(time.time()))},
        {"exp": True},
        {"exp": [int(time.time()) + 600]},
    ],
)
async def test_time_claims_must_be_numbers(client, settings: Settings, claims):
    """Before: PyJWT read ``"exp": "1999999999"`` with int() and the token was accepted."""
    response = await client.get("/api/v1/bookings", headers=signed(settings, **claims))
    assert_problem(response, 401, "unauthenticated")


async def test_maximum_token_age_requires_a_recent_iat(settings: Settings):
    aged = replace(settings, jwt_max_age_seconds=3600, jwt_leeway_seconds=30)
    now = int(time.time())
    async with AsyncTestClient(app=create_app(aged)) as client:
        ok(await client.get("/api/v1/bookings", headers=signed(aged, iat=now - 3000)))
        too_old = signed(aged, iat=now - 3700, exp=now + 86400)
        refused = await client.get("/api/v1/bookings", headers=too_old)
        assert_problem(refused, 401, "unauthenticated")
        missing = {"sub": "x", "role": "resident", "exp": now + 60}
        token = jwt.encode(missing, aged.jwt_secret, algorithm="HS256")
        problem = assert_problem(
            await client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {token}"}),
            401,
            "unauthenticated",
        )
        assert "iat" in problem["detail"]


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_verified_token_is_served_from_the_cache_only_until_it_expires(settings: Settings):
    clock = Clock()
    strict = replace(settings, jwt_leeway_seconds=5)
    verified = VerifiedTokens(strict, clock=clock)
    token = mint_token(strict, sub=unique("cached"), role="resident", ttl_seconds=60)
    first = verified.principal(token)
    clock.now += 64
    assert verified.principal(token) is first  # one verification, then the cache
    clock.now += 1  # exp + leeway: what verification would refuse, the cache refuses too
    with pytest.raises(Unauthenticated, match="expired"):
        verified.principal(token)
    with pytest.raises(Unauthenticated, match="invalid"):
        verified.principal(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


def test_the_cache_of_verified_tokens_keeps_the_maximum_token_age(settings: Settings):
    clock = Clock()
    aged = replace(settings, jwt_max_age_seconds=600, jwt_leeway_seconds=0)
    verified = VerifiedTokens(aged, size=2, clock=clock)
    token = mint_token(aged, sub=unique("aged"), role="resident", ttl_seconds=86400)
    verified.principal(token)
    clock.now += 601
    with pytest.raises(Unauthenticated, match="issued more than 600 seconds ago"):
        verified.principal(token)
    others = [mint_token(aged, sub=unique("other"), role="resident") for _ in range(3)]
    clock.now -= 601
    assert [verified.principal(other).role for other in others] == ["resident"] * 3
    assert len(verified) == 2  # bounded: the oldest went first


def test_production_requires_audience_and_issuer():
    env = {"SCHEDULER_JWT_SECRET": TEST_SECRET, "SCHEDULER_ENV": "production"}
    with pytest.raises(SettingsError, match="SCHEDULER_JWT_AUDIENCE and SCHEDULER_JWT_ISSUER"):
        load_settings(env)
    with pytest.raises(SettingsError, match="SCHEDULER_JWT_ISSUER"):
        load_settings({**env, "SCHEDULER_JWT_AUDIENCE": "zhoujiadu-api"})
    full = {**env, "SCHEDULER_JWT_AUDIENCE": "zhoujiadu-api", "SCHEDULER_JWT_ISSUER": "https://id"}
    assert load_settings(full).env == "production"
    with pytest.raises(SettingsError, match="demo"):
        load_settings({**full, "SCHEDULER_JWT_SECRET": ""}, demo=True)
    assert load_settings({"SCHEDULER_ENV": "production"}, needs_secret=False).env == "production"
    with pytest.raises(SettingsError, match="SCHEDULER_ENV"):
        load_settings({**env, "SCHEDULER_ENV": "prod"})
    with pytest.raises(SettingsError, match="SCHEDULER_JWT_MAX_AGE_SECONDS"):
        load_settings({"SCHEDULER_JWT_SECRET": TEST_SECRET, "SCHEDULER_JWT_MAX_AGE_SECONDS": "-1"})


async def test_a_token_naming_an_unknown_partner_is_refused(client, tokens: Tokens, db):
    """Before: the token was provisioned as the manager of a partner nobody registered."""
    sub = unique("ghost-manager")
    ghost = tokens.partner(unique("no-such-partner"), sub=sub)
    for path in ("/api/v1/bookings", "/api/v1/webhooks", "/api/v1/resources"):
        problem = assert_problem(await client.get(path, headers=ghost), 403, "forbidden")
        assert "does not exist" in problem["detail"]
    async with db() as session:
        assert await session.get(User, sub) is None
    real = await make_partner(client, tokens)
    ok(await client.get("/api/v1/bookings", headers=tokens.partner(real["id"])))


async def test_failed_provisioning_returns_the_connection(settings: Settings, tokens: Tokens):
    """Before: Litestar never finished the session dependency when the caller's provisioning
    raised, so each failure kept a connection checked out (on SQLite with the write lock):
    after pool-size failures every request waited for the pool timeout and got 503."""
    small = replace(settings, db_pool_size=2, db_pool_timeout_seconds=2)
    app = create_app(small)
    pool = app.state.engine.pool
    # a sub the database cannot store (a lone surrogate), then partners that do not exist
    failing = [signed(small, sub="lone-surrogate-\ud800")]
    failing += [tokens.partner(unique("no-such-partner")) for _ in range(5)]
    async with AsyncTestClient(app=app, timeout=10) as client:
        for headers in failing * 2:
            started = time.monotonic()
            response = await client.get("/api/v1/bookings", headers=headers)
            assert response.status_code not in (200, 503), response.text
            assert time.monotonic() - started < 1.5, "waited for a free connection"
            assert pool.checkedout() == 0
        ok(await client.get("/api/v1/bookings", headers=tokens.resident()))
