"""Rate limits (shared through Redis across replicas), security headers, CORS, JWT checks."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import replace

import jwt
import pytest
import redis
from litestar.testing import AsyncTestClient

from scheduler.app import create_app
from scheduler.settings import Settings
from tests.support.builders import Tokens, assert_problem, ok

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


async def test_per_token_limit_gives_429_with_retry_after(settings: Settings, tokens: Tokens):
    limited = replace(settings, rate_limit="5/minute", rate_limit_anonymous="3/minute")
    async with AsyncTestClient(app=create_app(limited)) as client:
        me = tokens.resident()
        for _ in range(5):
            ok(await client.get("/api/v1/zones", headers=me))
        refused = await client.get("/api/v1/zones", headers=me)
        problem = assert_problem(refused, 429, "rate_limited")
        assert 1 <= int(refused.headers["retry-after"]) <= 61 and problem["retry_after"]
        ok(await client.get("/api/v1/zones", headers=tokens.resident()))
        for _ in range(3):
            ok(await client.get("/api/v1/zones"))
        assert_problem(await client.get("/api/v1/zones"), 429, "rate_limited")
        assert (await client.get("/health")).status_code == 200


@pytest.mark.skipif(not redis_available(), reason="Redis is not running on 127.0.0.1:6379")
async def test_limits_hold_across_replicas_through_redis(settings: Settings, tokens: Tokens):
    limited = replace(settings, rate_limit="6/minute", redis_url=REDIS_URL)
    me = tokens.resident(sub="replica-" + secrets.token_hex(4))
    if time.time() % 60 > 55:
        await asyncio.sleep(6)  # stay inside one window
    async with (
        AsyncTestClient(app=create_app(limited)) as one,
        AsyncTestClient(app=create_app(limited)) as two,
    ):
        statuses = [
            (await (one if n % 2 else two).get("/api/v1/zones", headers=me)).status_code
            for n in range(8)
        ]
    assert statuses == [200] * 6 + [429] * 2


async def test_security_headers_and_no_stack_traces(client, tokens: Tokens):
    response = await client.get("/api/v1/zones")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    problem = await client.get("/api/v1/resources/%00%ff", headers=tokens.resident())
    assert problem.status_code in (404, 422) and "Traceback" not in problem.text


async def test_cors_is_off_unless_configured(settings: Settings, client):
    preflight = {"Origin": "https://app.example.cn", "Access-Control-Request-Method": "POST"}
    assert (
        "access-control-allow-origin"
        not in (await client.options("/api/v1/zones", headers=preflight)).headers
    )
    configured = replace(settings, cors_origins=("https://app.example.cn",))
    async with AsyncTestClient(app=create_app(configured)) as other:
        response = await other.options(
            "/api/v1/bookings",
            headers={**preflight, "Access-Control-Request-Headers": "idempotency-key"},
        )
        assert response.headers["access-control-allow-origin"] == "https://app.example.cn"


async def test_audience_and_issuer_are_checked_when_configured(settings: Settings):
    strict = replace(settings, jwt_audience="zhoujiadu-api", jwt_issuer="https://id.example.cn")
    now = int(time.time())
    base = {"sub": "x", "role": "resident", "iat": now, "exp": now + 60}

    def bearer(**claims: object) -> dict[str, str]:
        return {
            "Authorization": "Bearer "
            + jwt.encode({**base, **claims}, settings.jwt_secret, algorithm="HS256")
        }

    async with AsyncTestClient(app=create_app(strict)) as client:
        ok(
            await client.get(
                "/api/v1/zones", headers=bearer(aud="zhoujiadu-api", iss="https://id.example.cn")
            )
        )
        for wrong in (
            {"aud": "other", "iss": "https://id.example.cn"},
            {"aud": "zhoujiadu-api", "iss": "evil"},
            {},
        ):
            assert_problem(
                await client.get("/api/v1/resources", headers=bearer(**wrong)),
                401,
                "unauthenticated",
            )
        within_leeway = bearer(aud="zhoujiadu-api", iss="https://id.example.cn", exp=now - 5)
        ok(await client.get("/api/v1/resources", headers=within_leeway))


async def test_feed_tokens_never_reach_the_logs(client, tokens: Tokens, caplog):
    import logging

    caplog.set_level(logging.INFO)
    issued = ok(await client.post("/api/v1/feeds", headers=tokens.resident()), 201)
    assert (await client.get(f"/api/v1/feeds/{issued['token']}.ics")).status_code == 200
    ours = "\n".join(str(r.msg) for r in caplog.records if r.name.startswith("scheduler"))
    assert issued["token"] not in ours  # (the test's own HTTP client logs its URLs; that is not us)
    assert "/api/v1/feeds/***" in ours
