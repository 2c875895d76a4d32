"""The console over HTTP: every route × role, CSRF refusals, no external URL on any page,
sign-out and idle expiry, and the actions writing through the API's services."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from scheduler.db.schedule import CalendarCorrection
from tests.console.support import csrf_of, sign_in, token
from tests.support.builders import ok, unique

DEMO_PARTNER = "shangnan-middle"
SUBS = {
    "resident": "resident-wang",
    "worker": "worker-zhao",
    "partner": "partner-shangnan",
    "staff": "staff-li",
    "admin": "admin-ops",
}
ROLES = ("anonymous", *SUBS)
MANAGERS = {
    "anonymous": 302,
    "resident": 403,
    "worker": 403,
    "partner": 200,
    "staff": 200,
    "admin": 200,
}
STAFF_ONLY = {**MANAGERS, "partner": 403}
# The resident registry and booking on behalf: staff and neighbourhood workers.
REGISTRY = {**STAFF_ONLY, "worker": 200}
# A resident outside the worker's communities does not exist for the worker.
REGISTRY_OUTSIDER = {**REGISTRY, "worker": 404}
EVERYONE_BUT_RESIDENTS = {**MANAGERS, "worker": 200}
# Every GET page of the console with the status each role gets. {own} is a resource of the
# demo partner, {other} one of another partner (partners manage only their own).
PAGES: dict[str, dict[str, int]] = {
    "/console/": {**MANAGERS, "worker": 303},  # a worker starts from the resident search
    "/console/approvals": MANAGERS,
    "/console/calendar": STAFF_ONLY,
    "/console/resources": MANAGERS,
    "/console/resources/{own}/windows": MANAGERS,
    "/console/resources/{other}/windows": STAFF_ONLY,
    "/console/resources/{own}/week": MANAGERS,
    "/console/resources/{other}/week": STAFF_ONLY,
    "/console/closures": MANAGERS,
    "/console/gate": MANAGERS,
    "/console/reports": MANAGERS,
    "/console/reports/csv": MANAGERS,
    "/console/residents": REGISTRY,
    "/console/residents/new": REGISTRY,
    "/console/residents/{resident}": REGISTRY,
    "/console/residents/{resident}/book": REGISTRY,
    "/console/residents/{outsider}": REGISTRY_OUTSIDER,
    "/console/residents/{outsider}/book": REGISTRY_OUTSIDER,
    "/console/suspensions": EVERYONE_BUT_RESIDENTS,
    "/console/terms": MANAGERS,
    "/console/gate/print": MANAGERS,
    "/console/webhooks": MANAGERS,
    # a staff endpoint: another partner's id reveals nothing (404), as through the API
    "/console/webhooks/{webhook}": {**MANAGERS, "partner": 404},
    "/console/partners": STAFF_ONLY,
    "/console/partners/{partner}": STAFF_ONLY,
    "/console/resources/new": MANAGERS,
    "/console/resources/{own}/edit": MANAGERS,
    "/console/resources/{other}/edit": STAFF_ONLY,
    "/console/residents/merge": REGISTRY,
    "/console/personal-data-access": STAFF_ONLY,
    "/console/residents/{resident}/stored": STAFF_ONLY,
    "/console/residents/{outsider}/stored": STAFF_ONLY,
    "/console/sign-in": dict.fromkeys(ROLES, 200),
    # no identity provider is configured in these tests (tests/console/test_oidc.py has one)
    "/console/oidc/start": dict.fromkeys(ROLES, 403),
    "/console/oidc/callback": dict.fromkeys(ROLES, 403),
}
# Form posts: who may post (with a valid CSRF token); anonymous is sent to sign in.
POSTS: dict[str, dict[str, int]] = {
    "/console/approvals": MANAGERS,
    "/console/calendar/import": STAFF_ONLY,
    "/console/calendar/correct": STAFF_ONLY,
    "/console/calendar/revert": STAFF_ONLY,
    "/console/resources/{own}/windows": MANAGERS,
    "/console/resources/{own}/windows/{window}/delete": MANAGERS,
    "/console/closures": MANAGERS,
    "/console/gate/{booking}/check-in": MANAGERS,
    "/console/residents/new": REGISTRY,
    "/console/residents/{resident}": REGISTRY,
    "/console/residents/{resident}/book": REGISTRY,
    "/console/suspensions/{suspension}/lift": EVERYONE_BUT_RESIDENTS,
    "/console/no-shows/{booking}/excuse": EVERYONE_BUT_RESIDENTS,
    "/console/terms": MANAGERS,
    "/console/terms/{term}/delete": MANAGERS,
    "/console/webhooks": MANAGERS,
    "/console/webhooks/{webhook}/enable": MANAGERS,
    "/console/webhooks/{webhook}/disable": MANAGERS,
    "/console/webhooks/{webhook}/delete": MANAGERS,
    "/console/partners": STAFF_ONLY,
    "/console/partners/{partner}": STAFF_ONLY,
    "/console/resources/new": MANAGERS,
    "/console/resources/{own}/edit": MANAGERS,
    "/console/residents/merge": REGISTRY,
}
# A registered endpoint's address is data the webhook pages show (as text, never loaded).
WEBHOOK_URL = "https://hooks.example.org/scheduler"
OPEN_POSTS = {"/console/sign-in/demo", "/console/sign-out", "/console/language"}


async def _ensure_partner(client: Any, tokens: Any, partner_id: str) -> None:
    body = {"id": partner_id, "name": "上南中学 Shangnan Middle School", "zone": "campus"}
    response = await client.post("/api/v1/partners", json=body, headers=tokens.staff())
    assert response.status_code in (201, 409), response.text


async def _resource(client: Any, tokens: Any, partner_id: str, **fields: Any) -> dict[str, Any]:
    body = {"partner_id": partner_id, "name": "400 m track", "kind": "sports_field"}
    body |= {"capacity": 60, **fields}
    return ok(await client.post("/api/v1/resources", json=body, headers=tokens.staff()), 201)


@pytest.fixture
async def world(client: Any, tokens: Any) -> dict[str, str]:
    await _ensure_partner(client, tokens, DEMO_PARTNER)
    other = unique("ptn")
    await _ensure_partner(client, tokens, other)
    own = (await _resource(client, tokens, DEMO_PARTNER))["id"]
    resident = await _resident(client, tokens, "shangnan-1")  # one of worker-zhao's
    outsider = await _resident(client, tokens, "elsewhere-9")
    hook = {"url": WEBHOOK_URL, "events": ["booking.created"]}
    webhook = ok(await client.post("/api/v1/webhooks", json=hook, headers=tokens.staff()), 201)
    return {
        "own": own,
        "other": (await _resource(client, tokens, other))["id"],
        "resident": resident,
        "outsider": outsider,
        "partner": DEMO_PARTNER,
        "webhook": webhook["id"],
    }


async def _resident(client: Any, tokens: Any, community: str) -> str:
    body = {"name": "陈 Chen", "community": community}
    return str(
        ok(await client.post("/api/v1/residents", json=body, headers=tokens.staff()), 201)["id"]
    )


def _fill(path: str, world: dict[str, str]) -> str:
    return path.format(
        window="win_missing",
        booking="bkg_missing",
        suspension="sus_missing",
        term="trm_missing",
        **world,
    )


def test_every_console_route_is_in_the_matrix(console_app: Any) -> None:
    declared = {re.sub(r"\{(\w+)\}", "{}", path) for path in [*PAGES, *POSTS, *OPEN_POSTS]}
    served = {
        re.sub(r"\{(\w+):\w+\}", "{}", route.path)
        for route in console_app.routes
        if route.path.startswith("/console") and not route.path.startswith("/console/static")
    }
    assert served <= declared | {"/console"}, served - declared


@pytest.mark.parametrize("role", ROLES)
async def test_pages_by_role(browser_client: Any, world: dict[str, str], role: str) -> None:
    if role != "anonymous":
        await sign_in(browser_client, SUBS[role])
    for path, expected in PAGES.items():
        response = await browser_client.get(_fill(path, world), follow_redirects=False)
        assert response.status_code == expected[role], (path, role, response.text[:300])
        if expected[role] == 302:
            assert response.headers["location"].startswith("/console/sign-in")
        if expected[role] == 200 and path.endswith("/csv"):
            assert response.headers["content-type"].startswith("text/csv")
        elif expected[role] == 200:
            assert response.headers["content-type"].startswith("text/html")
            assert "content-security-policy" in response.headers
            assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("role", ROLES)
async def test_form_posts_by_role(browser_client: Any, world: dict[str, str], role: str) -> None:
    """Who may post each form; the handlers then answer 200 (with the form's outcome), 303,
    or the service's own refusal page (404 for an unknown window or booking)."""
    if role != "anonymous":
        await sign_in(browser_client, SUBS[role])
    csrf = await token(browser_client)
    for path, expected in POSTS.items():
        response = await browser_client.post(
            _fill(path, world), data={"_csrf_token": csrf}, follow_redirects=False
        )
        if expected[role] in (302, 403):
            assert response.status_code == expected[role], (path, role, response.text[:300])
        else:
            assert response.status_code in (200, 303, 404, 422), (path, role, response.text[:300])


async def test_a_form_post_without_csrf_token_is_refused_and_writes_nothing(
    browser_client: Any, db: Any
) -> None:
    await sign_in(browser_client, SUBS["staff"])
    day = "2031-02-08"
    for data in ({}, {"_csrf_token": "forged" * 12}):
        response = await browser_client.post(
            "/console/calendar/import", data={"lines": f"{day} 班", **data}
        )
        assert response.status_code == 403
        assert "text/html" in response.headers["content-type"]
    async with db() as session:
        assert await session.get(CalendarCorrection, datetime(2031, 2, 8).date()) is None
    # the same form with the page's token is accepted
    page = await browser_client.get("/console/calendar")
    response = await browser_client.post(
        "/console/calendar/import",
        data={"lines": f"{day} 班 春节调休", "_csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 200 and 'data-testid="imported">1<' in response.text
    async with db() as session:
        row = await session.scalar(
            select(CalendarCorrection).where(CalendarCorrection.day == datetime(2031, 2, 8).date())
        )
        assert row is not None and row.day_type == "workday" and row.updated_by == "staff-li"


EXTERNAL = re.compile(r"""(?:src|href|action|url\()\s*=?\s*["']?\s*(?:https?:)?//""", re.I)


async def test_no_page_references_an_external_url(
    browser_client: Any, world: dict[str, str]
) -> None:
    await sign_in(browser_client, SUBS["staff"])
    paths = [_fill(path, world) for path in PAGES] + ["/schema", "/schema/swagger"]
    for path in paths:
        html = (await browser_client.get(path)).text
        assert not EXTERNAL.search(html), (path, EXTERNAL.search(html))
        html = html.replace(f">{WEBHOOK_URL}<", "><")
        assert "http://" not in html and "https://" not in html, path
        for asset in re.findall(r'(?:src|href)="(/[^"]+)"', html):
            if not asset.startswith("/console/static") and not asset.startswith("/schema"):
                continue
            assert (await browser_client.get(asset)).status_code == 200, asset
    init = (await browser_client.get("/console/static/docs/swagger-init.js")).text
    assert "validatorUrl: null" in init


async def test_sign_out_ends_the_session(browser_client: Any) -> None:
    await sign_in(browser_client, SUBS["staff"])
    assert (await browser_client.get("/console/", follow_redirects=False)).status_code == 200
    csrf = await token(browser_client, "/console/")
    response = await browser_client.post(
        "/console/sign-out", data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    assert (await browser_client.get("/console/", follow_redirects=False)).status_code == 302


async def test_idle_session_expires(browser_client: Any, db: Any) -> None:
    """Sessions live in the database with a sliding expiry; an expired one signs out."""
    from scheduler.db.console import ConsoleSession

    await sign_in(browser_client, SUBS["staff"])
    key = browser_client.cookies.get("console_session")
    async with db() as session, session.begin():
        row = await session.get(ConsoleSession, key)
        assert row is not None and row.expires_at > datetime.now(UTC)
        assert b"staff-li" in row.value
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert (await browser_client.get("/console/", follow_redirects=False)).status_code == 302


async def test_language_switch(browser_client: Any) -> None:
    await sign_in(browser_client, SUBS["staff"])
    page = await browser_client.get("/console/")
    assert "今日概况" in page.text and 'lang="zh-Hans"' in page.text
    await browser_client.post(
        "/console/language",
        data={"_csrf_token": csrf_of(page.text), "lang": "en", "next": "/console/"},
    )
    page = await browser_client.get("/console/")
    assert "Bookings today by zone" in page.text and 'lang="en"' in page.text


async def test_demo_sign_in_only_in_demo_mode(client: Any) -> None:
    """The API app of the tests is not in demo mode: no demo users are listed or accepted."""
    page = await client.get("/console/sign-in")
    assert page.status_code == 200 and "staff-li" not in page.text
    response = await client.post(
        "/console/sign-in/demo", data={"_csrf_token": csrf_of(page.text), "sub": "staff-li"}
    )
    assert response.status_code == 403
