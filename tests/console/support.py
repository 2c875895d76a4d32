"""Driving the console over HTTP as a browser would: sign in through the demo page, post forms
with the CSRF token each page carries."""

from __future__ import annotations

import re
from typing import Any

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def sign_in(client: Any, sub: str) -> None:
    """Sign ``client`` in as the demo user ``sub`` (the app runs in demo mode)."""
    await client.post("/console/sign-out", data={"_csrf_token": await token(client)})
    page = await client.get("/console/sign-in")
    response = await client.post(
        "/console/sign-in/demo",
        data={"_csrf_token": csrf_of(page.text), "sub": sub, "next": "/console/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


async def token(client: Any, path: str = "/console/sign-in") -> str:
    return csrf_of((await client.get(path)).text)
