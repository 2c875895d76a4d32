"""Every booking state change is a webhook: lottery losers, waitlist offers and their lapse,
reminders and closures, delivered to a real HTTP receiver on 127.0.0.1 through the outbox,
with the clock and the duties moved by the test."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select, update

from scheduler.db.bookings import OutboxEvent, WebhookEndpoint
from scheduler.duties.repositories import DutyRepository
from scheduler.duties.services import DutyService
from tests.integration.test_webhook_delivery import (
    NOW,
    Receiver,
    open_resource,
    partner_with_hook,
    pump,
    slot,
)
from tests.support.builders import assert_problem, book, make_partner, ok, unique

RELEASE = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai: 8 December opens
DRAWN_SLOT = ("2026-12-08T19:00:00+08:00", "2026-12-08T20:00:00+08:00")


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
    """As in test_webhook_delivery: other tests' endpoints and outbox backlog are forgotten."""
    clock.set(NOW)
    async with db() as session, session.begin():
        await session.execute(delete(WebhookEndpoint))
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None)).values(dispatched_at=NOW)
        )


async def duty(db: Any, name: str, now: datetime, **options: Any) -> int:
    """One run of one duty, in its own transaction, as the job runner runs it."""
    async with db() as session, session.begin():
        count: int = await getattr(DutyService(session, **options), name)(now)
    return count


def received(server: Receiver, event_type: str) -> list[dict[str, Any]]:
    """The ``data`` of every delivery of ``event_type`` the receiver accepted."""
    return [
        r.json["data"] for r in server.requests if r.status < 300 and r.json["type"] == event_type
    ]


def assert_booking_view(data: dict[str, Any], resource_name: str) -> None:
    """The booking as the API shows it: the resource's name and local times included."""
    assert data["resource_name"] == resource_name
    assert data["local_start"].endswith("+08:00") and data["local_end"].endswith("+08:00")
    assert datetime.fromisoformat(data["local_start"]) == datetime.fromisoformat(data["starts_at"])
    assert datetime.fromisoformat(data["local_end"]) == datetime.fromisoformat(data["ends_at"])


async def test_every_lottery_loser_hears_not_selected(client, tokens, db, receiver, http):
    events = ["booking.not_selected", "booking.confirmed"]
    partner, hook = await partner_with_hook(client, tokens, receiver.url, events)
    assert hook["events"] == events
    release = {"days_ahead": 7, "at": "09:00"}
    resource = await open_resource(
        client, tokens, partner, capacity=2, allocation="lottery", release=release
    )
    entries = []
    for _ in range(5):
        entry = await book(client, tokens.resident(sub=unique("lot")), resource, *DRAWN_SLOT)
        assert (entry.status_code, entry.json()["status"]) == (202, "entered"), entry.text
        entries.append(entry.json()["id"])
    assert await duty(db, "draw_due", RELEASE) >= 1

    assert await pump(db, RELEASE, http) > 0
    losers = received(receiver, "booking.not_selected")
    winners = received(receiver, "booking.confirmed")
    assert len(losers) == 3 and len(winners) == 2
    assert {r.json["type"] for r in receiver.requests} == set(events), "only what it asked for"
    assert sorted(b["id"] for b in losers + winners) == sorted(entries)
    for data in losers:
        assert data["status"] == "not_selected" and data["draw_at"] == "2026-12-01T01:00:00Z"
        assert data["local_start"] == "2026-12-08T19:00:00+08:00"
        assert_booking_view(data, "400 m track")
    assert await pump(db, RELEASE + timedelta(hours=1), http) == 0, "nothing is sent twice"


async def test_a_waitlist_offer_and_its_lapse_are_sent(client, tokens, db, receiver, http):
    partner, _ = await partner_with_hook(client, tokens, receiver.url)
    resource = await open_resource(client, tokens, partner, capacity=1, offer_minutes=30)
    holder, waiting = tokens.resident(), tokens.resident()
    first = ok(await book(client, holder, resource, *slot(5)), 201)["id"]
    place = ok(await book(client, waiting, resource, *slot(5), waitlist=True), 202)["id"]
    ok(await client.post(f"/api/v1/bookings/{first}/cancel", headers=holder))
    offered_at = NOW + timedelta(minutes=1)
    assert await duty(db, "offer_waitlist", offered_at) >= 1

    await pump(db, offered_at, http)
    [offer] = received(receiver, "booking.offered")
    deadline = "2026-12-01T00:31:00Z"
    assert (offer["id"], offer["status"], offer["offer_expires_at"]) == (place, "offered", deadline)
    assert offer["offer"] == {
        "expires_at": deadline,
        "local_expires_at": "2026-12-01T08:31:00+08:00",
    }
    assert_booking_view(offer, "400 m track")

    await duty(db, "lapse_offers", NOW + timedelta(minutes=30))
    await pump(db, NOW + timedelta(minutes=30), http)
    assert received(receiver, "booking.lapsed") == [], "lapses only at the deadline"
    assert await duty(db, "lapse_offers", NOW + timedelta(minutes=31)) >= 1
    await pump(db, NOW + timedelta(minutes=31), http)
    [lapsed] = received(receiver, "booking.lapsed")
    assert (lapsed["id"], lapsed["status"], lapsed["offer_expires_at"]) == (
        place,
        "lapsed",
        deadline,
    )
    assert receiver.types_by_booking()[place] == [
        "booking.created",
        "booking.offered",
        "booking.lapsed",
    ]


async def test_a_reminder_is_sent_once_a_lead_before_the_start(client, tokens, db, receiver, http):
    partner, _ = await partner_with_hook(client, tokens, receiver.url)
    resource = await open_resource(client, tokens, partner, capacity=5)
    booking = ok(await book(client, tokens.resident(), resource, *slot(4)), 201)["id"]

    async def reminders() -> int:
        async with db() as session:
            query = select(func.count()).where(
                OutboxEvent.booking_id == booking, OutboxEvent.type == "booking.reminder"
            )
            return int(await session.scalar(query) or 0)

    # The resource sets no lead: the service's default (SCHEDULER_REMINDER_LEAD_MINUTES).
    await duty(db, "remind", NOW + timedelta(minutes=119), reminder_lead_minutes=120)
    assert await reminders() == 0
    due = NOW + timedelta(hours=2)
    # Two workers at once, then the duty again: one reminder in all.
    await asyncio.gather(*(duty(db, "remind", due, reminder_lead_minutes=120) for _ in range(2)))
    await duty(db, "remind", due + timedelta(minutes=5), reminder_lead_minutes=120)
    assert await reminders() == 1

    await pump(db, due, http)
    [reminder] = received(receiver, "booking.reminder")
    assert (reminder["id"], reminder["status"]) == (booking, "confirmed")
    assert reminder["reminder"] == {"lead_minutes": 120, "due_at": "2026-12-01T02:00:00Z"}
    assert_booking_view(reminder, "400 m track")
    shown = ok(await client.get(f"/api/v1/bookings/{booking}", headers=tokens.staff()))
    assert shown["version"] == reminder["version"], "a reminder changes nothing the booking shows"


async def test_reminder_leads_per_resource_off_and_after_downtime(client, tokens, db):
    partner = (await make_partner(client, tokens))["id"]
    own = await open_resource(client, tokens, partner, capacity=5, reminder_minutes=30)
    off = await open_resource(client, tokens, partner, capacity=5, reminder_minutes=0)
    resident = tokens.resident()
    soon = ok(await book(client, resident, own, *slot(1)), 201)["id"]
    later = ok(await book(client, resident, own, *slot(3)), 201)["id"]
    never = ok(await book(client, resident, off, *slot(1)), 201)["id"]

    async def reminded() -> set[str]:
        async with db() as session:
            query = select(OutboxEvent.booking_id).where(
                OutboxEvent.type == "booking.reminder",
                OutboxEvent.booking_id.in_([soon, later, never]),
            )
            return set(await session.scalars(query))

    # Down from before the first reminder was due until after its slot started: too late for
    # that one; the other, still ahead, follows its own 30-minute lead, not the default.
    await duty(db, "remind", NOW + timedelta(minutes=61))
    assert await reminded() == set()
    await duty(db, "remind", NOW + timedelta(minutes=149))
    assert await reminded() == set()
    await duty(db, "remind", NOW + timedelta(minutes=150))
    assert await reminded() == {later}


async def test_two_runs_cannot_both_record_one_reminder(client, tokens, db):
    resource = await open_resource(client, tokens, (await make_partner(client, tokens))["id"])
    booking = ok(await book(client, tokens.resident(), resource, *slot(1)), 201)["id"]
    async with db() as session, session.begin():
        assert await DutyRepository(session).mark_reminded(booking, NOW)
    async with db() as session, session.begin():
        assert not await DutyRepository(session).mark_reminded(booking, NOW)


async def test_a_closure_tells_every_booking_it_overlaps(client, tokens, db, receiver, http):
    partner, _ = await partner_with_hook(client, tokens, receiver.url)
    resource = await open_resource(client, tokens, partner, capacity=1)
    holder, waiting, elsewhere = tokens.resident(), tokens.resident(), tokens.resident()
    held = ok(await book(client, holder, resource, *slot(5)), 201)["id"]
    place = ok(await book(client, waiting, resource, *slot(5), waitlist=True), 202)["id"]
    untouched = ok(await book(client, elsewhere, resource, *slot(9)), 201)["id"]
    closures = f"/api/v1/resources/{resource}/closures"
    start, end = NOW + timedelta(hours=4), NOW + timedelta(hours=8)
    body = {"starts_at": start.isoformat(), "ends_at": end.isoformat(), "reason": "期末考试 exams"}
    refused = await client.post(
        closures, json={**body, "ends_at": start.isoformat()}, headers=tokens.partner(partner)
    )
    assert_problem(refused, 422, "validation_error")
    created = ok(await client.post(closures, json=body, headers=tokens.partner(partner)), 201)
    assert [b["id"] for b in created["affected_bookings"]] == [held]

    await pump(db, NOW, http)
    notices = received(receiver, "booking.affected_by_closure")
    assert sorted(n["id"] for n in notices) == sorted([held, place])
    for notice in notices:
        assert notice["closure"] == {
            "id": created["id"],
            "reason": "期末考试 exams",
            "starts_at": "2026-12-01T04:00:00Z",
            "ends_at": "2026-12-01T08:00:00Z",
            "local_start": "2026-12-01T12:00:00+08:00",
            "local_end": "2026-12-01T16:00:00+08:00",
        }
        assert_booking_view(notice, "400 m track")
    assert {n["id"]: n["status"] for n in notices} == {held: "confirmed", place: "waitlisted"}
    assert untouched not in {n["id"] for n in notices}

    ok(await client.post(f"/api/v1/bookings/{held}/cancel", headers=tokens.partner(partner)))
    await pump(db, NOW, http)
    assert receiver.types_by_booking()[held] == [
        "booking.created",
        "booking.affected_by_closure",
        "booking.cancelled",
    ]


async def test_booking_events_show_the_resource_and_local_times(client, tokens, db, receiver, http):
    partner, _ = await partner_with_hook(client, tokens, receiver.url)
    resource = await open_resource(client, tokens, partner, capacity=3)
    headers = tokens.resident()
    booking = ok(await book(client, headers, resource, *slot(6)), 201)
    ok(await client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=headers))
    await pump(db, NOW, http)
    [created] = received(receiver, "booking.created")
    [cancelled] = received(receiver, "booking.cancelled")
    shown = ok(await client.get(f"/api/v1/bookings/{booking['id']}", headers=headers))
    assert set(created) == set(shown), "the payload is the API's booking object"
    assert created == booking
    assert {key: cancelled[key] for key in ("resource_name", "local_start", "local_end")} == {
        "resource_name": "400 m track",
        "local_start": "2026-12-01T14:00:00+08:00",
        "local_end": "2026-12-01T15:00:00+08:00",
    }
