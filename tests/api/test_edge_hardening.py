"""Rate limits at the edge: the client address behind trusted proxies only, feed fetches per
feed token; the settings that configure them."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from litestar.testing import AsyncTestClient

from scheduler.app import create_app
from scheduler.proxies import client_address
from scheduler.settings import Settings, SettingsError, load_settings
from tests.conftest import TEST_SECRET
from tests.support.builders import Tokens, assert_problem, ok

TRUSTED = ("127.0.0.1/32", "10.0.0.0/8", "fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("127.0.0.1", [], "127.0.0.1"),
        # an untrusted peer's header is ignored, whatever it says
        ("203.0.113.5", ["198.51.100.1"], "203.0.113.5"),
        ("::1", ["198.51.100.1"], "::1"),
        # a trusted peer: the nearest untrusted hop, never what the client wrote to its left
        ("127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        ("127.0.0.1", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),
        ("127.0.0.1", ["6.6.6.6, 198.51.100.1, 10.2.3.4"], "198.51.100.1"),
        ("127.0.0.1", ["6.6.6.6", "198.51.100.1, 10.2.3.4"], "198.51.100.1"),
        ("10.9.9.9", ["2001:db8::7, fd00::1"], "2001:db8::7"),
        ("::ffff:127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        # only trusted hops: the farthest one is the best we know
        ("127.0.0.1", ["10.0.0.1, 10.0.0.2"], "10.0.0.1"),
        # garbage stops the walk at the last address we could trust
        ("127.0.0.1", ["198.51.100.1, not-an-address, 10.2.3.4"], "10.2.3.4"),
        ("127.0.0.1", [" , "], "127.0.0.1"),
        ("testclient", ["198.51.100.1"], "testclient"),
        ("", [], "unknown"),
    ],
)
def test_client_address(peer: str, forwarded: list[str], client: str):
    assert client_address(peer, forwarded, TRUSTED) == client


def test_nothing_is_trusted_unless_configured():
    assert client_address("127.0.0.1", ["198.51.100.1"], ()) == "127.0.0.1"


def test_trusted_proxies_setting_is_validated():
    env = {"SCHEDULER_JWT_SECRET": TEST_SECRET}
    loaded = load_settings({**env, "SCHEDULER_TRUSTED_PROXIES": " 10.0.0.1, 172.16.0.0/12 ,::1"})
    assert loaded.trusted_proxies == ("10.0.0.1/32", "172.16.0.0/12", "::1/128")
    assert load_settings(env).trusted_proxies == ()
    with pytest.raises(SettingsError, match="SCHEDULER_TRUSTED_PROXIES"):
        load_settings({**env, "SCHEDULER_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"})
    for name in ("HEADER_TIMEOUT_SECONDS", "BODY_TIMEOUT_SECONDS", "MAX_CONCURRENCY"):
        with pytest.raises(SettingsError, match=name):
            load_settings({**env, f"SCHEDULER_{name}": "0"})


async def test_feed_fetches_are_limited_per_feed_token(settings: Settings, tokens: Tokens):
    """Before: feed fetches counted against the caller's address, so a calendar service
    fetching many people's feeds from one address was refused after the anonymous budget."""
    limited = replace(settings, rate_limit="1000/hour", rate_limit_anonymous="3/hour")
    if time.time() % 3600 > 3590:
        await asyncio.sleep(11)
    async with AsyncTestClient(app=create_app(limited)) as client:
        one = ok(await client.post("/api/v1/feeds", headers=tokens.resident()), 201)["token"]
        two = ok(await client.post("/api/v1/feeds", headers=tokens.resident()), 201)["token"]
        for _ in range(3):
            assert (await client.get(f"/api/v1/feeds/{one}.ics")).status_code == 200
        assert_problem(await client.get(f"/api/v1/feeds/{one}.ics"), 429, "rate_limited")
        assert_problem(await client.get(f"/api/v1/feeds/{one}"), 429, "rate_limited")
        # the same address, another feed: its own budget
        for _ in range(3):
            assert (await client.get(f"/api/v1/feeds/{two}.ics")).status_code == 200


async def test_guessed_feed_tokens_count_against_the_address(settings: Settings):
    """Each guess is a fresh token, so guesses are charged to the address as well."""
    limited = replace(settings, rate_limit="1000/hour", rate_limit_anonymous="3/hour")
    if time.time() % 3600 > 3590:
        await asyncio.sleep(11)
    async with AsyncTestClient(app=create_app(limited)) as client:
        answers = [
            (await client.get(f"/api/v1/feeds/guess{n:012d}abcdefghij.ics")).status_code
            for n in range(5)
        ]
        # each guess has a bucket of its own, but its 404 also costs the address one request
        assert answers == [404] * 3 + [429] * 2
