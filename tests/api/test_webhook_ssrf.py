"""Webhook registration refuses destinations inside the operator's network (SSRF), unless the
operator allows them, and caps a partner's endpoints. Runs an app without the allow-list
the shared test app has (tests/conftest.py), on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from scheduler.app import create_app
from scheduler.clock import ManualClock
from scheduler.settings import Settings
from tests.support.builders import Tokens, assert_problem, make_partner, ok

WEBHOOKS = "/api/v1/webhooks"
NOW = datetime(2026, 12, 1, tzinfo=UTC)

FORBIDDEN = [
    "http://127.0.0.1/hook",
    "http://127.0.0.1:8000/hook",
    "http://0.0.0.0/hook",
    "http://[::1]/hook",
    "http://[::]/hook",
    "http://2130706433/hook",
    "http://0x7f.1/hook",
    "http://0x7f000001/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
    "http://localhost/hook",
    "http://LOCALHOST./hook",
    "http://api.localhost/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://[::127.0.0.1]/hook",
    "http://[64:ff9b::7f00:1]/hook",
    "http://[2002:7f00:1::]/hook",
    "http://user@127.0.0.1/hook",
    "http://user:pass@127.0.0.1:9/hook",
    "http://evil.example\\@127.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/hook",
    "http://10.0.0.1/hook",
    "http://10.255.255.255/hook",
    "http://172.16.0.1/hook",
    "http://172.31.255.1/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://100.127.255.254/hook",
    "http://[fc00::1]/hook",
    "http://[fd12:3456::1]/hook",
    "http://224.0.0.1/hook",
    "http://[ff02::1]/hook",
    "http://240.0.0.1/hook",
    "http://255.255.255.255/hook",
    "http://192.0.2.1/hook",
    "http://198.18.0.1/hook",
    "http://[2001:db8::1]/hook",
    "http://intranet/hook",
    "https://metadata/computeMetadata/v1/",
]

ALLOWED = [
    "https://hooks.example.org/scheduler",
    "https://8.8.8.8/hook",
    "http://[2606:4700:4700::1111]:8443/hook",
    "https://user@board.shangnan.example/hook",
]


@pytest.fixture(scope="module")
async def strict(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The service as shipped: no internal receiver allowed."""
    app = create_app(settings.with_overrides(webhook_allow=()), clock=ManualClock(NOW))
    async with AsyncTestClient(app=app) as client:
        yield client


async def register(client, headers: dict[str, str], url: str) -> httpx.Response:
    response: httpx.Response = await client.post(
        WEBHOOKS, json={"url": url, "events": ["*"]}, headers=headers
    )
    return response


@pytest.mark.parametrize("url", FORBIDDEN)
async def test_non_public_destinations_are_refused_and_nothing_is_stored(
    strict, tokens: Tokens, url: str
) -> None:
    partner = (await make_partner(strict, tokens))["id"]
    headers = tokens.partner(partner)
    problem = assert_problem(
        await register(strict, headers, url), 422, "webhook_destination_forbidden"
    )
    assert problem["errors"][0]["field"] == "url", problem
    listed = ok(await strict.get(WEBHOOKS, headers=headers))
    assert listed["total"] == 0


@pytest.mark.parametrize("url", FORBIDDEN[:3])
async def test_staff_are_refused_too(strict, tokens: Tokens, url: str) -> None:
    refused = await register(strict, tokens.staff(), url)
    assert_problem(refused, 422, "webhook_destination_forbidden")


@pytest.mark.parametrize("url", ALLOWED)
async def test_public_destinations_are_accepted(strict, tokens: Tokens, url: str) -> None:
    partner = (await make_partner(strict, tokens))["id"]
    created = ok(await register(strict, tokens.partner(partner), url), 201)
    assert created["url"] == url and created["active"] is True


async def test_the_allow_list_admits_deliberately_internal_receivers(settings, tokens):
    allowing = settings.with_overrides(webhook_allow=("10.1.2.0/24", "receiver.internal"))
    app = create_app(allowing, clock=ManualClock(NOW))
    async with AsyncTestClient(app=app) as client:
        headers = tokens.partner((await make_partner(client, tokens))["id"])
        for url in ("http://10.1.2.3:8080/hook", "http://Receiver.Internal./hook"):
            ok(await register(client, headers, url), 201)
        for url in ("http://10.1.3.1/hook", "http://127.0.0.1/hook", "http://other/hook"):
            assert_problem(
                await register(client, headers, url), 422, "webhook_destination_forbidden"
            )


async def test_a_partner_may_have_a_limited_number_of_endpoints(settings, tokens):
    app = create_app(settings.with_overrides(webhook_max_endpoints=2), clock=ManualClock(NOW))
    async with AsyncTestClient(app=app) as client:
        partner = (await make_partner(client, tokens))["id"]
        headers = tokens.partner(partner)
        first, _ = [ok(await register(client, headers, ALLOWED[0]), 201) for _ in range(2)]
        problem = assert_problem(
            await register(client, headers, ALLOWED[0]), 422, "webhook_limit_reached"
        )
        assert problem["limit"] == 2
        colleague = tokens.partner(partner, sub="another-manager")
        assert_problem(await register(client, colleague, ALLOWED[0]), 422, "webhook_limit_reached")
        other = tokens.partner((await make_partner(client, tokens))["id"])
        ok(await register(client, other, ALLOWED[0]), 201)
        deleted = await client.delete(f"{WEBHOOKS}/{first['id']}", headers=headers)
        assert deleted.status_code == 204
        ok(await register(client, headers, ALLOWED[0]), 201)
        listed = ok(await client.get(WEBHOOKS, headers=headers))
        assert listed["total"] == 2
