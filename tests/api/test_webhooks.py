"""Webhook endpoints through HTTP: registration, validation, ownership, partner filtering of
events, and the delivery log. Receivers here are httpx mock transports (a real receiver is
exercised in tests/integration/test_webhook_delivery.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from scheduler.outbox.repositories import OutboxRepository
from scheduler.webhooks.dispatch import DispatchService
from tests.support.builders import assert_problem, book, make_partner, make_resource, make_window
from tests.support.builders import ok as expect

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
URL = "http://127.0.0.1:9/hooks/scheduler"  # the discard port: never a real network call
WEBHOOKS = "/api/v1/webhooks"


@pytest.fixture(autouse=True)
def at_eight(clock):
    clock.set(NOW)
    return clock


async def register(client, headers: dict[str, str], **body: Any) -> httpx.Response:
    response: httpx.Response = await client.post(
        WEBHOOKS, json={"url": URL, "events": ["*"], **body}, headers=headers
    )
    return response


async def drain(db, now: datetime, answer: Any = None) -> None:
    """Fan out every pending event, then deliver through a mock receiver answering ``answer``."""
    transport = httpx.MockTransport(answer or (lambda request: httpx.Response(204)))
    async with httpx.AsyncClient(transport=transport) as http:
        for step in ("fan_out", "deliver_due"):
            while True:
                async with db() as session, session.begin():
                    service = DispatchService(session)
                    done = await (
                        service.fan_out(now)
                        if step == "fan_out"
                        else service.deliver_due(now, http)
                    )
                if not done:
                    break


async def deliveries(client, hook_id: str, headers: dict[str, str], **params: Any) -> Any:
    return expect(
        await client.get(f"{WEBHOOKS}/{hook_id}/deliveries", params=params, headers=headers)
    )


async def test_registration_shows_the_secret_once(client, tokens):
    partner = (await make_partner(client, tokens))["id"]
    headers = tokens.partner(partner)
    created = expect(
        await register(client, headers, events=["booking.created", "booking.created"]), 201
    )
    assert len(created["secret"]) >= 43 and created["events"] == ["booking.created"]
    assert (created["partner_id"], created["active"], created["url"]) == (partner, True, URL)
    shown = expect(await client.get(f"{WEBHOOKS}/{created['id']}", headers=headers))
    assert "secret" not in shown and shown["id"] == created["id"]
    listed = expect(await client.get(WEBHOOKS, headers=headers))
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert "secret" not in listed["items"][0]
    again = expect(await register(client, headers), 201)
    assert again["secret"] != created["secret"]


async def test_a_staff_endpoint_is_for_every_partner(client, tokens):
    created = expect(await register(client, tokens.staff(), events=["draw.completed", "*"]), 201)
    assert (created["partner_id"], created["events"]) == (None, ["*"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.org/hook"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "http://"}, "url"),
        ({"url": "http://host:99999/x"}, "url"),
        ({"url": "https://example.org/" + "a" * 2000}, "url"),
        ({"events": []}, "events"),
        ({"events": ["booking.completed"]}, "events"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_invalid_registrations_are_refused(client, tokens, body, field):
    problem = assert_problem(
        await register(client, tokens.staff(), **body), 422, "validation_error"
    )
    assert problem["errors"][0]["field"].startswith(field), problem


async def test_residents_have_no_webhooks(client, tokens):
    assert_problem(await register(client, tokens.resident()), 403, "forbidden")
    assert_problem(await client.get(WEBHOOKS, headers=tokens.resident()), 403, "forbidden")
    assert_problem(await register(client, {}), 401, "unauthenticated")


async def test_only_the_owning_partner_and_staff_see_an_endpoint(client, tokens):
    owner, stranger = [(await make_partner(client, tokens))["id"] for _ in range(2)]
    hook = expect(await register(client, tokens.partner(owner)), 201)["id"]
    colleague = tokens.partner(owner, sub="another-manager")
    for headers in (colleague, tokens.staff(), tokens.admin()):
        expect(await client.get(f"{WEBHOOKS}/{hook}", headers=headers))
    for path in (f"{WEBHOOKS}/{hook}", f"{WEBHOOKS}/{hook}/deliveries"):
        assert_problem(await client.get(path, headers=tokens.partner(stranger)), 404, "not_found")
    strangers = expect(await client.get(WEBHOOKS, headers=tokens.partner(stranger)))
    assert strangers["items"] == [] and strangers["total"] == 0
    everyone = expect(await client.get(WEBHOOKS, params={"limit": 200}, headers=tokens.staff()))
    assert hook in {item["id"] for item in everyone["items"]}

    denied = await client.delete(f"{WEBHOOKS}/{hook}", headers=tokens.partner(stranger))
    assert_problem(denied, 404, "not_found")
    assert (await client.delete(f"{WEBHOOKS}/{hook}", headers=colleague)).status_code == 204
    gone = await client.get(f"{WEBHOOKS}/{hook}", headers=tokens.staff())
    assert_problem(gone, 404, "not_found")


async def test_partners_receive_only_their_own_resources_events(client, tokens, db):
    mine, theirs = [(await make_partner(client, tokens))["id"] for _ in range(2)]
    hook = expect(await register(client, tokens.partner(mine)), 201)["id"]
    staff_hook = expect(await register(client, tokens.staff(), events=["booking.created"]), 201)[
        "id"
    ]
    booked: dict[str, str] = {}
    for partner in (mine, theirs):
        resource = await make_resource(client, tokens, partner, capacity=10)
        await make_window(
            client, tokens, resource["id"], start_time="00:00", end_time="24:00", audience="public"
        )
        start = NOW + timedelta(hours=3)
        times = (start.isoformat(), (start + timedelta(hours=1)).isoformat())
        booked[partner] = expect(
            await book(client, tokens.resident(), resource["id"], *times), 201
        )["id"]
    async with db() as session, session.begin():
        outbox = OutboxRepository(session)
        for partner in (mine, theirs):
            outbox.emit("draw.completed", {"draw_id": partner}, NOW, partner_id=partner)
            outbox.emit("booking.completed", {"id": booked[partner]}, NOW, partner_id=partner)
    await drain(db, NOW)

    log = await deliveries(client, hook, tokens.partner(mine), limit=200)
    assert sorted(item["event_type"] for item in log["items"]) == [
        "booking.created",
        "draw.completed",
    ]
    staff_log = await deliveries(client, staff_hook, tokens.staff(), limit=200)
    assert {item["event_type"] for item in staff_log["items"]} == {"booking.created"}
    assert staff_log["total"] >= 2, "a staff endpoint hears about every partner's bookings"


async def test_every_attempt_is_in_the_delivery_log(client, tokens, db):
    partner = (await make_partner(client, tokens))["id"]
    headers = tokens.partner(partner)
    hook = expect(await register(client, headers, events=["booking.created"]), 201)["id"]
    resource = await make_resource(client, tokens, partner, capacity=10)
    await make_window(
        client, tokens, resource["id"], start_time="00:00", end_time="24:00", audience="public"
    )
    for hours in (4, 5):
        start = NOW + timedelta(hours=hours)
        times = (start.isoformat(), (start + timedelta(hours=1)).isoformat())
        expect(await book(client, tokens.resident(), resource["id"], *times), 201)

    def unavailable(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    await drain(db, NOW, unavailable)
    await drain(db, NOW + timedelta(seconds=20))
    log = await deliveries(client, hook, headers, limit=1)
    assert (log["total"], len(log["items"])) == (2, 1)
    newest = log["items"][0]
    assert newest["status"] == "delivered" and newest["delivered_at"] == "2026-12-01T00:00:20Z"
    assert [(a["status_code"], a["error"]) for a in newest["attempts"]] == [
        (503, "HTTP 503"),
        (204, None),
    ]
    older = (await deliveries(client, hook, headers, limit=1, offset=1))["items"][0]
    assert older["event_id"] < newest["event_id"]
    pending = await deliveries(client, hook, headers, status="pending")
    assert pending["items"] == []


async def test_a_disabled_endpoint_gets_nothing_until_enabled_again(client, tokens, db):
    """A pause chosen by the endpoint's managers: events meanwhile are not queued for it."""
    partner, other = [(await make_partner(client, tokens))["id"] for _ in range(2)]
    hook = expect(await register(client, tokens.partner(partner)), 201)["id"]
    paused = expect(
        await client.post(f"{WEBHOOKS}/{hook}/disable", headers=tokens.partner(partner))
    )
    assert paused["active"] is False and paused["disabled_at"].startswith("2026-12-01T00:00")
    again = expect(await client.post(f"{WEBHOOKS}/{hook}/disable", headers=tokens.staff()))
    assert again["disabled_at"] == paused["disabled_at"]  # already disabled: unchanged
    refused = await client.post(f"{WEBHOOKS}/{hook}/disable", headers=tokens.partner(other))
    assert_problem(refused, 404, "not_found")

    async def emit(draw_id: str) -> None:
        async with db() as session, session.begin():
            OutboxRepository(session).emit(
                "draw.completed", {"draw_id": draw_id}, NOW, partner_id=partner
            )
        await drain(db, NOW)

    await emit("while-paused")
    assert (await deliveries(client, hook, tokens.partner(partner)))["total"] == 0
    enabled = expect(
        await client.post(f"{WEBHOOKS}/{hook}/enable", headers=tokens.partner(partner))
    )
    assert enabled["active"] is True and enabled["disabled_at"] is None
    await emit("after")
    log = await deliveries(client, hook, tokens.partner(partner))
    assert log["total"] == 1 and log["items"][0]["status"] == "delivered"
