"""Builders with safe defaults, so a test states only what matters to it."""

from __future__ import annotations

import secrets
from typing import Any

from httpx import Response

from scheduler.auth.tokens import mint_token
from scheduler.settings import Settings


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


class Tokens:
    """Mints bearer headers for any role."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def headers(self, role: str, sub: str | None = None, **claims: Any) -> dict[str, str]:
        token = mint_token(self.settings, sub=sub or unique(role), role=role, **claims)
        return {"Authorization": f"Bearer {token}"}

    def staff(self) -> dict[str, str]:
        return self.headers("staff", sub="staff-test")

    def admin(self) -> dict[str, str]:
        return self.headers("admin", sub="admin-test")

    def resident(self, sub: str | None = None, **claims: Any) -> dict[str, str]:
        return self.headers("resident", sub=sub, **claims)

    def worker(self, *communities: str, sub: str | None = None) -> dict[str, str]:
        """A neighbourhood worker serving ``communities``."""
        return self.headers("worker", sub=sub, communities=list(communities))

    def partner(self, partner_id: str, sub: str | None = None) -> dict[str, str]:
        return self.headers("partner", sub=sub or f"{partner_id}-manager", partner=partner_id)


def ok(response: Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else None


def assert_problem(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["type"].endswith(code)
    assert body["title"] and body["detail"]
    return body


async def make_partner(client: Any, tokens: Tokens, **fields: Any) -> dict[str, Any]:
    body = {
        "id": unique("ptn"),
        "name": "上南中学 Shangnan Middle School",
        "zone": "campus",
        **fields,
    }
    return ok(await client.post("/api/v1/partners", json=body, headers=tokens.staff()), 201)


async def make_resource(
    client: Any, tokens: Tokens, partner_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    if partner_id is None:
        partner_id = (await make_partner(client, tokens))["id"]
    body = {
        "partner_id": partner_id,
        "name": "400 m track",
        "kind": "sports_field",
        "capacity": 60,
        **fields,
    }
    return ok(await client.post("/api/v1/resources", json=body, headers=tokens.staff()), 201)


async def make_window(
    client: Any, tokens: Tokens, resource_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"start_time": "18:00", "end_time": "21:00", "rrule": "FREQ=DAILY", **fields}
    return ok(
        await client.post(
            f"/api/v1/resources/{resource_id}/windows", json=body, headers=tokens.staff()
        ),
        201,
    )


async def availability(
    client: Any, tokens: Tokens, resource_id: str, start: str, end: str
) -> list[dict[str, Any]]:
    """Slots of a resource between two dates or instants (``+`` in offsets is escaped)."""
    query = {"from": start, "to": end}
    response = await client.get(
        f"/api/v1/resources/{resource_id}/availability", params=query, headers=tokens.resident()
    )
    slots: list[dict[str, Any]] = ok(response)["slots"]
    return slots


def booking_body(resource_id: str, start: str, end: str, **fields: Any) -> dict[str, Any]:
    return {"resource_id": resource_id, "starts_at": start, "ends_at": end, **fields}


async def book(
    client: Any, headers: dict[str, str], resource_id: str, start: str, end: str, **fields: Any
) -> Any:
    return await client.post(
        "/api/v1/bookings", json=booking_body(resource_id, start, end, **fields), headers=headers
    )
