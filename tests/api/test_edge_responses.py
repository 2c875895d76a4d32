"""Every response passes the same middleware: unrouted paths (404) and wrong methods (405)
carry the security headers and the request id, are logged and counted; OPTIONS lists every
method of a path."""

from __future__ import annotations

import logging

import pytest

from tests.api.test_metrics import delta, scrape
from tests.support.builders import Tokens, assert_problem, make_partner, ok

REQUESTS = "scheduler_http_requests_total"
SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def assert_edge_headers(response, request_id: str) -> None:
    for name, expected in SECURITY.items():
        assert response.headers.get(name) == expected, (name, response.headers)
    assert response.headers["x-request-id"] == request_id
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        assert response.json()["request_id"] == request_id


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/no/such/path", 404, "not_found"),
        ("POST", "/api/v1/nothing-here", 404, "not_found"),
        ("DELETE", "/api/v1/zones", 405, "method_not_allowed"),
        ("PUT", "/api/v1/bookings", 405, "method_not_allowed"),
    ],
)
async def test_unrouted_and_wrong_method_pass_the_middleware(
    client, caplog, method: str, path: str, status: int, code: str
):
    caplog.set_level(logging.INFO)
    before = await scrape(client)
    request_id = f"edge-{status}-{method.lower()}"
    response = await client.request(method, path, headers={"X-Request-ID": request_id})
    assert_problem(response, status, code)
    assert_edge_headers(response, request_id)
    after = await scrape(client)
    assert delta(before, after, REQUESTS, method=method, route="unmatched", status=str(status)) == 1
    access = [r for r in caplog.records if r.name == "scheduler.access"]
    assert any(
        isinstance(r.msg, dict)
        and r.msg.get("request_id", request_id) == request_id
        and r.msg.get("status") == status
        and r.msg.get("path") == path
        for r in access
    ), [r.msg for r in access]


async def test_405_allow_lists_every_method(client):
    response = await client.put("/api/v1/resources/anything")
    assert_problem(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].split(", ")) == {"GET", "PATCH", "DELETE", "OPTIONS"}


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/v1/partners", {"GET", "POST"}),
        ("/api/v1/partners/p", {"GET", "PATCH"}),
        ("/api/v1/resources", {"GET", "POST"}),
        ("/api/v1/resources/r", {"GET", "PATCH", "DELETE"}),
        ("/api/v1/resources/r/windows/w", {"GET", "PATCH", "DELETE"}),
        ("/api/v1/calendar/days/2026-01-01", {"PUT", "DELETE"}),
        ("/api/v1/bookings", {"GET", "POST"}),
        ("/api/v1/users/u", {"GET", "PATCH"}),
        ("/api/v1/feeds/t", {"GET", "DELETE"}),
        ("/api/v1/webhooks", {"GET", "POST"}),
        ("/api/v1/zones", {"GET"}),
    ],
)
async def test_options_lists_every_allowed_method(client, path: str, methods: set[str]):
    """Litestar built OPTIONS from the first handler of a path only (GET /partners/{id}
    answered "GET, OPTIONS" without PATCH); no token is needed to ask."""
    response = await client.options(path, headers={"X-Request-ID": "edge-options"})
    assert response.status_code == 204, response.text
    assert set(response.headers["allow"].split(", ")) == methods | {"OPTIONS"}
    assert_edge_headers(response, "edge-options")


async def test_options_answer_matches_what_the_methods_do(client, tokens: Tokens):
    partner = await make_partner(client, tokens)
    allowed = (await client.options(f"/api/v1/partners/{partner['id']}")).headers["allow"]
    for method in ("GET", "PATCH", "PUT", "DELETE", "POST"):
        answered = await client.request(
            method, f"/api/v1/partners/{partner['id']}", headers=tokens.staff(), json={}
        )
        assert (answered.status_code != 405) == (method in allowed), (method, answered.text)
    ok(await client.get(f"/api/v1/partners/{partner['id']}", headers=tokens.staff()))
