"""The bad-input catalogue: every malformed or hostile input is a 4xx problem+json, writes
nothing, and no token or secret reaches the logs."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from scheduler.db.bookings import Booking
from scheduler.db.catalogue import Partner, Resource
from scheduler.db.schedule import OpeningWindow
from tests.support.builders import Tokens, make_partner, make_resource, make_window, ok

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
BOOKING = {"starts_at": "2026-12-01T18:00:00+08:00", "ends_at": "2026-12-01T19:00:00+08:00"}
WINDOW = {"start_time": "18:00", "end_time": "21:00", "rrule": "FREQ=DAILY"}
HOSTILE_RULES = [
    "FREQ=SECONDLY",
    "FREQ=MINUTELY;INTERVAL=1",
    "FREQ=HOURLY",
    "FREQ=DAILY;COUNT=99999999",
    "FREQ=DAILY;BYSETPOS=1",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31",
    "DTSTART:19700101T000000Z\nRRULE:FREQ=DAILY",
    "FREQ=YEARLY;BYDAY=60MO",
    "FREQ=DAILY;UNTIL=tomorrow",
    "FREQ=DAILY;" + "BYDAY=MO,TU;" * 40,
    "",
    "FREQ=DAILY;BYMONTHDAY=0",
    "FREQ=WEEKLY;BYDAY=XX",
    "FREQ=DAILY;INTERVAL=-1",
    "ＦＲＥＱ=ＤＡＩＬＹ",
]
BAD_TIMES = [
    "2026-12-01T18:00:00",
    "01/12/2026 18:00",
    "tomorrow",
    1733050800,
    None,
    "2026-13-01T18:00:00+08:00",
    "2026-12-01T18:00:00+25:00",
    "２０２６-12-01T18:00:00+08:00",
]
BAD_QUANTITIES = [0, -1, 10**12, "five", 1.5, True, None, [1]]


async def counts(db) -> tuple[int, ...]:
    async with db() as session:
        return tuple(
            [
                await session.scalar(select(func.count()).select_from(model))
                for model in (Partner, Resource, OpeningWindow, Booking)
            ]
        )


def cases(resource_id: str) -> list[tuple[str, str, object, dict[str, str], int]]:
    """(method, url, body or raw bytes, extra headers, expected status)."""
    r = resource_id
    found: list[tuple[str, str, object, dict[str, str], int]] = [
        ("POST", "/api/v1/partners", b"{not json", {"Content-Type": "application/json"}, 400),
        (
            "POST",
            "/api/v1/partners",
            b'{"name": "X", "zone": "camp"',
            {"Content-Type": "application/json"},
            400,
        ),
        (
            "POST",
            "/api/v1/partners",
            b'{"name": "X", "zone": "camp"}',
            {"Content-Type": "text/plain"},
            415,
        ),
        (
            "POST",
            "/api/v1/partners",
            b"name=X&zone=camp",
            {"Content-Type": "application/x-www-form-urlencoded"},
            415,
        ),
        ("POST", "/api/v1/partners", b"<partner/>", {"Content-Type": "application/xml"}, 415),
        (
            "POST",
            "/api/v1/partners",
            b'{"name": "' + b"x" * 2_000_000 + b'", "zone": "camp"}',
            {"Content-Type": "application/json"},
            413,
        ),
        ("POST", "/api/v1/partners", {"name": "x" * 10_000, "zone": "camp"}, {}, 422),
        ("POST", "/api/v1/partners", {"name": "a\u0000b", "zone": "camp"}, {}, 0),
        ("POST", "/api/v1/partners", {"name": "X", "zone": "camp", "is_admin": True}, {}, 422),
        ("POST", "/api/v1/partners", [], {}, 422),
        ("POST", "/api/v1/partners", "just a string", {}, 422),
        (
            "POST",
            "/api/v1/resources",
            {
                "partner_id": "p",
                "name": "X",
                "kind": "court",
                "capacity": 1,
                "timezone": "Asia/Beijing",
            },
            {},
            422,
        ),
        (
            "POST",
            "/api/v1/resources",
            {"partner_id": "p", "name": "X", "kind": "court", "capacity": 1, "timezone": "UTC+8"},
            {},
            422,
        ),
        ("GET", f"/api/v1/resources/{r}/availability?from=2026-01-01&to=2036-01-01", None, {}, 422),
        ("GET", f"/api/v1/resources/{r}/availability?from=2026-12-05&to=2026-12-01", None, {}, 422),
        ("GET", f"/api/v1/resources/{r}/availability?from=2026-12-01T10:00:00", None, {}, 422),
        ("GET", f"/api/v1/resources/{r}/availability?from=%27%20OR%201%3D1--", None, {}, 422),
        ("GET", "/api/v1/resources?limit=100000000000000000000", None, {}, 422),
        ("GET", "/api/v1/resources?kind=%3Cscript%3E", None, {}, 422),
        ("GET", "/api/v1/bookings?from=not-a-date", None, {}, 422),
        ("GET", "/api/v1/calendar/days?from=2026-01-01&to=2036-01-01", None, {}, 422),
        ("PUT", "/api/v1/calendar/days/9999-99-99", {"day_type": "holiday"}, {}, 422),
        (
            "POST",
            "/api/v1/bookings",
            {
                "resource_id": r,
                **BOOKING,
                "starts_at": "2026-12-01T19:00:00+08:00",
                "ends_at": "2026-12-01T18:00:00+08:00",
            },
            {},
            422,
        ),
        ("POST", "/api/v1/bookings", {"resource_id": "x" * 5000, **BOOKING}, {}, 422),
        (
            "POST",
            "/api/v1/bookings",
            {"resource_id": r, **BOOKING},
            {"Idempotency-Key": "k" * 500},
            422,
        ),
    ]
    found += [
        ("POST", f"/api/v1/resources/{r}/windows", {**WINDOW, "rrule": rule}, {}, 422)
        for rule in HOSTILE_RULES
    ]
    found += [
        ("POST", "/api/v1/bookings", {"resource_id": r, **BOOKING, "starts_at": bad}, {}, 422)
        for bad in BAD_TIMES
    ]
    found += [
        ("POST", "/api/v1/bookings", {"resource_id": r, **BOOKING, "quantity": bad}, {}, 422)
        for bad in BAD_QUANTITIES
    ]
    found += [
        ("POST", f"/api/v1/resources/{r}/windows", {**WINDOW, "start_time": bad}, {}, 422)
        for bad in ("7pm", "25:00", "18:60", "٠٨:٠٠", "", "18:00:00")
    ]
    return found


async def test_bad_input_is_refused_with_a_problem_and_writes_nothing(
    client, tokens: Tokens, clock, db, caplog
):
    clock.set(NOW)
    resource = await make_resource(client, tokens, capacity=10)
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="21:00")
    before = await counts(db)
    staff = tokens.staff()
    secret_bearer = staff["Authorization"].split()[1]
    caplog.set_level(logging.DEBUG)
    tried = 0
    for method, url, body, headers, expected in cases(resource["id"]):
        kwargs: dict[str, object] = {"headers": {**staff, **headers}}
        if isinstance(body, bytes):
            kwargs["content"] = body
        elif body is not None:
            kwargs["json"] = body
        response = await client.request(method, url, **kwargs)
        tried += 1
        assert 400 <= response.status_code < 500, (
            url,
            body if not isinstance(body, bytes) else body[:80],
            response.text,
        )
        if expected:
            assert response.status_code == expected, (url, response.text[:300])
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert (
            problem["status"] == response.status_code
            and problem["code"]
            and "Traceback" not in response.text
        )
    assert await counts(db) == before
    assert tried >= 60
    assert secret_bearer not in caplog.text and "Authorization" not in caplog.text


@pytest.mark.parametrize(
    "name",
    [
        "周家渡街道社区服务中心",
        "王阿姨 👵🏻 与孙子",
        "'; DROP TABLE bookings; --",
        "<script>alert('x')</script>",
        "Zhōujiādù \u200b zero-width",
        "ـــ عربي",
        "ダミー",
    ],
)
async def test_non_latin_and_hostile_strings_are_kept_verbatim(client, tokens: Tokens, name):
    partner = await make_partner(client, tokens, name=name)
    fetched = ok(await client.get(f"/api/v1/partners/{partner['id']}", headers=tokens.resident()))
    assert fetched["name"] == name
    assert json.loads(json.dumps(fetched))["name"] == name
