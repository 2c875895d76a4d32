"""Release timing, lotteries, early access, waitlists and the time-driven duties, with the
clock moved by the test instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from scheduler.core.lottery import Entry, select_winners
from scheduler.db.bookings import Booking, OutboxEvent
from scheduler.duties.services import DUTIES, DutyService
from tests.support.builders import (
    Tokens,
    assert_problem,
    availability,
    book,
    make_resource,
    make_window,
    ok,
    unique,
)

# A school court that opens 7 days ahead at 09:00 (Shanghai): slots on Tuesday 8 December
# are released on Tuesday 1 December at 09:00 = 01:00 UTC.
RELEASE = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
SLOT = ("2026-12-08T19:00:00+08:00", "2026-12-08T20:00:00+08:00")
SECOND = timedelta(seconds=1)


async def court(client, tokens: Tokens, **policy):
    resource = await make_resource(
        client, tokens, capacity=5, policy={"release": {"days_ahead": 7, "at": "09:00"}, **policy}
    )
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="21:00")
    return resource


async def run_duties(db, now: datetime) -> dict[str, int]:
    counts = {}
    for name in DUTIES:
        async with db() as session, session.begin():
            counts[name] = await getattr(DutyService(session), name)(now)
    return counts


async def test_refused_one_second_before_release_accepted_one_second_after(
    client, tokens: Tokens, clock
):
    resource = await court(client, tokens)
    clock.set(RELEASE - SECOND)
    problem = assert_problem(
        await book(client, tokens.resident(), resource["id"], *SLOT), 409, "not_released"
    )
    assert problem["releases_at"] == "2026-12-01T09:00:00+08:00"
    assert (await availability(client, tokens, resource["id"], *SLOT))[0][
        "status"
    ] == "not_released"
    clock.set(RELEASE + SECOND)
    assert (
        ok(await book(client, tokens.resident(), resource["id"], *SLOT), 201)["status"]
        == "confirmed"
    )


async def test_early_access_for_tagged_residents(client, tokens: Tokens, clock):
    resource = await court(
        client,
        tokens,
        release={
            "days_ahead": 7,
            "at": "09:00",
            "early_access": [{"tag": "elderly", "minutes": 60}],
        },
    )
    clock.set(RELEASE - timedelta(minutes=30))
    assert_problem(
        await book(client, tokens.resident(), resource["id"], *SLOT), 409, "not_released"
    )
    elder = tokens.resident(tags=["elderly"])
    assert ok(await book(client, elder, resource["id"], *SLOT), 201)["status"] == "confirmed"
    staff_tagged = unique("grandma")
    ok(await client.get("/api/v1/zones", headers=tokens.resident(sub=staff_tagged)))
    assert ok(
        await client.get(f"/api/v1/users/{staff_tagged}", headers=tokens.resident(sub=staff_tagged))
    )
    ok(await client.get("/api/v1/resources?limit=1", headers=tokens.resident(sub=staff_tagged)))
    ok(
        await client.patch(
            f"/api/v1/users/{staff_tagged}", json={"tags": ["elderly"]}, headers=tokens.staff()
        )
    )
    assert ok(await book(client, tokens.resident(sub=staff_tagged), resource["id"], *SLOT), 201)


async def test_lottery_thirty_entries_five_winners_replayable(client, tokens: Tokens, clock, db):
    resource = await court(client, tokens, allocation="lottery")
    clock.set(RELEASE - timedelta(days=1))
    residents = [tokens.resident(sub=unique("lot")) for _ in range(30)]
    entries = []
    for headers in residents:
        response = await book(client, headers, resource["id"], *SLOT)
        assert response.status_code == 202, response.text
        entries.append(response.json())
    assert {e["status"] for e in entries} == {"entered"} and entries[0][
        "draw_at"
    ] == "2026-12-01T01:00:00Z"
    assert_problem(await book(client, residents[0], resource["id"], *SLOT), 409, "duplicate_entry")
    assert (await availability(client, tokens, resource["id"], *SLOT))[0]["held"] == 0

    clock.set(RELEASE)
    first = await run_duties(db, RELEASE)
    again = await run_duties(db, RELEASE)
    assert first["draw_due"] >= 1 and again == dict.fromkeys(again, 0)

    draws = ok(
        await client.get(f"/api/v1/resources/{resource['id']}/draws", headers=tokens.resident())
    )
    assert len(draws) == 1
    draw = ok(
        await client.get(
            f"/api/v1/resources/{resource['id']}/draws/{draws[0]['id']}", headers=tokens.staff()
        )
    )
    assert len(draw["winners"]) == 5 and sorted(draw["entries"]) == sorted(e["id"] for e in entries)
    replay = select_winners(
        [
            Entry(e["id"], e["holder"]["sub"], 1, (datetime.fromisoformat(e["starts_at"]),))
            for e in entries
        ],
        draw["seed"],
        {datetime(2026, 12, 8, 11, tzinfo=UTC): 5},
    )
    assert replay == draw["winners"]
    async with db() as session:
        rows = {
            b.id: b
            for b in await session.scalars(
                select(Booking).where(Booking.resource_id == resource["id"])
            )
        }
    assert {rows[w].status for w in draw["winners"]} == {"confirmed"}
    assert sum(1 for b in rows.values() if b.status == "not_selected") == 25
    assert len({rows[w].holder_id for w in draw["winners"]}) == 5
    assert (await availability(client, tokens, resource["id"], *SLOT))[0]["held"] == 5
    assert_problem(await book(client, tokens.resident(), resource["id"], *SLOT), 409, "capacity")


async def test_lottery_leftovers_go_first_come_first_served(client, tokens: Tokens, clock):
    resource = await court(client, tokens, allocation="lottery")
    clock.set(RELEASE - timedelta(hours=1))
    for _ in range(2):
        assert (await book(client, tokens.resident(), resource["id"], *SLOT)).status_code == 202
    clock.set(RELEASE + SECOND)
    # No job has run yet: the first booking after release draws inline before taking its place.
    assert (
        ok(await book(client, tokens.resident(), resource["id"], *SLOT), 201)["status"]
        == "confirmed"
    )
    slots = await availability(client, tokens, resource["id"], *SLOT)
    assert slots[0]["held"] == 3


async def test_waitlist_offer_accept_and_lapse(client, tokens: Tokens, clock, db):
    clock.set(RELEASE + SECOND)
    resource = await court(client, tokens, offer_minutes=20)
    holders = [tokens.resident(sub=unique("w")) for _ in range(5)]
    booked = [ok(await book(client, h, resource["id"], *SLOT), 201) for h in holders]
    first, second = tokens.resident(sub=unique("first")), tokens.resident(sub=unique("second"))
    waiting = await book(client, first, resource["id"], *SLOT, waitlist=True)
    assert (waiting.status_code, waiting.json()["status"]) == (202, "waitlisted")
    later = ok(await book(client, second, resource["id"], *SLOT, waitlist=True), 202)
    assert_problem(
        await book(client, first, resource["id"], *SLOT, waitlist=True), 409, "duplicate_entry"
    )

    ok(await client.post(f"/api/v1/bookings/{booked[0]['id']}/cancel", headers=holders[0]))
    now = RELEASE + timedelta(minutes=5)
    assert (await run_duties(db, now))["offer_waitlist"] >= 1
    offer = ok(await client.get(f"/api/v1/bookings/{waiting.json()['id']}", headers=first))
    assert offer["status"] == "offered" and offer["offer_expires_at"] == "2026-12-01T01:25:00Z"
    assert (
        ok(await client.get(f"/api/v1/bookings/{later['id']}", headers=second))["status"]
        == "waitlisted"
    )
    assert (await run_duties(db, now)) == dict.fromkeys(DUTIES, 0)

    ok(await client.post(f"/api/v1/bookings/{booked[1]['id']}/cancel", headers=holders[1]))
    clock.set(now)
    accepted = ok(await client.post(f"/api/v1/bookings/{offer['id']}/accept", headers=first))
    assert accepted["status"] == "confirmed"
    await run_duties(db, now)
    second_offer = ok(await client.get(f"/api/v1/bookings/{later['id']}", headers=second))
    assert second_offer["status"] == "offered"
    lapse_at = RELEASE + timedelta(minutes=30)
    await run_duties(db, lapse_at)
    assert (
        ok(await client.get(f"/api/v1/bookings/{later['id']}", headers=second))["status"]
        == "lapsed"
    )
    assert (await availability(client, tokens, resource["id"], *SLOT))[0]["held"] == 4


async def test_pending_bookings_expire(client, tokens: Tokens, clock, db):
    clock.set(RELEASE + SECOND)
    resource = await court(client, tokens, approval="staff", pending_expiry_minutes=60)
    pending = ok(await book(client, tokens.resident(), resource["id"], *SLOT), 201)
    await run_duties(db, RELEASE + timedelta(minutes=59))
    still = ok(await client.get(f"/api/v1/bookings/{pending['id']}", headers=tokens.staff()))
    assert still["status"] == "pending"
    await run_duties(db, RELEASE + timedelta(minutes=61))
    expired = ok(await client.get(f"/api/v1/bookings/{pending['id']}", headers=tokens.staff()))
    assert expired["status"] == "expired"
    assert (await availability(client, tokens, resource["id"], *SLOT))[0]["held"] == 0
    assert (await run_duties(db, RELEASE + timedelta(minutes=61))) == dict.fromkeys(DUTIES, 0)


async def test_no_shows_suspend_and_the_suspension_lifts(client, tokens: Tokens, clock, db):
    clock.set(RELEASE + SECOND)
    resource = await court(
        client,
        tokens,
        check_in_required=True,
        no_show={"limit": 3, "window_days": 30, "suspend_days": 14},
    )
    sub = unique("absent")
    me = tokens.resident(sub=sub)
    slots = [
        ("2026-12-08T18:00:00+08:00", "2026-12-08T19:00:00+08:00"),
        SLOT,
        ("2026-12-08T20:00:00+08:00", "2026-12-08T21:00:00+08:00"),
    ]
    made = [ok(await book(client, me, resource["id"], *s), 201) for s in slots]
    clock.set(datetime(2026, 12, 8, 9, 50, tzinfo=UTC))  # 17:50, ten minutes before the first
    checked = await client.post(f"/api/v1/bookings/{made[0]['id']}/check-in", headers=me)
    assert checked.status_code == 200, checked.text
    after = datetime(2026, 12, 8, 13, 30, tzinfo=UTC)
    await run_duties(db, after)
    statuses = [
        ok(await client.get(f"/api/v1/bookings/{b['id']}", headers=me))["status"] for b in made
    ]
    assert statuses == ["completed", "no_show", "no_show"]
    record = ok(await client.get(f"/api/v1/users/{sub}", headers=tokens.staff()))
    assert record["suspended_until"] is None
    more = ("2026-12-09T18:00:00+08:00", "2026-12-09T19:00:00+08:00")
    clock.set(RELEASE + timedelta(days=1, seconds=1))
    third = ok(await book(client, me, resource["id"], *more), 201)
    await run_duties(db, datetime(2026, 12, 9, 12, tzinfo=UTC))
    assert (
        ok(await client.get(f"/api/v1/bookings/{third['id']}", headers=me))["status"] == "no_show"
    )
    clock.set(datetime(2026, 12, 9, 12, 5, tzinfo=UTC))
    nxt = ("2026-12-10T18:00:00+08:00", "2026-12-10T19:00:00+08:00")
    problem = assert_problem(await book(client, me, resource["id"], *nxt), 403, "suspended")
    assert problem["suspended_until"].startswith("2026-12-23")
    clock.set(datetime(2026, 12, 23, 12, 6, tzinfo=UTC))  # fourteen days later it has lifted
    late = ("2026-12-24T18:00:00+08:00", "2026-12-24T19:00:00+08:00")
    assert ok(await book(client, me, resource["id"], *late), 201)
    clock.set(datetime(2026, 12, 9, 12, 5, tzinfo=UTC))
    assert (
        await client.delete(f"/api/v1/users/{sub}/suspension", headers=tokens.staff())
    ).status_code == 204
    assert ok(await book(client, me, resource["id"], *nxt), 201)


async def test_reminders_are_emitted_once(client, tokens: Tokens, clock, db):
    clock.set(RELEASE + SECOND)
    resource = await court(client, tokens, reminder_minutes=120)
    booking = ok(await book(client, tokens.resident(), resource["id"], *SLOT), 201)

    async def reminders() -> list[OutboxEvent]:
        async with db() as session:
            query = select(OutboxEvent).where(
                OutboxEvent.booking_id == booking["id"], OutboxEvent.type == "booking.reminder"
            )
            return list(await session.scalars(query))

    await run_duties(db, datetime(2026, 12, 8, 8, 59, tzinfo=UTC))
    assert await reminders() == []
    at = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    await run_duties(db, at)
    await run_duties(db, at)
    assert len(await reminders()) == 1


async def test_an_inline_draw_is_kept_when_the_request_that_ran_it_is_refused(
    client, tokens: Tokens, clock
):
    resource = await court(client, tokens, allocation="lottery")
    ok(
        await client.patch(
            f"/api/v1/resources/{resource['id']}", json={"capacity": 2}, headers=tokens.staff()
        )
    )
    clock.set(RELEASE - timedelta(hours=1))
    for _ in range(4):
        assert (await book(client, tokens.resident(), resource["id"], *SLOT)).status_code == 202
    clock.set(RELEASE + SECOND)
    assert_problem(await book(client, tokens.resident(), resource["id"], *SLOT), 409, "capacity")
    draws = ok(
        await client.get(f"/api/v1/resources/{resource['id']}/draws", headers=tokens.staff())
    )
    assert len(draws) == 1 and len(draws[0]["winners"]) == 2
    assert (await availability(client, tokens, resource["id"], *SLOT))[0]["held"] == 2


async def test_an_entry_committed_after_its_draw_is_not_left_waiting(
    client, tokens: Tokens, clock, db
):
    resource = await court(client, tokens, allocation="lottery")
    clock.set(RELEASE - timedelta(hours=1))
    ok(await book(client, tokens.resident(), resource["id"], *SLOT), 202)
    late = ok(await book(client, tokens.resident(), resource["id"], *SLOT), 202)
    async with db() as session, session.begin():
        row = await session.get(Booking, late["id"])
        row.status = "cancelled"  # hide it from the draw, as if not yet committed
    await run_duties(db, RELEASE)
    async with db() as session, session.begin():
        row = await session.get(Booking, late["id"])
        row.status = "entered"  # ...and now it commits, after the draw
    await run_duties(db, RELEASE + SECOND)
    assert (
        ok(await client.get(f"/api/v1/bookings/{late['id']}", headers=tokens.staff()))["status"]
        == "not_selected"
    )


async def test_a_winner_awaiting_approval_gets_the_full_decision_time(
    client, tokens: Tokens, clock, db
):
    resource = await court(
        client, tokens, allocation="lottery", approval="staff", pending_expiry_minutes=60
    )
    clock.set(RELEASE - timedelta(days=2))
    entry = ok(await book(client, tokens.resident(), resource["id"], *SLOT), 202)
    await run_duties(db, RELEASE)
    assert (
        ok(await client.get(f"/api/v1/bookings/{entry['id']}", headers=tokens.staff()))["status"]
        == "pending"
    )
    await run_duties(db, RELEASE + timedelta(minutes=59))
    assert (
        ok(await client.get(f"/api/v1/bookings/{entry['id']}", headers=tokens.staff()))["status"]
        == "pending"
    )
    await run_duties(db, RELEASE + timedelta(minutes=61))
    assert (
        ok(await client.get(f"/api/v1/bookings/{entry['id']}", headers=tokens.staff()))["status"]
        == "expired"
    )


async def test_a_winner_in_a_group_is_withdrawn_from_the_groups_other_draws(
    client, tokens: Tokens, clock, db
):
    grounds = [await court(client, tokens, allocation="lottery") for _ in range(2)]
    group = {
        "id": unique("grounds"),
        "name": "School grounds",
        "resource_ids": [ground["id"] for ground in grounds],
        "max_bookings": 1,
        "max_entries": 2,
    }
    ok(await client.post("/api/v1/resource-groups", json=group, headers=tokens.staff()), 201)
    clock.set(RELEASE - timedelta(days=1))
    keen = tokens.resident(sub=unique("keen"))
    entries = [ok(await book(client, keen, ground["id"], *SLOT), 202) for ground in grounds]

    clock.set(RELEASE)
    await run_duties(db, RELEASE)
    statuses = [
        ok(await client.get(f"/api/v1/bookings/{entry['id']}", headers=keen))["status"]
        for entry in entries
    ]
    assert sorted(statuses) == ["confirmed", "not_selected"]
    lost = entries[statuses.index("not_selected")]
    draws = ok(await client.get(f"/api/v1/resources/{lost['resource_id']}/draws", headers=keen))
    assert draws[0]["withdrawn"] == [lost["id"]] and draws[0]["winners"] == []
    history = ok(await client.get(f"/api/v1/bookings/{lost['id']}/history", headers=keen))
    assert "withdrawn" in history[-1]["reason"]
