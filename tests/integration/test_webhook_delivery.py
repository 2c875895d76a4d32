"""Webhook delivery end to end: bookings through the API, a real HTTP receiver on 127.0.0.1,
fan-out and delivery run as the job runs them, with explicit instants for retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import delete, func, select, update

from scheduler.clock import ManualClock
from scheduler.core.release import ReleasePolicy, releases_at
from scheduler.db.bookings import OutboxEvent, WebhookEndpoint
from scheduler.db.engine import create_engine, create_session_factory
from scheduler.jobs import tasks
from scheduler.webhooks.dispatch import MAX_ATTEMPTS, DispatchService, backoff
from scheduler.webhooks.jobs import run_webhooks
from scheduler.webhooks.releases import ReleaseAnnouncer, releases_between
from tests.support.builders import (
    assert_problem,
    book,
    make_partner,
    make_resource,
    make_window,
    ok,
)

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


class Receiver:
    """A real HTTP server in a thread that records every POST and fails when told to."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.failures_left = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver._answer(dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/scheduler"

    def _answer(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            status = 500 if self.failures_left > 0 else 204
            self.failures_left = max(0, self.failures_left - 1)
            lowered = {key.lower(): value for key, value in headers.items()}
            self.requests.append(Received(lowered, body, status))
            return status

    def fail_next(self, count: int) -> None:
        with self._lock:
            self.failures_left = count

    def types_by_booking(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for request in self.requests:
            if request.status < 300:
                found.setdefault(request.json["data"]["id"], []).append(request.json["type"])
        return found


def verify(secret: str, header: str, body: bytes) -> int:
    """What a receiver does (docs/webhooks.md): recompute the HMAC; returns the timestamp."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(
        secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(expected, fields["v1"]), "bad signature"
    return int(fields["t"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    thread.join(5)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture(autouse=True)
async def only_this_test(db, clock):
    """The database is shared by the tests of a run: forget other tests' endpoints and
    outbox backlog, so each test sees its own deliveries only."""
    clock.set(NOW)
    async with db() as session, session.begin():
        await session.execute(delete(WebhookEndpoint))
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None)).values(dispatched_at=NOW)
        )


async def pump(session_factory: Any, now: datetime, http: httpx.AsyncClient) -> int:
    """What one job run does: fan out everything, then deliver until nothing is due."""
    while True:
        async with session_factory() as session, session.begin():
            if not await DispatchService(session).fan_out(now):
                break
    attempted = 0
    while True:
        async with session_factory() as session, session.begin():
            done = await DispatchService(session).deliver_due(now, http)
        if not done:
            return attempted
        attempted += done


async def partner_with_hook(client, tokens, url: str, events: list[str] | None = None):
    partner = (await make_partner(client, tokens))["id"]
    body = {"url": url, "events": events or ["*"]}
    hook = ok(
        await client.post("/api/v1/webhooks", json=body, headers=tokens.partner(partner)), 201
    )
    return partner, hook


async def open_resource(client, tokens, partner: str, capacity: int = 1, **policy: Any) -> str:
    resource = await make_resource(
        client, tokens, partner, capacity=capacity, policy=policy or None
    )
    await make_window(
        client, tokens, resource["id"], start_time="00:00", end_time="24:00", audience="public"
    )
    return str(resource["id"])


def slot(hours: int) -> tuple[str, str]:
    start = NOW + timedelta(hours=hours)
    return start.isoformat(), (start + timedelta(hours=1)).isoformat()


async def test_events_arrive_signed_and_in_order_per_booking(client, tokens, db, receiver, http):
    partner, hook = await partner_with_hook(client, tokens, receiver.url)
    resource = await open_resource(client, tokens, partner, approval="staff")
    resident = tokens.resident()
    first = ok(await book(client, resident, resource, *slot(2)), 201)["id"]
    second = ok(await book(client, resident, resource, *slot(3)), 201)["id"]
    for booking in (first, second):
        ok(await client.post(f"/api/v1/bookings/{booking}/approve", headers=tokens.staff()))
    ok(await client.post(f"/api/v1/bookings/{first}/cancel", headers=resident))

    assert await pump(db, NOW, http) == 5
    assert receiver.types_by_booking() == {
        first: ["booking.created", "booking.confirmed", "booking.cancelled"],
        second: ["booking.created", "booking.confirmed"],
    }
    for request in receiver.requests:
        body = request.json
        assert verify(
            hook["secret"], request.headers["x-scheduler-signature"], request.body
        ) == int(NOW.timestamp())
        assert request.headers["x-scheduler-event"] == body["type"]
        assert request.headers["x-scheduler-delivery"] == body["id"]
        assert request.headers["content-type"] == "application/json"
        assert body["created_at"] == "2026-12-01T00:00:00Z"
        assert body["data"]["resource_id"] == resource
    assert len({request.json["id"] for request in receiver.requests}) == 5
    tampered = receiver.requests[0].body.replace(b"booking", b"bookinG")
    with pytest.raises(AssertionError, match="bad signature"):
        verify(hook["secret"], receiver.requests[0].headers["x-scheduler-signature"], tampered)
    assert await pump(db, NOW + timedelta(hours=2), http) == 0, "nothing is sent twice"


async def test_failed_delivery_is_retried_with_backoff_and_order_kept(
    client, tokens, db, receiver, http
):
    partner, hook = await partner_with_hook(client, tokens, receiver.url)
    resource = await open_resource(client, tokens, partner)
    resident = tokens.resident()
    booking = ok(await book(client, resident, resource, *slot(5)), 201)["id"]
    ok(await client.post(f"/api/v1/bookings/{booking}/cancel", headers=resident))
    receiver.fail_next(2)

    assert await pump(db, NOW, http) == 1, "the cancellation waits for the creation"
    assert backoff(1) == timedelta(seconds=20) and backoff(2) == timedelta(seconds=40)
    assert await pump(db, NOW + timedelta(seconds=19), http) == 0
    assert await pump(db, NOW + timedelta(seconds=20), http) == 1
    assert await pump(db, NOW + timedelta(seconds=59), http) == 0
    assert await pump(db, NOW + timedelta(seconds=60), http) == 2

    sent = [(r.json["type"], r.status) for r in receiver.requests]
    assert sent == [
        ("booking.created", 500),
        ("booking.created", 500),
        ("booking.created", 204),
        ("booking.cancelled", 204),
    ]
    assert len({r.json["id"] for r in receiver.requests[:3]}) == 1, "a retry keeps its id"
    log = ok(
        await client.get(
            f"/api/v1/webhooks/{hook['id']}/deliveries", headers=tokens.partner(partner)
        )
    )
    assert [item["event_type"] for item in log["items"]] == ["booking.cancelled", "booking.created"]
    created = log["items"][1]
    assert (created["status"], created["next_attempt_at"]) == ("delivered", None)
    assert [a["status_code"] for a in created["attempts"]] == [500, 500, 204]
    assert [a["at"] for a in created["attempts"]] == [
        "2026-12-01T00:00:00Z",
        "2026-12-01T00:00:20Z",
        "2026-12-01T00:01:00Z",
    ]
    assert created["attempts"][0]["error"] == "HTTP 500"


async def test_delivery_gives_up_after_the_last_attempt(client, tokens, db, receiver, http):
    partner, hook = await partner_with_hook(client, tokens, receiver.url)
    resource = await open_resource(client, tokens, partner)
    resident = tokens.resident()
    booking = ok(await book(client, resident, resource, *slot(6)), 201)["id"]
    receiver.fail_next(MAX_ATTEMPTS)
    now = NOW
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert await pump(db, now, http) == 1
        now += backoff(attempt)
    headers = tokens.partner(partner)
    url = f"/api/v1/webhooks/{hook['id']}/deliveries"
    failed = ok(await client.get(url, params={"status": "failed"}, headers=headers))["items"]
    assert [(d["status"], len(d["attempts"]), d["next_attempt_at"]) for d in failed] == [
        ("failed", MAX_ATTEMPTS, None)
    ]
    ok(await client.post(f"/api/v1/bookings/{booking}/cancel", headers=resident))
    assert await pump(db, now, http) == 1, "a given-up delivery no longer holds back later ones"
    assert receiver.requests[-1].json["type"] == "booking.cancelled"


async def test_refused_changes_send_nothing(client, tokens, db, receiver, http):
    partner, _ = await partner_with_hook(client, tokens, receiver.url)
    resource = await open_resource(client, tokens, partner, capacity=1)
    booking = ok(await book(client, tokens.resident(), resource, *slot(7)), 201)["id"]
    assert_problem(await book(client, tokens.resident(), resource, *slot(7)), 409, "capacity")
    refused = await client.post(f"/api/v1/bookings/{booking}/approve", headers=tokens.staff())
    assert_problem(refused, 409, "invalid_transition")

    await pump(db, NOW, http)
    assert receiver.types_by_booking() == {booking: ["booking.created"]}
    async with db() as session:
        count = select(func.count()).where(OutboxEvent.resource_id == resource)
        assert await session.scalar(count) == 1


async def test_nothing_is_lost_across_a_crash_and_restart(
    client, tokens, db, settings, receiver, http
):
    partner, _ = await partner_with_hook(client, tokens, receiver.url)
    resource = await open_resource(client, tokens, partner, capacity=5)
    before = ok(await book(client, tokens.resident(), resource, *slot(8)), 201)["id"]
    async with db() as session, session.begin():
        assert await DispatchService(session).fan_out(NOW) >= 1
    after = ok(await book(client, tokens.resident(), resource, *slot(8)), 201)["id"]

    class Crash(Exception):
        pass

    with pytest.raises(Crash):  # the process dies after the POST, before its commit
        async with db() as session, session.begin():
            assert await DispatchService(session).deliver_due(NOW, http) == 1
            raise Crash
    engine = create_engine(settings)  # a fresh process: new engine, new client, same database
    try:
        async with httpx.AsyncClient(timeout=5) as fresh_http:
            assert await pump(create_session_factory(engine), NOW, fresh_http) == 2
    finally:
        await engine.dispose()

    assert receiver.types_by_booking() == {
        before: ["booking.created", "booking.created"],
        after: ["booking.created"],
    }
    # The resend and the other delivery go out concurrently: match them by booking, not order.
    ids = {
        booking: [r.json["id"] for r in receiver.requests if r.json["data"]["id"] == booking]
        for booking in (before, after)
    }
    first, resent = ids[before]
    assert first == resent != ids[after][0], (
        "a resend after a crash reuses the id, for deduplication"
    )


async def test_release_opened_is_announced_once_to_the_owner(client, tokens, db, receiver, http):
    partner, hook = await partner_with_hook(client, tokens, receiver.url, ["release.opened"])
    resource = await open_resource(
        client, tokens, partner, horizon_days=14, release={"days_ahead": 7, "at": "09:00"}
    )
    after_nine = NOW + timedelta(hours=1, seconds=3)  # 09:00:03 in Shanghai
    for _ in range(2):
        async with db() as session, session.begin():
            await ReleaseAnnouncer(session).announce_due(after_nine)
    await pump(db, after_nine, http)

    [request] = receiver.requests
    assert request.headers["x-scheduler-event"] == "release.opened"
    verify(hook["secret"], request.headers["x-scheduler-signature"], request.body)
    data = request.json["data"]
    assert (data["resource_id"], data["release_at"], data["dates"]) == (
        resource,
        "2026-12-01T01:00:00+00:00",
        ["2026-12-08"],
    )


@pytest.mark.parametrize(
    "policy",
    [
        {"days_ahead": 7, "at": "09:00"},
        {"days_ahead": 0, "at": "00:00"},
        {"weekday": "MON", "at": "12:00", "weeks_ahead": 1},
        {"weekday": "SUN", "at": "20:30", "weeks_ahead": 2},
    ],
)
def test_announced_dates_are_those_the_release_policy_opens(policy):
    release = ReleasePolicy(**policy)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    found = releases_between(release, SHANGHAI, start, start + timedelta(days=28))
    assert len(found) == (28 if "days_ahead" in policy else 4)
    for instant, dates in found:
        assert all(releases_at(release, day, SHANGHAI) == instant for day in dates)
        assert all(isinstance(day, date) and day >= instant.date() for day in dates)


async def test_the_job_runs_every_step(client, tokens, db, receiver, http):
    partner, _ = await partner_with_hook(client, tokens, receiver.url)
    resource = await open_resource(client, tokens, partner)
    ok(await book(client, tokens.resident(), resource, *slot(9)), 201)
    tasks.bind(tasks.Runtime(db, ManualClock(NOW)))
    try:
        counts = await run_webhooks(http)
    finally:
        tasks.bind(None)
    assert counts["events_fanned_out"] >= 1 and counts["deliveries_attempted"] == 1
    assert [r.json["type"] for r in receiver.requests] == ["booking.created"]
