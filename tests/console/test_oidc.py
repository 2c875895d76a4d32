"""Signing in to the console with an OpenID Connect provider (authorization code + PKCE),
against a real minimal provider on a local port (tests/console/identity_provider.py).

The console must send an S256 challenge and prove the verifier at the token endpoint (the
provider refuses otherwise), accept only the state it issued and only once, refuse an ID token
with another nonce, audience or issuer or signed by a key the provider does not publish, map
claims to roles as the API does (role and partner claims named by settings), and start the
signed-in session under a new session key (a key planted before sign-in is worthless)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey
from litestar import Litestar
from litestar.testing import AsyncTestClient

from scheduler.app import create_app
from scheduler.clock import ManualClock
from scheduler.console.oidc import callback_url, signed_out_url
from scheduler.db.console import ConsoleSession
from scheduler.settings import Settings
from tests.console.identity_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    IdentityProvider,
    running_provider,
    s256,
)
from tests.console.support import csrf_of

STAFF = {"sub": "oidc-staff-1", "scheduler_role": "staff", "name": "张 Zhang (OIDC)"}


@pytest.fixture(scope="module")
def idp(settings: Settings) -> Iterator[IdentityProvider]:
    with running_provider(callback_url(settings), signed_out_url(settings)) as provider:
        yield provider


@pytest.fixture(scope="module")
def oidc_app(settings: Settings, session_clock: ManualClock, idp: IdentityProvider) -> Litestar:
    return create_app(
        settings.with_overrides(
            oidc_issuer=idp.issuer,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
            oidc_scopes="openid profile",
            oidc_role_claim="scheduler_role",
            oidc_partner_claim="org",
        ),
        clock=session_clock,
    )


@pytest.fixture
async def browser(oidc_app: Litestar, idp: IdentityProvider) -> AsyncIterator[Any]:
    idp.user, idp.id_token_changes, idp.sign_with = dict(STAFF), {}, None
    idp.offers_logout = True
    async with AsyncTestClient(app=oidc_app) as test_client:
        yield test_client


async def _to_provider(browser: Any, next_path: str = "/console/approvals") -> str:
    """Start signing in; the console's redirect to the provider's authorization endpoint."""
    start = await browser.get(f"/console/oidc/start?next={next_path}", follow_redirects=False)
    assert start.status_code == 302, start.text
    return str(start.headers["location"])


async def _provider_answer(location: str) -> str:
    """What the user's browser does at the provider: it redirects back with code and state."""
    async with httpx.AsyncClient() as outside:
        answer = await outside.get(location, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    return f"{back.path}?{back.query}"


async def _sign_in(browser: Any, next_path: str = "/console/approvals") -> httpx.Response:
    callback = await _provider_answer(await _to_provider(browser, next_path))
    return await browser.get(callback, follow_redirects=False)  # type: ignore[no-any-return]


async def _as_another_browser(
    browser: Any, path: str, session_key: str | None = None
) -> httpx.Response:
    """``GET path`` from another browser (its own cookies, or only ``session_key``), leaving
    this browser's cookies as they were."""
    kept = list(browser.cookies.jar)
    browser.cookies.clear()
    if session_key:
        browser.cookies.set("console_session", session_key, "testserver.local", "/console")
    try:
        return await browser.get(path, follow_redirects=False)  # type: ignore[no-any-return]
    finally:
        browser.cookies.clear()
        for cookie in kept:
            browser.cookies.jar.set_cookie(cookie)


async def test_authorization_code_flow_with_pkce_signs_staff_in(
    browser: Any, idp: IdentityProvider, settings: Settings
) -> None:
    location = await _to_provider(browser)
    assert location.startswith(f"{idp.issuer}/authorize?")
    query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == f"{settings.public_url}/console/oidc/callback"
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert "code_verifier" not in location  # the verifier stays on the server

    response = await browser.get(await _provider_answer(location), follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/approvals"
    # The token request proved the verifier behind the challenge, with the client secret.
    sent = idp.token_requests[-1]
    assert s256(sent["code_verifier"]) == query["code_challenge"]
    page = await browser.get("/console/approvals")
    assert page.status_code == 200 and "张 Zhang (OIDC)" in page.text
    assert (await browser.get("/console/calendar")).status_code == 200  # staff only


async def test_sign_in_rotates_the_session_key(browser: Any, db: Any) -> None:
    """A key planted in the browser before sign-in (session fixation) is not signed in."""
    planted = "a" * 64
    browser.cookies.set("console_session", planted, domain="testserver.local", path="/console")
    callback = await _provider_answer(await _to_provider(browser))
    assert browser.cookies.get("console_session") == planted  # the pending sign-in's session
    response = await browser.get(callback, follow_redirects=False)
    assert response.status_code == 303
    signed_in = browser.cookies.get("console_session")
    assert signed_in and signed_in != planted
    async with db() as session:
        assert await session.get(ConsoleSession, planted) is None
        assert await session.get(ConsoleSession, signed_in) is not None
    # the attacker, who planted the key, presents it: not signed in
    attacker = await _as_another_browser(browser, "/console/", planted)
    assert attacker.status_code == 302


async def test_state_must_be_the_one_issued_and_is_used_once(
    browser: Any, idp: IdentityProvider
) -> None:
    callback = await _provider_answer(await _to_provider(browser))
    forged = callback.replace("state=", "state=x")
    refused = await browser.get(forged, follow_redirects=False)
    assert refused.status_code == 401 and "text/html" in refused.headers["content-type"]
    # the pending sign-in was consumed by the forged answer: the real one fails too
    assert (await browser.get(callback, follow_redirects=False)).status_code == 401
    assert (await browser.get("/console/", follow_redirects=False)).status_code == 302
    # an answer with no sign-in under way in this browser (another browser's callback)
    other = await _provider_answer(await _to_provider(browser))
    assert (await _as_another_browser(browser, other)).status_code == 401
    # a completed sign-in cannot be replayed
    assert (await browser.get(other, follow_redirects=False)).status_code == 303
    assert (await browser.get(other, follow_redirects=False)).status_code == 401


@pytest.mark.parametrize(
    "changes",
    [
        {"nonce": "another-nonce"},
        {"aud": "another-client"},
        {"iss": "http://127.0.0.1:1/other-issuer"},
        {"exp": 1_000_000_000},
    ],
    ids=["nonce", "audience", "issuer", "expired"],
)
async def test_id_token_claims_are_checked(
    browser: Any, idp: IdentityProvider, changes: dict[str, Any]
) -> None:
    idp.id_token_changes = changes
    response = await _sign_in(browser)
    assert response.status_code == 401, response.text
    assert (await browser.get("/console/", follow_redirects=False)).status_code == 302


async def test_id_token_signed_by_an_unpublished_key_is_refused(
    browser: Any, idp: IdentityProvider
) -> None:
    idp.sign_with = RSAKey.generate_key(2048, {"kid": "k1"})  # same key id, another key
    assert (await _sign_in(browser)).status_code == 401
    idp.sign_with = RSAKey.generate_key(2048, {"kid": "unknown"})
    assert (await _sign_in(browser)).status_code == 401
    assert (await browser.get("/console/", follow_redirects=False)).status_code == 302


async def test_provider_error_answer_is_shown(browser: Any) -> None:
    location = await _to_provider(browser)
    state = parse_qs(urlsplit(location).query)["state"][0]
    response = await browser.get(f"/console/oidc/callback?error=access_denied&state={state}")
    assert response.status_code == 401 and "access_denied" in response.text


async def test_claims_are_mapped_to_roles_as_the_api_maps_them(
    browser: Any, idp: IdentityProvider
) -> None:
    idp.user = {"sub": "oidc-partner-1", "scheduler_role": "partner", "org": "shangnan-middle"}
    assert (await _sign_in(browser, "/console/resources")).status_code == 303
    assert (await browser.get("/console/resources")).status_code == 200
    assert (await browser.get("/console/calendar")).status_code == 403

    idp.user = {"sub": "oidc-worker-1", "scheduler_role": "worker", "communities": ["c-1"]}
    assert (await _sign_in(browser, "/console/residents")).status_code == 303
    assert (await browser.get("/console/residents")).status_code == 200
    assert (await browser.get("/console/approvals")).status_code == 403

    idp.user = {"sub": "oidc-resident-1", "scheduler_role": "resident"}
    assert (await _sign_in(browser, "/console/")).status_code == 303
    assert (await browser.get("/console/")).status_code == 403  # residents have no console

    # what the API refuses in a token is refused here: a partner without its partner claim,
    # a worker without communities, an unknown role, a missing role
    for claims in (
        {"sub": "x1", "scheduler_role": "partner"},
        {"sub": "x2", "scheduler_role": "worker"},
        {"sub": "x3", "scheduler_role": "superuser"},
        {"sub": "x4"},
    ):
        idp.user = claims
        assert (await _sign_in(browser)).status_code == 401, claims
        assert (await browser.get("/console/", follow_redirects=False)).status_code == 302


async def test_sign_out_also_signs_out_at_the_provider(
    browser: Any, idp: IdentityProvider, oidc_app: Litestar, settings: Settings
) -> None:
    """RP-initiated logout: the console session ends, and the browser is sent to the
    provider's end_session_endpoint with the ID token it issued, which sends it back."""
    assert (await _sign_in(browser, "/console/")).status_code == 303
    issued = idp.token_requests[-1]
    csrf = csrf_of((await browser.get("/console/")).text)
    policy = (await browser.get("/console/")).headers["content-security-policy"]
    assert f"form-action 'self' {idp.issuer};" in policy  # the browser may follow the redirect
    response = await browser.post(
        "/console/sign-out", data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(f"{idp.issuer}/logout?"), location
    assert issued  # the sign-in went through the token endpoint
    assert (await browser.get("/console/", follow_redirects=False)).status_code == 302
    async with httpx.AsyncClient() as outside:
        back = await outside.get(location, follow_redirects=False)
    assert back.status_code == 302, back.text
    assert back.headers["location"] == signed_out_url(settings)
    sent = idp.logout_requests[-1]
    assert sent["client_id"] == CLIENT_ID and sent["id_token_hint"].count(".") == 2

    # a provider without end_session_endpoint: only the console session ends
    idp.offers_logout = False
    oidc_app.state.pop("console_oidc_provider", None)  # read the discovery document again
    assert (await _sign_in(browser, "/console/")).status_code == 303
    csrf = csrf_of((await browser.get("/console/")).text)
    response = await browser.post(
        "/console/sign-out", data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/console/sign-in"
    assert (await browser.get("/console/", follow_redirects=False)).status_code == 302
    oidc_app.state.pop("console_oidc_provider", None)


async def test_no_provider_configured(browser_client: Any) -> None:
    """Without SCHEDULER_OIDC_ISSUER there is no sign-in with a provider."""
    page = await browser_client.get("/console/sign-in")
    assert "/console/oidc/start" not in page.text
    response = await browser_client.get("/console/oidc/start", follow_redirects=False)
    assert response.status_code == 403
