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
from tests.support.builders import (
    Tokens,
    assert_problem,
    make_partner,
    make_resource,
    make_window,
    ok,
)

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


# Ordinary odd input that used to be a 500 (OverflowError, RecursionError, ValueError,
# UnicodeEncodeError): each must be a 4xx problem naming the offending field, writing nothing.
EXTREME_DATES = ["0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01"]
EXTREME_INSTANTS = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:00:00-14:00",
    "9999-12-31T22:00:00+00:00",
    "2101-01-01T00:00:00+00:00",
]
DEEP_JSON = b"[" * 2000 + b"]" * 2000  # 4 kB, 2,000 levels
BAD_ETAGS: list[bytes] = ['"²"'.encode("latin-1"), b'"' + b"7" * 4301 + b'"', b'"1",' * 30]


def named_cases(ids: dict[str, str]) -> list[tuple[str, str, object, dict[str, object], str]]:
    """(method, url, JSON body or raw bytes, extra headers, the field the problem names)."""
    r = ids["resource"]
    found: list[tuple[str, str, object, dict[str, object], str]] = []
    for day in EXTREME_DATES:
        found += [
            ("GET", f"/api/v1/resources/{r}/availability?from={day}", None, {}, "from"),
            ("GET", f"/api/v1/resources/{r}/availability?from=2026-12-01&to={day}", None, {}, "to"),
            ("GET", f"/api/v1/availability?from={day}", None, {}, "from"),
            ("GET", f"/api/v1/bookings?from={day}", None, {}, "from"),
            ("GET", f"/api/v1/bookings?to={day}", None, {}, "to"),
            ("GET", f"/api/v1/calendar/days?from={day}", None, {}, "from"),
            ("GET", f"/api/v1/calendar/days?from=2026-12-01&to={day}", None, {}, "to"),
            ("PUT", f"/api/v1/calendar/days/{day}", {"day_type": "holiday"}, {}, "date"),
            ("DELETE", f"/api/v1/calendar/days/{day}", None, {}, "date"),
            ("GET", f"/api/v1/resources/{r}/closures?from={day}", None, {}, "from"),
            ("GET", f"/api/v1/resources/{r}/closures?to={day}", None, {}, "to"),
            ("GET", f"/api/v1/resources/{r}/calendar.ics?from={day}", None, {}, "from"),
            ("GET", f"/api/v1/stats/utilization?from={day}&to=2026-12-01", None, {}, "from"),
            ("GET", f"/api/v1/stats/utilization?from=2026-12-01&to={day}", None, {}, "to"),
            (
                "POST",
                f"/api/v1/resources/{r}/windows",
                {**WINDOW, "valid_from": day},
                {},
                "valid_from",
            ),
            (
                "POST",
                f"/api/v1/resources/{r}/windows",
                {**WINDOW, "valid_until": day},
                {},
                "valid_until",
            ),
            (
                "PATCH",
                f"/api/v1/resources/{r}/windows/{ids['window']}",
                {"valid_from": day},
                {},
                "valid_from",
            ),
            (
                "POST",
                f"/api/v1/partners/{ids['partner']}/terms",
                {"name": "Term", "starts_on": day, "ends_on": "2026-12-31"},
                {},
                "starts_on",
            ),
        ]
    for instant in EXTREME_INSTANTS:
        query = instant.replace("+", "%2B")
        found += [
            ("GET", f"/api/v1/resources/{r}/availability?from={query}", None, {}, "from"),
            ("GET", f"/api/v1/bookings?from={query}", None, {}, "from"),
            ("GET", f"/api/v1/resources/{r}/closures?from={query}", None, {}, "from"),
            (
                "POST",
                "/api/v1/bookings",
                {"resource_id": r, **BOOKING, "starts_at": instant},
                {},
                "starts_at",
            ),
            (
                "POST",
                "/api/v1/bookings",
                {"resource_id": r, **BOOKING, "ends_at": instant},
                {},
                "ends_at",
            ),
            (
                "POST",
                "/api/v1/bookings/series",
                {"resource_id": r, **BOOKING, "starts_at": instant, "rrule": "FREQ=DAILY;COUNT=2"},
                {},
                "starts_at",
            ),
            (
                "POST",
                f"/api/v1/resources/{r}/closures",
                {"starts_at": instant, "ends_at": "2026-12-02T00:00:00+08:00"},
                {},
                "starts_at",
            ),
            (
                "POST",
                f"/api/v1/resources/{r}/closures",
                {"starts_at": "2026-12-02T00:00:00+08:00", "ends_at": instant},
                {},
                "ends_at",
            ),
        ]
    versioned = [
        ("PATCH", f"/api/v1/partners/{ids['partner']}", {"description": "x"}),
        ("PATCH", f"/api/v1/resources/{r}", {"description": "x"}),
        ("DELETE", f"/api/v1/resources/{r}", None),
        ("PATCH", f"/api/v1/resources/{r}/windows/{ids['window']}", {"label": "x"}),
        ("DELETE", f"/api/v1/resources/{r}/windows/{ids['window']}", None),
        ("POST", f"/api/v1/bookings/{ids['booking']}/cancel", {}),
    ]
    found += [
        (method, url, body, {"If-Match": tag}, "If-Match")
        for method, url, body in versioned
        for tag in BAD_ETAGS
    ]
    for text in ("Court\nTwo", "Court\r\nBEGIN:VEVENT", "Tab\there", "Line\u2028sep", "C1\x85"):
        found += [
            ("POST", "/api/v1/partners", {"name": text, "zone": "camp"}, {}, "name"),
            ("PATCH", f"/api/v1/partners/{ids['partner']}", {"name": text}, {}, "name"),
            (
                "POST",
                "/api/v1/resources",
                {"partner_id": ids["partner"], "name": text, "kind": "court", "capacity": 1},
                {},
                "name",
            ),
            ("PATCH", f"/api/v1/resources/{r}", {"name": text}, {}, "name"),
            ("POST", f"/api/v1/resources/{r}/windows", {**WINDOW, "label": text}, {}, "label"),
            (
                "POST",
                "/api/v1/bookings",
                {"resource_id": r, **BOOKING, "on_behalf_of": {"sub": "r1", "name": text}},
                {},
                "on_behalf_of",
            ),
        ]
    # Constrained optional query parameters (their constraints were once dropped: 200).
    found += [
        ("GET", "/api/v1/residents?community=%06bad%C2%96", None, {}, "community"),
        ("GET", f"/api/v1/residents?q={'x' * 101}", None, {}, "q"),
        ("GET", "/api/v1/residents?phone=", None, {}, "phone"),
        ("GET", f"/api/v1/personal-data-access?since={'1' * 41}", None, {}, "since"),
    ]
    return found


def json_routes(app, ids: dict[str, str]) -> list[tuple[str, str]]:
    """Every route of the OpenAPI document that takes a JSON body, with real ids filled in."""
    fill = {
        "{resource_id}": ids["resource"],
        "{window_id}": ids["window"],
        "{partner_id}": ids["partner"],
        "{booking_id}": ids["booking"],
        "{sub}": "someone",
        "{day}": "2026-12-01",
    }
    routes = []
    for path, item in app.openapi_schema.to_schema()["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                for placeholder, value in fill.items():
                    path = path.replace(placeholder, value)
                routes.append((method.upper(), path))
    return routes


def named_fields(problem: dict[str, object]) -> list[str]:
    return [str(item["field"]) for item in problem.get("errors") or []]  # type: ignore[attr-defined, index]


async def test_ordinary_odd_input_is_a_4xx_naming_the_field(
    client, app, tokens: Tokens, clock, db, caplog
):
    clock.set(NOW)
    resource = await make_resource(client, tokens, capacity=10)
    window = await make_window(client, tokens, resource["id"], start_time="18:00", end_time="21:00")
    booked = ok(
        await client.post(
            "/api/v1/bookings",
            json={"resource_id": resource["id"], **BOOKING},
            headers=tokens.resident(sub="odd-input-resident"),
        ),
        201,
    )
    ids = {
        "resource": resource["id"],
        "partner": resource["partner_id"],
        "window": window["id"],
        "booking": booked["id"],
    }
    before = await counts(db)
    staff = tokens.staff()
    caplog.set_level(logging.WARNING)
    cases_ = named_cases(ids) + [
        (method, url, DEEP_JSON, {"Content-Type": "application/json"}, "body")
        for method, url in json_routes(app, ids)
    ]
    for method, url, body, headers, field in cases_:
        kwargs: dict[str, object] = {"headers": {**staff, **headers}}
        if isinstance(body, bytes):
            kwargs["content"] = body
        elif body is not None:
            kwargs["json"] = body
        response = await client.request(method, url, **kwargs)
        where = (method, url[:100], field)
        assert 400 <= response.status_code < 500, (where, response.text[:300])
        assert response.headers["content-type"].startswith("application/problem+json"), where
        problem = response.json()
        assert field in named_fields(problem) or any(
            name.startswith(field) for name in named_fields(problem)
        ), (where, problem)
    assert len(cases_) >= 170
    assert await counts(db) == before
    assert "unhandled_error" not in caplog.text


@pytest.mark.parametrize("sub", ["a\ud800b", "\udfff", "line\nbreak", "bell\x07"])
async def test_a_token_whose_subject_cannot_be_stored_is_refused(client, tokens: Tokens, db, sub):
    before = await counts(db)
    headers = tokens.resident(sub=sub)
    for method, url in (("GET", "/api/v1/bookings"), ("POST", "/api/v1/feeds")):
        response = await client.request(method, url, headers=headers)
        problem = assert_problem(response, 401, "unauthenticated")
        assert named_fields(problem) == ["sub"]
    assert await counts(db) == before
