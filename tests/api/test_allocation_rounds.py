"""A seasonal allocation round through HTTP: two school grounds for the autumn term, three
clubs competing for Tuesday 18:00, a fair replayable allocation, and the term's series booked
at once beyond the ordinary horizon."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from scheduler.allocation.confirmation import ConfirmationService
from scheduler.auth.tokens import Principal
from scheduler.core.lottery import draw_order
from scheduler.db.allocation import AllocationApplication, AllocationRound
from scheduler.db.bookings import Booking, OutboxEvent
from scheduler.errors import RoundStateConflict
from tests.api.test_webhooks import drain
from tests.support.builders import (
    Tokens,
    assert_problem,
    availability,
    book,
    make_partner,
    make_resource,
    make_window,
    ok,
    unique,
)

HOOK_URL = "http://127.0.0.1:9/hooks/scheduler"  # the discard port: never a real call
NOW = datetime(2026, 8, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, before the autumn term
ROUNDS = "/api/v1/allocation-rounds"


@pytest.fixture
def august(clock):
    clock.set(NOW)
    return clock


async def ground(client, tokens: Tokens, partner_id: str, name: str) -> str:
    resource = await make_resource(
        client,
        tokens,
        partner_id,
        name=name,
        kind="sports_field",
        capacity=1,
        policy={"horizon_days": 14},
    )
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="21:00")
    return str(resource["id"])


async def count(db, model, *where) -> int:
    async with db() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


def tuesday(resource_id: str, priority: int, starts: str = "18:00", ends: str = "20:00"):
    return {
        "resource_id": resource_id,
        "weekday": "tuesday",
        "starts_local": starts,
        "ends_local": ends,
        "priority": priority,
    }


async def test_a_term_allocated_fairly_and_booked_at_once(client, tokens: Tokens, db, august):
    staff = tokens.staff()
    school = (await make_partner(client, tokens))["id"]
    other_school = (await make_partner(client, tokens, name="浦东中学 Pudong Middle"))["id"]
    court_a = await ground(client, tokens, school, "Basketball court A")
    court_b = await ground(client, tokens, other_school, "Basketball court B")
    term = ok(
        await client.post(
            f"/api/v1/partners/{school}/terms",
            json={"name": "Autumn 2026", "starts_on": "2026-09-01", "ends_on": "2026-12-15"},
            headers=staff,
        ),
        201,
    )
    ok(
        await client.post(
            f"/api/v1/resources/{court_a}/closures",
            json={
                "starts_at": "2026-10-13T00:00:00+08:00",
                "ends_at": "2026-10-14T00:00:00+08:00",
                "reason": "期中考试 mid-term exams",
            },
            headers=staff,
        ),
        201,
    )
    neighbour = tokens.resident(sub=unique("neighbour"))
    ok(
        await book(
            client, neighbour, court_b, "2026-09-01T19:00:00+08:00", "2026-09-01T20:00:00+08:00"
        ),
        201,
    )

    body = {
        "name": "Autumn term clubs",
        "resource_ids": [court_a, court_b],
        "school_term_id": term["id"],
        "applications_open_at": NOW.isoformat(),
        "applications_close_at": (NOW + timedelta(days=5)).isoformat(),
    }
    created = ok(await client.post(ROUNDS, json=body, headers=staff), 201)
    round_id = created["id"]
    assert (created["state"], created["season_starts_on"], created["season_ends_on"]) == (
        "draft",
        "2026-09-01",
        "2026-12-15",
    )
    clubs = {name: tokens.resident(sub=unique(name)) for name in ("dragons", "eagles", "tigers")}
    application = {
        "organisation": "",
        "contact_name": "李老师",
        "contact_phone": "13800000000",
        "slots": [tuesday(court_a, 1), tuesday(court_b, 2)],
    }
    # A draft is invisible to residents.
    assert_problem(
        await client.get(f"{ROUNDS}/{round_id}", headers=clubs["dragons"]), 404, "not_found"
    )
    opened = ok(await client.post(f"{ROUNDS}/{round_id}/open", headers=staff))
    assert opened["state"] == "open"
    again = assert_problem(
        await client.post(f"{ROUNDS}/{round_id}/open", headers=staff), 409, "round_state_conflict"
    )
    assert again["allowed_from"] == ["draft"]

    applications = {}
    for name, headers in clubs.items():
        mine = {**application, "organisation": f"{name.title()} Basketball Club"}
        applications[name] = ok(
            await client.post(f"{ROUNDS}/{round_id}/applications", json=mine, headers=headers), 201
        )
    # One more club applies and withdraws while the round is open: it no longer competes.
    late = tokens.resident(sub=unique("late"))
    withdrawn = ok(
        await client.post(
            f"{ROUNDS}/{round_id}/applications",
            json={**application, "organisation": "Late Club"},
            headers=late,
        ),
        201,
    )
    gone = ok(
        await client.post(
            f"{ROUNDS}/{round_id}/applications/{withdrawn['id']}/withdraw", headers=late
        )
    )
    assert gone["status"] == "withdrawn"

    # A resident sees only their own application, never others' contact data.
    own = ok(await client.get(f"{ROUNDS}/{round_id}/applications", headers=clubs["dragons"]))
    assert [a["id"] for a in own] == [applications["dragons"]["id"]]
    other = applications["eagles"]["id"]
    assert_problem(
        await client.get(f"{ROUNDS}/{round_id}/applications/{other}", headers=clubs["dragons"]),
        404,
        "not_found",
    )
    assert_problem(
        await client.get(f"{ROUNDS}/{round_id}/competition", headers=clubs["dragons"]),
        403,
        "forbidden",
    )
    assert_problem(
        await client.post(
            f"{ROUNDS}/{round_id}/applications/{other}/withdraw", headers=clubs["dragons"]
        ),
        404,
        "not_found",
    )

    # Allocation waits for the application period to end.
    assert_problem(
        await client.post(f"{ROUNDS}/{round_id}/allocate", json={}, headers=staff),
        409,
        "round_state_conflict",
    )
    august.set(NOW + timedelta(days=6))
    closed = assert_problem(
        await client.post(
            f"{ROUNDS}/{round_id}/applications",
            json={**application, "organisation": "Too Late Club"},
            headers=tokens.resident(sub=unique("too-late")),
        ),
        409,
        "round_not_open",
    )
    assert closed["state"] == "closed"

    competition = ok(await client.get(f"{ROUNDS}/{round_id}/competition", headers=staff))
    assert [
        (c["resource_id"], c["weekday"], c["starts_local"], c["ends_local"]) for c in competition
    ] == sorted([(court_a, "tuesday", "18:00", "20:00"), (court_b, "tuesday", "18:00", "20:00")])
    for group in competition:
        assert (group["capacity"], group["requested"], group["oversubscribed"]) == (1, 3, True)
        assert {s["organisation"] for s in group["slots"]} == {
            "Dragons Basketball Club",
            "Eagles Basketball Club",
            "Tigers Basketball Club",
        }
        assert {s["contact"]["phone"] for s in group["slots"]} == {"13800000000"}

    first = ok(
        await client.post(
            f"{ROUNDS}/{round_id}/allocate", json={"seed": "autumn-2026"}, headers=staff
        )
    )
    replay = ok(
        await client.post(
            f"{ROUNDS}/{round_id}/allocate", json={"seed": "autumn-2026"}, headers=staff
        )
    )
    assert replay == first and first["seed"] == "autumn-2026"
    applicant_of = {applications[n]["applicant"]: n for n in clubs}
    # The documented rule, recomputed from the recorded seed: priority 1 to the first drawn;
    # priority 2 to the first drawn among the clubs granted nothing yet.
    order_1 = draw_order(sorted(applicant_of), "autumn-2026:1")
    order_2 = draw_order(sorted(applicant_of), "autumn-2026:2")
    assert first["draws"] == {"1": order_1, "2": order_2}
    winner_a = applicant_of[order_1[0]]
    winner_b = applicant_of[next(a for a in order_2 if a != order_1[0])]
    granted = {
        (s["organisation"], s["priority"]) for s in first["steps"] if s["decision"] == "granted"
    }
    assert granted == {
        (f"{winner_a.title()} Basketball Club", 1),
        (f"{winner_b.title()} Basketball Club", 2),
    }

    # Until confirmation an applicant sees no decision: staff may still change it.
    provisional = ok(
        await client.get(
            f"{ROUNDS}/{round_id}/applications/{applications[winner_a]['id']}",
            headers=clubs[winner_a],
        )
    )
    assert {s["decision"] for s in provisional["slots"]} == {"pending"}

    # Staff cannot grant by hand what no longer fits.
    loser = next(n for n in clubs if n not in (winner_a, winner_b))
    loser_slot = applications[loser]["slots"][0]["id"]
    full = assert_problem(
        await client.put(
            f"{ROUNDS}/{round_id}/slots/{loser_slot}/decision",
            json={"decision": "granted"},
            headers=staff,
        ),
        409,
        "allocation_over_capacity",
    )
    assert len(full["granted_slot_ids"]) == 1

    confirmed = ok(await client.post(f"{ROUNDS}/{round_id}/confirm", headers=staff))
    assert confirmed["round"]["state"] == "allocated"
    by_resource = {s["resource_id"]: s for s in confirmed["slots"] if s["decision"] == "granted"}
    a, b = by_resource[court_a], by_resource[court_b]
    assert (a["booked"], a["refused"]) == (15, 1)  # the exam Tuesday is reported, not booked
    refused_a = next(o for o in a["occurrences"] if o["outcome"] == "refused")
    assert (refused_a["starts_at"], refused_a["problem"]["code"]) == (
        "2026-10-13T10:00:00Z",
        "closed",
    )
    assert (b["booked"], b["refused"]) == (15, 1)  # the neighbour keeps 1 September
    refused_b = next(o for o in b["occurrences"] if o["outcome"] == "refused")
    assert (refused_b["starts_at"], refused_b["problem"]["code"]) == (
        "2026-09-01T10:00:00Z",
        "capacity",
    )

    async with db() as session:
        season = list(
            await session.scalars(
                select(Booking)
                .where(Booking.series_id == a["series_id"])
                .order_by(Booking.starts_at)
            )
        )
    assert len(season) == 15 and {x.status for x in season} == {"confirmed"}
    assert season[-1].starts_at == datetime(2026, 12, 15, 10, 0, tzinfo=UTC)
    assert season[-1].starts_at > NOW + timedelta(days=60)  # far beyond the 14-day horizon
    assert season[0].holder_id == applications[winner_a]["applicant"]

    # The capacity is taken in the ledger: the court shows full on the club's Tuesdays.
    slots = await availability(client, tokens, court_a, "2026-09-08", "2026-09-09")
    evening = [s for s in slots if s["starts_at"].startswith("2026-09-08T18")]
    assert evening and evening[0]["available"] == 0

    assert (
        await count(
            db,
            OutboxEvent,
            OutboxEvent.type == "allocation.granted",
            OutboxEvent.payload["round_id"].as_string() == round_id,
        )
        == 2
    )
    assert (
        await count(
            db,
            OutboxEvent,
            OutboxEvent.type == "allocation.declined",
            OutboxEvent.payload["round_id"].as_string() == round_id,
        )
        == 4
    )

    mine = ok(
        await client.get(
            f"{ROUNDS}/{round_id}/applications/{applications[winner_a]['id']}",
            headers=clubs[winner_a],
        )
    )
    assert [(s["decision"], s["booked"]) for s in mine["slots"]] == [
        ("granted", 15),
        ("declined", 0),
    ]
    assert_problem(
        await client.post(f"{ROUNDS}/{round_id}/confirm", headers=staff),
        409,
        "round_state_conflict",
    )
    assert_problem(
        await client.post(f"{ROUNDS}/{round_id}/allocate", json={}, headers=staff),
        409,
        "round_state_conflict",
    )


async def test_bad_input_is_refused_and_writes_nothing(client, tokens: Tokens, db, august):
    staff = tokens.staff()
    court = await ground(client, tokens, (await make_partner(client, tokens))["id"], "Court")
    other_court = await ground(client, tokens, (await make_partner(client, tokens))["id"], "Other")
    rounds_before = await count(db, AllocationRound)
    base = {
        "name": "Spring clubs",
        "resource_ids": [court],
        "season_starts_on": "2027-02-20",
        "season_ends_on": "2027-06-30",
        "applications_open_at": NOW.isoformat(),
        "applications_close_at": (NOW + timedelta(days=5)).isoformat(),
    }
    for change, field in [
        ({"resource_ids": [court, "no-such-court"]}, "resource_ids.1"),
        ({"season_ends_on": "2027-01-01"}, "season_ends_on"),
        ({"applications_close_at": NOW.isoformat()}, "applications_close_at"),
        ({"school_term_id": "no-such-term"}, "school_term_id"),
        (
            {"season_starts_on": None, "season_ends_on": None, "school_term_id": "x"},
            "school_term_id",
        ),
    ]:
        problem = assert_problem(
            await client.post(ROUNDS, json={**base, **change}, headers=staff),
            422,
            "validation_error",
        )
        assert field in {e["field"] for e in problem["errors"]}, problem
    assert_problem(
        await client.post(ROUNDS, json={**base, "colour": "red"}, headers=staff),
        422,
        "validation_error",
    )
    assert_problem(
        await client.post(ROUNDS, json=base, headers=tokens.resident()), 403, "forbidden"
    )
    assert await count(db, AllocationRound) == rounds_before

    round_id = ok(await client.post(ROUNDS, json=base, headers=staff), 201)["id"]
    ok(await client.post(f"{ROUNDS}/{round_id}/open", headers=staff))
    club = tokens.resident(sub=unique("club"))
    good = {"organisation": "Chess Club", "contact_name": "王", "slots": [tuesday(court, 1)]}
    for slots, field in [
        ([tuesday(court, 1, "20:00", "18:00")], "slots.0.ends_local"),
        ([tuesday(other_court, 1)], "slots.0.resource_id"),
        ([tuesday(court, 1), tuesday(court, 1, "19:00", "20:00")], "slots.1.priority"),
    ]:
        problem = assert_problem(
            await client.post(
                f"{ROUNDS}/{round_id}/applications", json={**good, "slots": slots}, headers=club
            ),
            422,
            "validation_error",
        )
        assert field in {e["field"] for e in problem["errors"]}, problem
    bad_time = {**good, "slots": [{**tuesday(court, 1), "starts_local": "25:00"}]}
    assert_problem(
        await client.post(f"{ROUNDS}/{round_id}/applications", json=bad_time, headers=club),
        422,
        "validation_error",
    )
    assert_problem(
        await client.post(f"{ROUNDS}/{round_id}/applications", json=good, headers=staff),
        403,
        "forbidden",
    )
    assert await count(db, AllocationApplication, AllocationApplication.round_id == round_id) == 0
    ok(await client.post(f"{ROUNDS}/{round_id}/applications", json=good, headers=club), 201)
    assert await count(db, AllocationApplication, AllocationApplication.round_id == round_id) == 1


async def test_a_court_with_units_keeps_one_unit_for_the_season(client, tokens: Tokens, db, august):
    staff = tokens.staff()
    courts = await make_resource(
        client, tokens, capacity=None, units=["Court 1", "Court 2"], policy={"horizon_days": 7}
    )
    await make_window(client, tokens, courts["id"], start_time="18:00", end_time="21:00")
    neighbour = tokens.resident(sub=unique("neighbour"))
    held = await book(
        client,
        neighbour,
        courts["id"],
        "2026-08-25T18:00:00+08:00",
        "2026-08-25T19:00:00+08:00",
        unit="Court 1",
        unit_exact=True,
    )
    ok(held, 201)
    body = {
        "name": "Late summer",
        "resource_ids": [courts["id"]],
        "season_starts_on": "2026-08-24",
        "season_ends_on": "2026-10-31",
        "applications_open_at": NOW.isoformat(),
        "applications_close_at": (NOW + timedelta(days=2)).isoformat(),
    }
    round_id = ok(await client.post(ROUNDS, json=body, headers=staff), 201)["id"]
    ok(await client.post(f"{ROUNDS}/{round_id}/open", headers=staff))
    club = tokens.resident(sub=unique("club"))
    made = ok(
        await client.post(
            f"{ROUNDS}/{round_id}/applications",
            json={
                "organisation": "Volleyball Club",
                "contact_name": "赵",
                "slots": [tuesday(courts["id"], 1)],
            },
            headers=club,
        ),
        201,
    )
    ok(await client.post(f"{ROUNDS}/{round_id}/close", headers=staff))
    assert_problem(
        await client.post(f"{ROUNDS}/{round_id}/applications/{made['id']}/withdraw", headers=club),
        409,
        "round_not_open",
    )
    slot_id = made["slots"][0]["id"]
    decided = ok(
        await client.put(
            f"{ROUNDS}/{round_id}/slots/{slot_id}/decision",
            json={"decision": "granted", "reason": "the only applicant"},
            headers=staff,
        )
    )
    assert (decided["decision"], decided["decided_manually"]) == ("granted", True)
    school = tokens.partner(courts["partner_id"])
    hook = ok(
        await client.post(
            "/api/v1/webhooks",
            json={"url": HOOK_URL, "events": ["allocation.granted", "allocation.declined"]},
            headers=school,
        ),
        201,
    )
    confirmed = ok(await client.post(f"{ROUNDS}/{round_id}/confirm", headers=staff))
    await drain(db, NOW)
    log = ok(await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=school))
    assert [item["event_type"] for item in log["items"]] == ["allocation.granted"]
    (slot,) = confirmed["slots"]
    assert (slot["booked"], slot["refused"]) == (10, 0)  # 25 Aug to 27 Oct, ten Tuesdays
    assert {o["unit"] for o in slot["occurrences"]} == {"Court 2"}
    mine = ok(await client.get(f"{ROUNDS}/{round_id}/applications/{made['id']}", headers=club))
    assert (mine["slots"][0]["decision"], mine["slots"][0]["booked"]) == ("granted", 10)


async def test_two_staff_confirming_at_once_book_the_season_once(
    client, tokens: Tokens, db, august, db_kind
):
    """On PostgreSQL the second confirmation waits for the first on the round's row lock and
    then finds the round allocated (SQLite runs one writer at a time: BEGIN IMMEDIATE)."""
    if db_kind != "postgres":
        pytest.skip("SQLite transactions that write are serialized by BEGIN IMMEDIATE")
    staff = tokens.staff()
    partner = (await make_partner(client, tokens))["id"]
    court = await ground(client, tokens, partner, "Court")
    body = {
        "name": "Race",
        "resource_ids": [court],
        "season_starts_on": "2026-09-01",
        "season_ends_on": "2026-09-30",
        "applications_open_at": NOW.isoformat(),
        "applications_close_at": (NOW + timedelta(days=1)).isoformat(),
    }
    round_id = ok(await client.post(ROUNDS, json=body, headers=staff), 201)["id"]
    ok(await client.post(f"{ROUNDS}/{round_id}/open", headers=staff))
    ok(
        await client.post(
            f"{ROUNDS}/{round_id}/applications",
            json={"organisation": "Club", "contact_name": "周", "slots": [tuesday(court, 1)]},
            headers=tokens.resident(sub=unique("club")),
        ),
        201,
    )
    ok(await client.post(f"{ROUNDS}/{round_id}/close", headers=staff))
    ok(await client.post(f"{ROUNDS}/{round_id}/allocate", json={}, headers=staff))

    someone = Principal(sub="staff-test", role="staff")
    first, second, watcher = db(), db(), db()
    try:
        await ConfirmationService(first).confirm(round_id, someone, NOW)  # not committed yet
        racing = asyncio.create_task(ConfirmationService(second).confirm(round_id, someone, NOW))
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query LIKE '%allocation_rounds%FOR UPDATE%'"
        )
        for _ in range(2000):  # until the second one waits on the round's lock
            if await watcher.scalar(waiting) or racing.done():
                break
            await watcher.rollback()
        assert not racing.done(), "the second confirmation did not wait for the first"
        await first.commit()
        with pytest.raises(RoundStateConflict):
            await racing
    finally:
        for session in (first, second, watcher):
            await session.close()
    assert await count(db, Booking, Booking.resource_id == court) == 5  # Tuesdays of September


async def test_a_grant_on_a_resource_retired_since_is_declined(client, tokens: Tokens, db, august):
    staff = tokens.staff()
    court = await ground(client, tokens, (await make_partner(client, tokens))["id"], "Old court")
    body = {
        "name": "Retired",
        "resource_ids": [court],
        "season_starts_on": "2026-09-01",
        "season_ends_on": "2026-09-30",
        "applications_open_at": NOW.isoformat(),
        "applications_close_at": (NOW + timedelta(days=1)).isoformat(),
    }
    round_id = ok(await client.post(ROUNDS, json=body, headers=staff), 201)["id"]
    ok(await client.post(f"{ROUNDS}/{round_id}/open", headers=staff))
    application = {"organisation": "Club", "contact_name": "钱", "slots": [tuesday(court, 1)]}
    club = tokens.resident(sub=unique("club"))
    ok(await client.post(f"{ROUNDS}/{round_id}/applications", json=application, headers=club), 201)
    august.set(NOW + timedelta(days=2))  # the period ends: closed without a close request
    ok(await client.post(f"{ROUNDS}/{round_id}/allocate", json={"seed": "s"}, headers=staff))
    ok(await client.delete(f"/api/v1/resources/{court}", headers=staff), 204)
    confirmed = ok(await client.post(f"{ROUNDS}/{round_id}/confirm", headers=staff))
    (slot,) = confirmed["slots"]
    assert (slot["decision"], slot["series_id"], slot["booked"]) == ("declined", None, 0)
    assert await count(db, Booking, Booking.resource_id == court) == 0
