"""The authorization matrix: every route of the OpenAPI document × every kind of caller ×
ownership, with the exact status expected. A route missing from the matrix fails the test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from scheduler.db.bookings import Booking as BookingRow
from tests.support.builders import Tokens, make_partner, make_resource, make_window, ok, unique

ROLES = ("anonymous", "resident", "other_resident", "partner", "other_partner", "staff", "admin")
WORKER_COMMUNITY = "shangnan-2"  # ``resident`` lives there, ``other_resident`` elsewhere
NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


class World:
    """Two partners, two residents; fresh objects on demand so every call starts clean."""

    def __init__(self, client: Any, tokens: Tokens, db: Any) -> None:
        self.client, self.tokens, self.db = client, tokens, db
        self.resident_sub, self.other_sub = unique("r1"), unique("r2")
        self.hour = 1

    async def start(self) -> None:
        self.partner = (await make_partner(self.client, self.tokens))["id"]
        self.other_partner = (await make_partner(self.client, self.tokens))["id"]
        self.headers = {
            "anonymous": {},
            "resident": self.tokens.resident(sub=self.resident_sub, community=WORKER_COMMUNITY),
            "other_resident": self.tokens.resident(sub=self.other_sub, community="shangnan-1"),
            "partner": self.tokens.partner(self.partner),
            "other_partner": self.tokens.partner(self.other_partner),
            "staff": self.tokens.staff(),
            "admin": self.tokens.admin(),
            "worker": self.tokens.worker(WORKER_COMMUNITY),
        }
        for role in ("resident", "other_resident"):
            ok(await self.client.get("/api/v1/resources?limit=1", headers=self.headers[role]))

    async def resource(self, **policy: Any) -> str:
        created = await make_resource(
            self.client, self.tokens, self.partner, capacity=100, policy=policy or None
        )
        await make_window(
            self.client,
            self.tokens,
            created["id"],
            start_time="00:00",
            end_time="24:00",
            audience="public",
        )
        return str(created["id"])

    async def booking(self, *, now_slot: bool = False, **policy: Any) -> str:
        resource = await self.resource(**policy)
        start = NOW if now_slot else NOW + timedelta(hours=self.hour)
        self.hour += 1
        body = {
            "resource_id": resource,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
        }
        created = await self.client.post(
            "/api/v1/bookings", json=body, headers=self.headers["resident"]
        )
        return str(ok(created, 201)["id"])

    def slot(self, resource: str) -> dict[str, Any]:
        start = NOW + timedelta(hours=self.hour)
        self.hour += 1
        return {
            "resource_id": resource,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
        }


Setup = Callable[[World], Awaitable[tuple[str, dict[str, Any] | None]]]


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # as in the OpenAPI document
    setup: Setup
    expected: tuple[int, int, int, int, int, int, int]
    # A neighbourhood worker serving ``resident``'s community; by default the worker is a
    # stranger to everything, like ``other_resident``.
    worker: int | None = None

    @property
    def statuses(self) -> tuple[int, ...]:
        return (*self.expected, self.expected[2] if self.worker is None else self.worker)


def fixed(url: str, body: dict[str, Any] | None = None) -> Setup:
    async def setup(world: World) -> tuple[str, dict[str, Any] | None]:
        return url, body

    return setup


async def _resource(world: World) -> tuple[str, None]:
    return f"/api/v1/resources/{await world.resource()}", None


async def _window(world: World) -> tuple[str, None]:
    resource = await world.resource()
    windows = ok(
        await world.client.get(
            f"/api/v1/resources/{resource}/windows", headers=world.headers["staff"]
        )
    )
    return f"/api/v1/resources/{resource}/windows/{windows[0]['id']}", None


async def _closure(world: World) -> tuple[str, None]:
    resource = await world.resource()
    body = {"starts_at": "2027-01-01T00:00:00+08:00", "ends_at": "2027-01-02T00:00:00+08:00"}
    closure = ok(
        await world.client.post(
            f"/api/v1/resources/{resource}/closures", json=body, headers=world.headers["staff"]
        ),
        201,
    )
    return f"/api/v1/resources/{resource}/closures/{closure['id']}", None


async def _term(world: World) -> tuple[str, None]:
    body = {"name": "autumn", "starts_on": "2026-09-01", "ends_on": "2027-01-20"}
    term = ok(
        await world.client.post(
            f"/api/v1/partners/{world.partner}/terms", json=body, headers=world.headers["staff"]
        ),
        201,
    )
    return f"/api/v1/partners/{world.partner}/terms/{term['id']}", None


async def _correction(world: World) -> tuple[str, None]:
    day = f"2027-03-{world.hour % 28 + 1:02d}"
    world.hour += 1
    ok(
        await world.client.put(
            f"/api/v1/calendar/days/{day}",
            json={"day_type": "rest_day"},
            headers=world.headers["staff"],
        )
    )
    return f"/api/v1/calendar/days/{day}", None


def booking_route(suffix: str = "", *, body: dict[str, Any] | None = None, **options: Any) -> Setup:
    async def setup(world: World) -> tuple[str, dict[str, Any] | None]:
        return f"/api/v1/bookings/{await world.booking(**options)}{suffix}", body

    return setup


def with_resource(suffix: str, body: Callable[[World, str], dict[str, Any]] | None = None) -> Setup:
    async def setup(world: World) -> tuple[str, dict[str, Any] | None]:
        resource = await world.resource()
        return f"/api/v1/resources/{resource}{suffix}", body(world, resource) if body else None

    return setup


def new_booking(series: bool = False) -> Setup:
    async def setup(world: World) -> tuple[str, dict[str, Any] | None]:
        body = world.slot(await world.resource())
        if series:
            body["rrule"] = "FREQ=DAILY;COUNT=2"
        return ("/api/v1/bookings/series" if series else "/api/v1/bookings"), body

    return setup


def series_route(suffix: str, body: Callable[[str], dict[str, Any]], **policy: Any) -> Setup:
    """A fresh two-night series of ``resident`` (``suffix`` and ``body`` given its id)."""

    async def setup(world: World) -> tuple[str, dict[str, Any] | None]:
        slot = {**world.slot(await world.resource(**policy)), "rrule": "FREQ=DAILY;COUNT=2"}
        made = await world.client.post(
            "/api/v1/bookings/series", json=slot, headers=world.headers["resident"]
        )
        series_id = ok(made, 201)["series_id"]
        return suffix.format(series_id=series_id), body(series_id)

    return setup


def partner_route(suffix: str = "", body: dict[str, Any] | None = None) -> Setup:
    async def setup(world: World) -> tuple[str, dict[str, Any] | None]:
        return f"/api/v1/partners/{world.partner}{suffix}", body

    return setup


def resident_route(suffix: str = "", body: dict[str, Any] | None = None) -> Setup:
    async def setup(world: World) -> tuple[str, dict[str, Any] | None]:
        return f"/api/v1/users/{world.resident_sub}{suffix}", body

    return setup


async def _new_resource(world: World) -> tuple[str, dict[str, Any]]:
    return "/api/v1/resources", {
        "partner_id": world.partner,
        "name": "Court",
        "kind": "court",
        "capacity": 1,
    }


async def _feed(world: World) -> tuple[str, None]:
    """A fresh personal feed of the resident: the URL a calendar app would poll."""
    issued = ok(await world.client.post("/api/v1/feeds", headers=world.headers["resident"]), 201)
    return f"/api/v1/feeds/{issued['token']}.ics", None


def webhook_route(suffix: str = "") -> Setup:
    """A fresh endpoint of the first partner (so ``partner`` owns it, ``other_partner`` not)."""

    async def setup(world: World) -> tuple[str, None]:
        created = await world.client.post(
            "/api/v1/webhooks", json=WEBHOOK, headers=world.headers["partner"]
        )
        return f"/api/v1/webhooks/{ok(created, 201)['id']}{suffix}", None

    return setup


def registry_route(suffix: str = "", body: dict[str, Any] | None = None) -> Setup:
    """``resident`` as a registry record (the worker serves their community)."""

    async def setup(world: World) -> tuple[str, dict[str, Any] | None]:
        return f"/api/v1/residents/{world.resident_sub}{suffix}", body

    return setup


async def _merge(world: World) -> tuple[str, dict[str, Any]]:
    duplicate = ok(
        await world.client.post(
            "/api/v1/residents",
            json={"name": "李奶奶", "community": WORKER_COMMUNITY},
            headers=world.headers["staff"],
        ),
        201,
    )
    return f"/api/v1/residents/{world.resident_sub}/merge", {"duplicate_id": duplicate["id"]}


async def _suspension(world: World) -> tuple[str, None]:
    body = {
        "resident_id": world.resident_sub,
        "scope": "partner",
        "scope_id": world.partner,
        "until": (NOW + timedelta(days=3)).isoformat(),
        "reason": "kept missing",
    }
    made = await world.client.post("/api/v1/suspensions", json=body, headers=world.headers["staff"])
    return f"/api/v1/suspensions/{ok(made, 201)['id']}", None


def _new_suspension(world: World) -> Awaitable[tuple[str, dict[str, Any]]]:
    async def setup() -> tuple[str, dict[str, Any]]:
        return "/api/v1/suspensions", {
            "resident_id": world.resident_sub,
            "scope": "partner",
            "scope_id": world.partner,
            "until": (NOW + timedelta(days=3)).isoformat(),
            "reason": "kept missing",
        }

    return setup()


async def _new_group(world: World) -> tuple[str, dict[str, Any]]:
    return "/api/v1/resource-groups", {
        "id": unique("grounds"),
        "name": "School grounds",
        "resource_ids": [],
    }


async def _group(world: World) -> tuple[str, None]:
    body = {"id": unique("grounds"), "name": "School grounds", "resource_ids": []}
    made = await world.client.post(
        "/api/v1/resource-groups", json=body, headers=world.headers["staff"]
    )
    return f"/api/v1/resource-groups/{ok(made, 201)['id']}", None


async def _no_show(world: World) -> tuple[str, dict[str, Any]]:
    booking = await world.booking()
    async with world.db() as session, session.begin():
        await session.execute(
            update(BookingRow).where(BookingRow.id == booking).values(status="no_show")
        )
    return f"/api/v1/bookings/{booking}/excuse", {"reason": "in hospital"}


ROUNDS = "/api/v1/allocation-rounds"


async def _new_round_body(world: World) -> dict[str, Any]:
    return {
        "name": "Spring clubs",
        "resource_ids": [await world.resource()],
        "season_starts_on": "2027-03-01",
        "season_ends_on": "2027-03-31",
        "applications_open_at": (NOW - timedelta(hours=1)).isoformat(),
        "applications_close_at": (NOW + timedelta(days=1)).isoformat(),
    }


def allocation_route(
    suffix: str = "",
    state: str = "open",
    body: dict[str, Any] | None = None,
    apply: bool = False,
    apply_body: bool = False,
) -> Setup:
    """A fresh round in ``state`` (with one application of ``resident`` when ``apply``);
    ``suffix`` may name ``{application_id}`` and ``{slot_id}``."""

    async def setup(world: World) -> tuple[str, dict[str, Any] | None]:
        staff = world.headers["staff"]
        made = await world.client.post(ROUNDS, json=await _new_round_body(world), headers=staff)
        created = ok(made, 201)
        round_url = f"{ROUNDS}/{created['id']}"
        ids = {"application_id": "none", "slot_id": "none"}
        if state != "draft":
            ok(await world.client.post(f"{round_url}/open", headers=staff))
        slot = {
            "resource_id": created["resource_ids"][0],
            "weekday": "tuesday",
            "starts_local": "18:00",
            "ends_local": "20:00",
            "priority": 1,
        }
        application = {"organisation": "Club", "contact_name": "Li", "slots": [slot]}
        if apply:
            applied = await world.client.post(
                f"{round_url}/applications", json=application, headers=world.headers["resident"]
            )
            applied_body = ok(applied, 201)
            ids = {"application_id": applied_body["id"], "slot_id": applied_body["slots"][0]["id"]}
        if state == "closed":
            ok(await world.client.post(f"{round_url}/close", headers=staff))
        return round_url + suffix.format(**ids), application if apply_body else body

    return setup


async def _new_round(world: World) -> tuple[str, dict[str, Any]]:
    return ROUNDS, await _new_round_body(world)


def standing_body(resource: str) -> dict[str, Any]:
    return {
        "resource_id": resource,
        "start_time": "10:00",
        "end_time": "11:00",
        "from": "2026-12-02",
        "until": "2026-12-03",
        "weekdays": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"],
    }


async def _new_standing_order(world: World) -> tuple[str, dict[str, Any]]:
    return "/api/v1/standing-orders", standing_body(await world.resource())


def standing_route(suffix: str = "", *, paused: bool = False) -> Setup:
    """A fresh standing order of ``resident`` (paused first when ``paused``)."""

    async def setup(world: World) -> tuple[str, dict[str, Any] | None]:
        body = standing_body(await world.resource())
        made = await world.client.post(
            "/api/v1/standing-orders", json=body, headers=world.headers["resident"]
        )
        path = f"/api/v1/standing-orders/{ok(made, 201)['id']}"
        if paused:
            ok(await world.client.post(f"{path}/pause", headers=world.headers["resident"]))
        return path + suffix, None

    return setup


ALL = (200,) * 7
SIGNED_IN = (401, 200, 200, 200, 200, 200, 200)
STAFF_ONLY = (401, 403, 403, 403, 403, 200, 200)
OWNER_MANAGES = (401, 403, 403, 200, 403, 200, 200)
HOLDER_AND_OWNER = (401, 200, 404, 200, 404, 200, 200)
WINDOW = {"start_time": "18:00", "end_time": "21:00", "rrule": "FREQ=DAILY"}
CLOSURE = {"starts_at": "2027-02-01T00:00:00+08:00", "ends_at": "2027-02-02T00:00:00+08:00"}
WEBHOOK = {"url": "http://127.0.0.1:9/hook", "events": ["*"]}  # discard port: never called
WEBHOOK_MANAGERS = (401, 403, 403, 200, 404, 200, 200)

MATRIX = [
    Case("GET", "/health", fixed("/health"), ALL),
    Case("GET", "/ready", fixed("/ready"), ALL),
    Case("GET", "/api/v1/zones", fixed("/api/v1/zones"), ALL),
    Case(
        "POST",
        "/api/v1/partners",
        fixed("/api/v1/partners", {"name": "X", "zone": "camp"}),
        (401, 403, 403, 403, 403, 201, 201),
    ),
    Case("GET", "/api/v1/partners", fixed("/api/v1/partners"), SIGNED_IN),
    Case("GET", "/api/v1/partners/{partner_id}", partner_route(), SIGNED_IN),
    Case(
        "PATCH",
        "/api/v1/partners/{partner_id}",
        partner_route(body={"contact_name": "张"}),
        STAFF_ONLY,
    ),
    Case("GET", "/api/v1/partners/{partner_id}/terms", partner_route("/terms"), SIGNED_IN),
    Case(
        "POST",
        "/api/v1/partners/{partner_id}/terms",
        partner_route("/terms", {"name": "t", "starts_on": "2027-02-20", "ends_on": "2027-07-01"}),
        (401, 403, 403, 201, 403, 201, 201),
    ),
    Case(
        "DELETE",
        "/api/v1/partners/{partner_id}/terms/{term_id}",
        _term,
        (401, 403, 403, 204, 403, 204, 204),
    ),
    Case("POST", "/api/v1/resources", _new_resource, (401, 403, 403, 201, 403, 201, 201)),
    Case("GET", "/api/v1/resources", fixed("/api/v1/resources"), SIGNED_IN),
    Case("GET", "/api/v1/resources/{resource_id}", _resource, SIGNED_IN),
    Case(
        "PATCH",
        "/api/v1/resources/{resource_id}",
        with_resource("", lambda w, r: {"name": "Renamed"}),
        OWNER_MANAGES,
    ),
    Case(
        "DELETE", "/api/v1/resources/{resource_id}", _resource, (401, 403, 403, 204, 403, 204, 204)
    ),
    Case(
        "POST",
        "/api/v1/resources/{resource_id}/windows",
        with_resource("/windows", lambda w, r: WINDOW),
        (401, 403, 403, 201, 403, 201, 201),
    ),
    Case("GET", "/api/v1/resources/{resource_id}/windows", with_resource("/windows"), SIGNED_IN),
    Case("GET", "/api/v1/resources/{resource_id}/windows/{window_id}", _window, SIGNED_IN),
    Case(
        "PATCH",
        "/api/v1/resources/{resource_id}/windows/{window_id}",
        lambda world: _with_body(_window(world), {"label": "x"}),
        OWNER_MANAGES,
    ),
    Case(
        "DELETE",
        "/api/v1/resources/{resource_id}/windows/{window_id}",
        _window,
        (401, 403, 403, 204, 403, 204, 204),
    ),
    Case(
        "POST",
        "/api/v1/resources/{resource_id}/closures",
        with_resource("/closures", lambda w, r: CLOSURE),
        (401, 403, 403, 201, 403, 201, 201),
    ),
    Case("GET", "/api/v1/resources/{resource_id}/closures", with_resource("/closures"), SIGNED_IN),
    Case(
        "DELETE",
        "/api/v1/resources/{resource_id}/closures/{closure_id}",
        _closure,
        (401, 403, 403, 204, 403, 204, 204),
    ),
    Case(
        "GET",
        "/api/v1/calendar/days",
        fixed("/api/v1/calendar/days?from=2026-10-01&to=2026-10-07"),
        SIGNED_IN,
    ),
    Case(
        "PUT",
        "/api/v1/calendar/days/{day}",
        fixed("/api/v1/calendar/days/2027-04-01", {"day_type": "workday"}),
        STAFF_ONLY,
    ),
    Case("DELETE", "/api/v1/calendar/days/{day}", _correction, (401, 403, 403, 403, 403, 204, 204)),
    Case(
        "GET",
        "/api/v1/resources/{resource_id}/availability",
        with_resource("/availability"),
        SIGNED_IN,
    ),
    Case("GET", "/api/v1/availability", fixed("/api/v1/availability"), SIGNED_IN),
    Case("POST", "/api/v1/bookings", new_booking(), (401, 201, 201, 201, 201, 201, 201)),
    Case(
        "POST",
        "/api/v1/bookings/series",
        new_booking(series=True),
        (401, 201, 201, 201, 201, 201, 201),
    ),
    Case("GET", "/api/v1/bookings", fixed("/api/v1/bookings"), SIGNED_IN),
    Case(
        "POST",
        "/api/v1/bookings/series/{series_id}/cancel",
        series_route(
            "/api/v1/bookings/series/{series_id}/cancel", lambda _: {"from": "2026-12-01"}
        ),
        HOLDER_AND_OWNER,
        worker=200,
    ),
    Case(
        "POST",
        "/api/v1/approvals/batch",
        series_route(
            "/api/v1/approvals/batch",
            lambda series_id: {"action": "approve", "series_id": series_id},
            approval="staff",
        ),
        (401, 403, 403, 200, 404, 200, 200),
        worker=403,
    ),
    Case("GET", "/api/v1/bookings/{booking_id}", booking_route(), HOLDER_AND_OWNER, worker=200),
    Case(
        "GET",
        "/api/v1/bookings/{booking_id}/history",
        booking_route("/history"),
        HOLDER_AND_OWNER,
        worker=200,
    ),
    Case(
        "POST",
        "/api/v1/bookings/{booking_id}/approve",
        booking_route("/approve", approval="staff"),
        (401, 403, 404, 200, 404, 200, 200),
        worker=403,
    ),
    Case(
        "POST",
        "/api/v1/bookings/{booking_id}/reject",
        booking_route("/reject", approval="staff"),
        (401, 403, 404, 200, 404, 200, 200),
        worker=403,
    ),
    Case(
        "POST",
        "/api/v1/bookings/{booking_id}/cancel",
        booking_route("/cancel"),
        HOLDER_AND_OWNER,
        worker=200,
    ),
    Case(
        "POST",
        "/api/v1/bookings/{booking_id}/check-in",
        booking_route("/check-in", now_slot=True),
        HOLDER_AND_OWNER,
        worker=200,
    ),
    Case(
        "POST",
        "/api/v1/bookings/{booking_id}/accept",
        booking_route("/accept"),
        (401, 409, 404, 403, 404, 409, 409),
        worker=403,
    ),
    Case(
        "GET", "/api/v1/approvals", fixed("/api/v1/approvals"), (401, 403, 403, 200, 200, 200, 200)
    ),
    Case("GET", "/api/v1/resources/{resource_id}/draws", with_resource("/draws"), SIGNED_IN),
    Case(
        "GET",
        "/api/v1/resources/{resource_id}/draws/{draw_id}",
        with_resource("/draws/drw_missing"),
        (401, 404, 404, 404, 404, 404, 404),
    ),
    Case("GET", "/api/v1/users/{sub}", resident_route(), (401, 200, 404, 404, 404, 200, 200)),
    Case("PATCH", "/api/v1/users/{sub}", resident_route(body={"tags": ["elderly"]}), STAFF_ONLY),
    Case(
        "DELETE",
        "/api/v1/users/{sub}/suspension",
        resident_route("/suspension"),
        (401, 403, 403, 403, 403, 204, 204),
    ),
    Case(
        "POST",
        "/api/v1/residents",
        fixed("/api/v1/residents", {"name": "王大爷", "community": WORKER_COMMUNITY}),
        (401, 403, 403, 403, 403, 201, 201),
        worker=201,
    ),
    Case("GET", "/api/v1/residents", fixed("/api/v1/residents"), STAFF_ONLY, worker=200),
    Case(
        "GET",
        "/api/v1/residents/me",
        fixed("/api/v1/residents/me"),
        SIGNED_IN,
        worker=200,
    ),
    Case("GET", "/api/v1/residents/{resident_id}", registry_route(), STAFF_ONLY, worker=200),
    Case(
        "PATCH",
        "/api/v1/residents/{resident_id}",
        registry_route(body={"tags": ["elderly"]}),
        STAFF_ONLY,
        worker=200,
    ),
    Case(
        "GET",
        "/api/v1/residents/{resident_id}/personal",
        registry_route("/personal"),
        STAFF_ONLY,
        worker=200,
    ),
    Case("POST", "/api/v1/residents/{resident_id}/merge", _merge, STAFF_ONLY, worker=200),
    Case(
        "GET",
        "/api/v1/suspensions",
        fixed("/api/v1/suspensions"),
        (401, 403, 403, 200, 200, 200, 200),
        worker=200,
    ),
    Case(
        "POST",
        "/api/v1/suspensions",
        _new_suspension,
        (401, 403, 403, 201, 403, 201, 201),
        worker=403,
    ),
    Case(
        "DELETE",
        "/api/v1/suspensions/{suspension_id}",
        _suspension,
        (401, 403, 403, 204, 403, 204, 204),
        worker=403,
    ),
    Case(
        "GET",
        "/api/v1/personal-data-access",
        fixed("/api/v1/personal-data-access"),
        STAFF_ONLY,
        worker=403,
    ),
    Case(
        "POST",
        "/api/v1/resource-groups",
        _new_group,
        (401, 403, 403, 403, 403, 201, 201),
        worker=403,
    ),
    Case("GET", "/api/v1/resource-groups", fixed("/api/v1/resource-groups"), SIGNED_IN, worker=200),
    Case("GET", "/api/v1/resource-groups/{group_id}", _group, SIGNED_IN, worker=200),
    Case(
        "PATCH",
        "/api/v1/resource-groups/{group_id}",
        lambda world: _with_body(_group(world), {"name": "Grounds"}),
        STAFF_ONLY,
        worker=403,
    ),
    Case(
        "DELETE",
        "/api/v1/resource-groups/{group_id}",
        _group,
        (401, 403, 403, 403, 403, 204, 204),
        worker=403,
    ),
    Case(
        "POST",
        "/api/v1/bookings/{booking_id}/excuse",
        _no_show,
        (401, 403, 404, 200, 404, 200, 200),
        worker=403,
    ),
    Case("DELETE", "/api/v1/users/{sub}/feeds", resident_route("/feeds"), STAFF_ONLY),
    Case("POST", "/api/v1/feeds", fixed("/api/v1/feeds"), (401, 201, 201, 201, 201, 201, 201)),
    Case("GET", "/api/v1/feeds/{feed_token}", _feed, ALL),
    Case("DELETE", "/api/v1/feeds/{feed_token}", _feed, (401, 204, 404, 404, 404, 404, 404)),
    Case(
        "GET",
        "/api/v1/resources/{resource_id}/calendar.ics",
        with_resource("/calendar.ics"),
        OWNER_MANAGES,
    ),
    Case(
        "POST",
        "/api/v1/standing-orders",
        _new_standing_order,
        (401, 201, 201, 201, 201, 201, 201),
    ),
    Case("GET", "/api/v1/standing-orders", fixed("/api/v1/standing-orders"), SIGNED_IN),
    Case(
        "GET",
        "/api/v1/standing-orders/{order_id}",
        standing_route(),
        HOLDER_AND_OWNER,
        worker=200,
    ),
    Case(
        "POST",
        "/api/v1/standing-orders/{order_id}/pause",
        standing_route("/pause"),
        HOLDER_AND_OWNER,
        worker=200,
    ),
    Case(
        "POST",
        "/api/v1/standing-orders/{order_id}/resume",
        standing_route("/resume", paused=True),
        HOLDER_AND_OWNER,
        worker=200,
    ),
    Case(
        "POST",
        "/api/v1/standing-orders/{order_id}/end",
        standing_route("/end"),
        HOLDER_AND_OWNER,
        worker=200,
    ),
    Case("GET", "/metrics", fixed("/metrics"), ALL),
    Case(
        "GET",
        "/api/v1/stats/utilization",
        fixed("/api/v1/stats/utilization?from=2026-12-01&to=2026-12-02"),
        (401, 403, 403, 200, 200, 200, 200),
    ),
    Case(
        "GET",
        "/api/v1/stats/people",
        fixed("/api/v1/stats/people?from=2026-12-01&to=2026-12-02"),
        (401, 403, 403, 200, 200, 200, 200),
        worker=403,
    ),
    Case(
        "POST",
        "/api/v1/webhooks",
        fixed("/api/v1/webhooks", WEBHOOK),
        (401, 403, 403, 201, 201, 201, 201),
    ),
    Case("GET", "/api/v1/webhooks", fixed("/api/v1/webhooks"), (401, 403, 403, 200, 200, 200, 200)),
    Case("GET", "/api/v1/webhooks/{webhook_id}", webhook_route(), WEBHOOK_MANAGERS),
    Case(
        "DELETE",
        "/api/v1/webhooks/{webhook_id}",
        webhook_route(),
        (401, 403, 403, 204, 404, 204, 204),
    ),
    Case(
        "POST", "/api/v1/webhooks/{webhook_id}/enable", webhook_route("/enable"), WEBHOOK_MANAGERS
    ),
    Case(
        "GET",
        "/api/v1/webhooks/{webhook_id}/deliveries",
        webhook_route("/deliveries"),
        WEBHOOK_MANAGERS,
    ),
    Case("POST", ROUNDS, _new_round, (401, 403, 403, 403, 403, 201, 201), worker=403),
    Case("GET", ROUNDS, fixed(ROUNDS), SIGNED_IN, worker=200),
    Case("GET", ROUNDS + "/{round_id}", allocation_route(), SIGNED_IN, worker=200),
    Case(
        "POST",
        ROUNDS + "/{round_id}/open",
        allocation_route("/open", state="draft"),
        STAFF_ONLY,
        worker=403,
    ),
    Case("POST", ROUNDS + "/{round_id}/close", allocation_route("/close"), STAFF_ONLY, worker=403),
    Case(
        "POST",
        ROUNDS + "/{round_id}/applications",
        allocation_route("/applications", apply_body=True),
        (401, 201, 201, 403, 403, 403, 403),
        worker=403,
    ),
    Case(
        "GET",
        ROUNDS + "/{round_id}/applications",
        allocation_route("/applications"),
        SIGNED_IN,
        worker=200,
    ),
    Case(
        "GET",
        ROUNDS + "/{round_id}/applications/{application_id}",
        allocation_route("/applications/{application_id}", apply=True),
        (401, 200, 404, 404, 404, 200, 200),
        worker=404,
    ),
    Case(
        "POST",
        ROUNDS + "/{round_id}/applications/{application_id}/withdraw",
        allocation_route("/applications/{application_id}/withdraw", apply=True),
        (401, 200, 404, 404, 404, 200, 200),
        worker=404,
    ),
    Case(
        "GET",
        ROUNDS + "/{round_id}/competition",
        allocation_route("/competition", apply=True),
        STAFF_ONLY,
        worker=403,
    ),
    Case(
        "POST",
        ROUNDS + "/{round_id}/allocate",
        allocation_route("/allocate", state="closed", body={}, apply=True),
        STAFF_ONLY,
        worker=403,
    ),
    Case(
        "PUT",
        ROUNDS + "/{round_id}/slots/{slot_id}/decision",
        allocation_route(
            "/slots/{slot_id}/decision", state="closed", body={"decision": "granted"}, apply=True
        ),
        STAFF_ONLY,
        worker=403,
    ),
    Case(
        "POST",
        ROUNDS + "/{round_id}/confirm",
        allocation_route("/confirm", state="closed", apply=True),
        STAFF_ONLY,
        worker=403,
    ),
]


async def _with_body(
    pending: Awaitable[tuple[str, Any]], body: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    url, _ = await pending
    return url, body


async def test_every_documented_route_is_in_the_matrix(client):
    spec = (await client.get("/schema/openapi.json")).json()
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert documented == {(case.method, case.path) for case in MATRIX}


@pytest.mark.parametrize("case", MATRIX, ids=lambda case: f"{case.method} {case.path}")
async def test_authorization(client, tokens: Tokens, db, clock, case: Case):
    clock.set(NOW)
    world = World(client, tokens, db)
    await world.start()
    got = []
    for role in (*ROLES, "worker"):
        url, body = await case.setup(world)
        response = await client.request(case.method, url, json=body, headers=world.headers[role])
        got.append(response.status_code)
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json"), (
                response.text
            )
    assert tuple(got) == case.statuses, str(dict(zip((*ROLES, "worker"), got, strict=True)))
