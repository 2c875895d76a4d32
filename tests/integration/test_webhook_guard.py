"""Webhook delivery against real HTTP receivers on 127.0.0.1: the connect-time SSRF guard
(every resolved address checked, the checked one connected to, Host kept), the partner's log
without transport detail, each endpoint's own concurrency and time budget, and disabling an
endpoint that keeps failing. The only stand-in is the DNS resolver (a real external)."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update

from scheduler.db.bookings import OutboxEvent, WebhookEndpoint
from scheduler.outbox.repositories import OutboxRepository
from scheduler.webhooks.destinations import DestinationPolicy, guarded_client
from scheduler.webhooks.dispatch import DeliveryLimits, DispatchService
from tests.support.builders import make_partner, ok
from tests.support.server import free_port

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
NOW_TEXT = "2026-12-01T00:00:00Z"
WEBHOOKS = "/api/v1/webhooks"
LOOPBACK = DestinationPolicy.from_entries(["127.0.0.0/8"])
STRICT = DestinationPolicy()


@dataclass
class Arrival:
    host: str
    event: str
    arrived: float
    answered: float = 0.0


@dataclass
class Receiver:
    """A real HTTP server in a thread: answers ``status`` after ``delay`` seconds."""

    delay: float = 0.0
    status: int = 204
    arrivals: list[Arrival] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                arrival = Arrival(
                    self.headers["Host"], self.headers["X-Scheduler-Event"], time.monotonic()
                )
                receiver.arrivals.append(arrival)
                time.sleep(receiver.delay)
                arrival.answered = time.monotonic()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receivers() -> Iterator[Any]:
    started: list[Receiver] = []

    def start(**options: Any) -> Receiver:
        receiver = Receiver(**options)
        threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.fixture(autouse=True)
async def only_this_test(db, clock):
    """The database is shared by a run's tests: forget other endpoints and the backlog."""
    clock.set(NOW)
    async with db() as session, session.begin():
        await session.execute(delete(WebhookEndpoint))
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None)).values(dispatched_at=NOW)
        )


@pytest.fixture
async def loopback_http() -> AsyncIterator[httpx.AsyncClient]:
    async with guarded_client(LOOPBACK, 5) as client:
        yield client


async def hook(client, tokens, partner: str, url: str) -> dict[str, Any]:
    body = {"url": url, "events": ["*"]}
    created: dict[str, Any] = ok(
        await client.post(WEBHOOKS, json=body, headers=tokens.partner(partner)), 201
    )
    return created


async def emit(db, partner: str, count: int) -> None:
    """``count`` events of the partner, none of a booking, so all are due at once."""
    async with db() as session, session.begin():
        outbox = OutboxRepository(session)
        for number in range(count):
            outbox.emit("draw.completed", {"draw": number}, NOW, partner_id=partner)


async def pump(db, now: datetime, http: httpx.AsyncClient, limits: DeliveryLimits) -> int:
    """One job run: fan out everything, then one delivery batch; returns attempts made."""
    while True:
        async with db() as session, session.begin():
            if not await DispatchService(session, limits).fan_out(now):
                break
    async with db() as session, session.begin():
        return await DispatchService(session, limits).deliver_due(now, http)


async def attempts(client, tokens, partner: str, hook_id: str) -> list[dict[str, Any]]:
    log = ok(await client.get(f"{WEBHOOKS}/{hook_id}/deliveries", headers=tokens.partner(partner)))
    return [attempt for item in log["items"] for attempt in item["attempts"]]


class Resolver:
    """DNS as an attacker controlling a name sets it: different answers over time."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


async def test_connect_time_guard_refuses_what_the_operator_did_not_allow(
    client, tokens, db, receivers
):
    receiver = receivers()
    partner = (await make_partner(client, tokens))["id"]
    created = await hook(client, tokens, partner, receiver.url)
    await emit(db, partner, 1)
    async with guarded_client(STRICT, 5) as strict:
        assert await pump(db, NOW, strict, DeliveryLimits()) == 1
    assert receiver.arrivals == [], "nothing reaches 127.0.0.1 without the allow-list"
    [attempt] = await attempts(client, tokens, partner, created["id"])
    assert attempt == {"at": NOW_TEXT, "status_code": None, "error": "no HTTP response"}


async def test_a_rebound_name_is_refused_and_a_checked_address_is_the_one_connected_to(
    client, tokens, db, receivers
):
    receiver = receivers()
    partner = (await make_partner(client, tokens))["id"]
    url = f"http://hooks.partner.example:{receiver.port}/hook"
    created = await hook(client, tokens, partner, url)  # a public-looking name: accepted
    await emit(db, partner, 1)
    limits = DeliveryLimits()
    rebinding = Resolver(["127.0.0.1"])
    async with guarded_client(STRICT, 5, rebinding) as http:
        assert await pump(db, NOW, http, limits) == 1
    mixed = Resolver(["93.184.216.34", "127.0.0.1"])
    async with guarded_client(STRICT, 5, mixed) as http:
        assert await pump(db, NOW + timedelta(seconds=20), http, limits) == 1
    assert receiver.arrivals == [] and rebinding.asked == mixed.asked == ["hooks.partner.example"]

    # Allowed, the name is connected to at the address checked, and keeps its Host header.
    pinned = Resolver(["127.0.0.1"])
    async with guarded_client(LOOPBACK, 5, pinned) as http:
        assert await pump(db, NOW + timedelta(seconds=60), http, limits) == 1
    [arrival] = receiver.arrivals
    assert arrival.host == f"hooks.partner.example:{receiver.port}"
    log = await attempts(client, tokens, partner, created["id"])
    assert [(a["status_code"], a["error"]) for a in log] == [
        (None, "no HTTP response"),
        (None, "no HTTP response"),
        (204, None),
    ]


async def test_the_partners_log_has_no_transport_error_text_or_timing(
    client, tokens, db, loopback_http
):
    partner = (await make_partner(client, tokens))["id"]
    closed = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: connection refused
    created = await hook(client, tokens, partner, closed)
    await emit(db, partner, 1)
    assert await pump(db, NOW, loopback_http, DeliveryLimits()) == 1
    log = ok(
        await client.get(f"{WEBHOOKS}/{created['id']}/deliveries", headers=tokens.partner(partner))
    )
    [delivery] = log["items"]
    assert (delivery["last_status_code"], delivery["last_error"]) == (None, "no HTTP response")
    assert delivery["attempts"] == [
        {"at": NOW_TEXT, "status_code": None, "error": "no HTTP response"}
    ]


async def test_a_slow_receiver_does_not_delay_another_partners_delivery(
    client, tokens, db, receivers, loopback_http
):
    slow, fast = receivers(delay=2.0), receivers()
    slow_partner, fast_partner = [(await make_partner(client, tokens))["id"] for _ in range(2)]
    await hook(client, tokens, slow_partner, slow.url)
    await hook(client, tokens, fast_partner, fast.url)
    await emit(db, slow_partner, 12)  # older events, ahead of the fast partner's in the batch
    await emit(db, fast_partner, 1)
    limits = DeliveryLimits(concurrency=2, budget_seconds=1.0)

    started = time.monotonic()
    attempted = await pump(db, NOW, loopback_http, limits)
    elapsed = time.monotonic() - started

    [fast_arrival] = fast.arrivals
    assert fast_arrival.arrived < min(a.answered or float("inf") for a in slow.arrivals)
    assert len(slow.arrivals) == 2, "the slow endpoint has two requests in flight at most"
    assert attempted == 3, "the slow endpoint's other ten wait, untried, for a later batch"
    # Two rounds of 2 s at the old shared limit of ten; now the slow endpoint's 1 s budget.
    assert elapsed < 3.5, elapsed


async def test_an_endpoint_that_keeps_failing_is_disabled_announced_and_can_be_enabled(
    client, tokens, db, receivers, loopback_http
):
    failing, healthy = receivers(status=500), receivers()
    partner = (await make_partner(client, tokens))["id"]
    headers = tokens.partner(partner)
    broken = await hook(client, tokens, partner, failing.url)
    other = await hook(client, tokens, partner, healthy.url)
    limits = DeliveryLimits(disable_after=3)

    await emit(db, partner, 2)
    assert await pump(db, NOW, loopback_http, limits) == 4
    failing.status = 204  # one success starts the count over
    await emit(db, partner, 1)
    now = NOW + timedelta(seconds=20)
    await pump(db, now, loopback_http, limits)
    shown = ok(await client.get(f"{WEBHOOKS}/{broken['id']}", headers=headers))
    assert (shown["active"], shown["consecutive_failures"]) == (True, 0)

    failing.status = 500
    await emit(db, partner, 3)
    now += timedelta(seconds=20)
    await pump(db, now, loopback_http, limits)
    shown = ok(await client.get(f"{WEBHOOKS}/{broken['id']}", headers=headers))
    assert (shown["active"], shown["consecutive_failures"]) == (False, 3)
    assert shown["disabled_at"] == now.isoformat().replace("+00:00", "Z")
    async with db() as session:
        [payload] = await session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.type == "webhook.disabled")
        )
    assert (payload["webhook_id"], payload["partner_id"]) == (broken["id"], partner)

    tried = len(failing.arrivals)
    await emit(db, partner, 1)
    now += timedelta(hours=2)
    await pump(db, now, loopback_http, limits)
    assert len(failing.arrivals) == tried, "nothing is sent to a disabled endpoint"
    assert "webhook.disabled" in [a.event for a in healthy.arrivals], "the partner hears of it"
    metrics = (await client.get("/metrics")).text
    assert "scheduler_webhooks_disabled_total" in metrics

    enabled = ok(await client.post(f"{WEBHOOKS}/{broken['id']}/enable", headers=headers))
    assert (enabled["active"], enabled["consecutive_failures"], enabled["disabled_at"]) == (
        True,
        0,
        None,
    )
    failing.status = 204
    assert await pump(db, now, loopback_http, limits) >= 3, "its pending deliveries resume"
    assert len(failing.arrivals) > tried
    assert other["active"] is True
