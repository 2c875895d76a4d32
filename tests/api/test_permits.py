"""Monthly night permits on the tidal car park, through HTTP on SQLite and PostgreSQL: one
space for every night of December although neighbours hold some nights; January asked on
3 December is recorded and accepted as a whole at its permit release (25 December 09:00);
cancelling from the 15th gives the nights back at once; a lottery gives exactly as many
permits as there are spaces; bad input is refused and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.memory import MemoryJobStore
from sqlalchemy import func, select

from scheduler.core.lottery import draw_order
from scheduler.db.bookings import Booking, OutboxEvent
from scheduler.db.engine import create_engine
from scheduler.db.permits import Permit, PermitRound
from scheduler.duties.services import DutyService
from scheduler.jobs import tasks
from scheduler.jobs.resilience import ResilientScheduler
from scheduler.jobs.runner import JobRunner
from tests.support.builders import (
    Tokens,
    assert_problem,
    book,
    make_resource,
    make_window,
    ok,
    unique,
)

PLATE = "沪A12345"
PLATE_FIELD = {"name": "plate", "type": "plate", "label_zh": "车牌", "visible_to": ["partner"]}
# The permit release of January: 25 December 09:00 in Shanghai.
JANUARY_RELEASE = datetime(2026, 12, 25, 1, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def shanghai(day: str, hour: int) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00").astimezone(UTC)


async def car_park(client, tokens: Tokens, units, **permit):
    resource = await make_resource(
        client,
        tokens,
        kind="parking",
        capacity=None,
        units=units,
        booking_fields=[PLATE_FIELD],
        policy={
            "max_duration_minutes": 840,
            "horizon_days": 14,
            "permit": {
                "permit_horizon_days": 62,
                "release_day": 25,
                "release_at": "09:00",
                **permit,
            },
        },
    )
    await make_window(client, tokens, resource["id"], start_time="18:00", end_time="08:00")
    return resource


async def night(client, headers, resource_id: str, day: str, unit: str):
    start = datetime.fromisoformat(f"{day}T18:00:00+08:00")
    return await book(
        client,
        headers,
        resource_id,
        start.isoformat(),
        (start + timedelta(hours=14)).isoformat(),
        unit=unit,
        unit_exact=True,
    )


async def apply(client, headers, resource_id: str, period: str, **fields):
    body = {"resource_id": resource_id, "period": period, **fields}
    return await client.post("/api/v1/permits", json=body, headers=headers)


async def test_december_and_january_permits_through_release_and_cancel(
    client, tokens: Tokens, clock, db
):
    clock.set(shanghai("2026-11-28", 10))
    resource = await car_park(client, tokens, ["B1-001", "B1-002", "B1-003"])
    rid = resource["id"]
    for day, unit in (("2026-12-05", "B1-001"), ("2026-12-06", "B1-001"), ("2026-12-10", "B1-002")):
        ok(await night(client, tokens.resident(sub=unique("neighbour")), rid, day, unit), 201)
    me_sub = unique("permit")
    me = tokens.resident(sub=me_sub)

    # December was released on 25 November: booked at once, one space all 31 nights.
    december = ok(await apply(client, me, rid, "2026-12", unit="B1-001", plate="沪a 12345"), 201)
    assert (december["state"], december["unit"], december["nights"]) == ("confirmed", "B1-003", 31)
    assert december["plate"] == PLATE and december["preferred_unit"] == "B1-001"
    # Every night carries the plate, for the gate lists.
    assert {o["fields"]["plate"] for o in december["occurrences"]} == {PLATE}
    assert {o["unit"] for o in december["occurrences"]} == {"B1-003"}
    assert {o["series_id"] for o in december["occurrences"]} == {december["id"]}
    assert december["occurrences"][0]["local_start"] == "2026-12-01T18:00:00+08:00"
    assert december["occurrences"][-1]["local_end"] == "2027-01-01T08:00:00+08:00"

    # On 3 December, January is beyond the ordinary 14-day horizon but within the permit's
    # 62 days: recorded, to be decided at the January release.
    clock.set(shanghai("2026-12-03", 10))
    january = ok(await apply(client, me, rid, "2027-01", plate=PLATE), 202)
    assert (january["state"], january["occurrences"]) == ("applied", [])
    assert january["release_at"] == "2026-12-25T09:00:00+08:00"
    # February ends 87 days ahead: too far even for a permit.
    too_far = assert_problem(await apply(client, me, rid, "2027-02"), 409, "horizon")
    assert too_far["rule"] == "policy.permit.permit_horizon_days"

    # On 10 December, cancel December from the 15th: 17 nights given back at once, so
    # another resident can have night 20 on the permit's space.
    clock.set(shanghai("2026-12-10", 10))
    # Tonight the partner's gate list and its CSV show the permit's space and plate.
    partner = tokens.partner(resource["partner_id"])
    day_list = f"/api/v1/resources/{rid}/day-list"
    tonight = ok(await client.get(day_list, headers=partner))
    assert tonight["date"] == "2026-12-10"
    mine = [r for r in tonight["rows"] if r["fields"].get("plate") == PLATE]
    assert [r["unit"] for r in mine] == ["B1-003"]
    csv_text = (await client.get(day_list, headers={**partner, "Accept": "text/csv"})).text
    assert any(line.endswith(f",{PLATE}") and "B1-003" in line for line in csv_text.splitlines())
    cancelled = ok(
        await client.post(
            f"/api/v1/permits/{december['id']}/cancel", json={"from": "2026-12-15"}, headers=me
        )
    )
    assert (cancelled["cancelled"], cancelled["refused"]) == (17, 0)
    assert cancelled["permit"]["state"] == "partly_cancelled"
    assert cancelled["permit"]["nights"] == 14
    assert cancelled["permit"]["cancelled_from"] == "2026-12-15"
    other = tokens.resident(sub=unique("resident"))
    ok(await night(client, other, rid, "2026-12-20", "B1-003"), 201)
    assert_problem(await night(client, other, rid, "2026-12-14", "B1-003"), 409, "unit_taken")

    # One second before the release the application still waits; one second after, the
    # first request decides it: all 31 January nights on one space.
    clock.set(JANUARY_RELEASE - SECOND)
    waiting = ok(await client.get(f"/api/v1/permits/{january['id']}", headers=me))
    assert waiting["state"] == "applied"
    clock.set(JANUARY_RELEASE + SECOND)
    accepted = ok(await client.get(f"/api/v1/permits/{january['id']}", headers=me))
    assert (accepted["state"], accepted["nights"]) == ("confirmed", 31)
    assert len({o["unit"] for o in accepted["occurrences"]}) == 1
    assert {o["status"] for o in accepted["occurrences"]} == {"confirmed"}
    assert accepted["occurrences"][0]["holder"]["sub"] == me_sub
    # The partner sees it too; the duty that runs at the release finds nothing left to do.
    as_partner = ok(await client.get(f"/api/v1/permits/{january['id']}", headers=partner))
    assert as_partner["plate"] == PLATE
    assert {o["fields"]["plate"] for o in as_partner["occurrences"]} == {PLATE}
    # Staff are not in the plate's audience (visible_to: partner): the permit hides it.
    as_staff = ok(await client.get(f"/api/v1/permits/{january['id']}", headers=tokens.staff()))
    assert (as_staff["plate"], as_staff["fields"]) == (None, {})
    async with db() as session, session.begin():
        assert await DutyService(session).release_permits(JANUARY_RELEASE + 2 * SECOND) == 0
        events = await session.scalars(
            select(OutboxEvent.type).where(
                OutboxEvent.resource_id == rid, OutboxEvent.type.like("permit.%")
            )
        )
        assert sorted(events) == [
            "permit.applied",
            "permit.cancelled",
            "permit.confirmed",
            "permit.confirmed",
        ]


async def test_lottery_gives_exactly_as_many_permits_as_spaces(client, tokens: Tokens, clock, db):
    clock.set(shanghai("2026-12-03", 10))
    resource = await car_park(client, tokens, ["B1-001", "B1-002"])
    applied = []
    for _ in range(5):
        applied.append(
            ok(
                await apply(client, tokens.resident(sub=unique("lot")), resource["id"], "2027-01"),
                202,
            )
        )
    async with db() as session, session.begin():
        assert await DutyService(session).release_permits(JANUARY_RELEASE) == 5
    async with db() as session, session.begin():
        assert await DutyService(session).release_permits(JANUARY_RELEASE + SECOND) == 0
        permits = {
            p.id: p
            for p in await session.scalars(
                select(Permit).where(Permit.resource_id == resource["id"])
            )
        }
        round_ = (
            await session.scalars(
                select(PermitRound).where(PermitRound.resource_id == resource["id"])
            )
        ).one()
        nights = list(
            await session.scalars(
                select(Booking).where(
                    Booking.resource_id == resource["id"], Booking.status == "confirmed"
                )
            )
        )
    states = sorted(p.state for p in permits.values())
    assert states == ["confirmed"] * 2 + ["not_selected"] * 3
    assert round_.lottery and sorted(round_.applications) == sorted(a["id"] for a in applied)
    # Anyone holding the seed replays the draw: the first two in its order won.
    assert round_.winners == draw_order(round_.applications, round_.seed)[:2]
    winners = [permits[w] for w in round_.winners]
    assert {w.unit for w in winners} == {"B1-001", "B1-002"}
    assert len(nights) == 62
    assert {(b.series_id, b.unit) for b in nights} == {(w.id, w.unit) for w in winners}
    loser = next(p for p in permits.values() if p.state == "not_selected")
    seen = ok(
        await client.get(
            f"/api/v1/permits/{loser.id}", headers=tokens.resident(sub=loser.holder_id)
        )
    )
    assert seen["state"] == "not_selected" and "lottery" in seen["reason"]


async def test_first_come_when_the_lottery_is_off(client, tokens: Tokens, clock, db):
    clock.set(shanghai("2026-12-03", 10))
    resource = await car_park(client, tokens, ["B1-001"], lottery=False)
    first = ok(await apply(client, tokens.resident(), resource["id"], "2027-01"), 202)
    clock.set(shanghai("2026-12-04", 10))
    second = ok(await apply(client, tokens.resident(), resource["id"], "2027-01"), 202)
    clock.set(JANUARY_RELEASE + SECOND)
    staff = tokens.staff()
    assert ok(await client.get(f"/api/v1/permits/{first['id']}", headers=staff))["state"] == (
        "confirmed"
    )
    lost = ok(await client.get(f"/api/v1/permits/{second['id']}", headers=staff))
    assert lost["state"] == "not_selected" and "first come" in lost["reason"]
    # After the release a new application is decided at once: no space is free all month.
    late = assert_problem(
        await apply(client, tokens.resident(), resource["id"], "2027-01"), 409, "series_refused"
    )
    assert late["units_free_throughout"] == []


async def test_bad_input_is_refused_and_writes_nothing(client, tokens: Tokens, clock, db):
    clock.set(shanghai("2026-12-03", 10))
    resource = await car_park(client, tokens, ["B1-001"])
    plain = await make_resource(client, tokens, partner_id=resource["partner_id"])
    me = tokens.resident(sub=unique("bad"))
    rid = resource["id"]
    ok(await apply(client, me, rid, "2027-01"), 202)
    cases = [
        (await apply(client, me, rid, "2027-13"), 422, "validation_error"),
        (await apply(client, me, rid, "January"), 422, "validation_error"),
        (await apply(client, me, rid, "2027-01", plate="12345"), 422, "validation_error"),
        (await apply(client, me, rid, "2027-01", fields={"meal": "rice"}), 422, "validation_error"),
        (await apply(client, me, rid, "2027-01", unit="Z9"), 422, "validation_error"),
        (await apply(client, me, rid, "2027-01", colour="red"), 422, "validation_error"),
        (await apply(client, me, plain["id"], "2027-01"), 409, "permit_not_offered"),
        (await apply(client, me, "res_missing", "2027-01"), 404, "not_found"),
        (await apply(client, me, rid, "2026-11"), 409, "lead_time"),
        (await apply(client, me, rid, "2027-03"), 409, "horizon"),
        (await apply(client, me, rid, "2027-01"), 409, "permit_exists"),
        (
            await client.post(
                "/api/v1/permits/pmt_missing/cancel", json={"from": "2027-01-01"}, headers=me
            ),
            404,
            "not_found",
        ),
    ]
    for response, status, code in cases:
        assert_problem(response, status, code)
    named = assert_problem(cases[2][0], 422, "validation_error")["errors"]
    assert [e["field"] for e in named] == ["fields.plate"]
    bad_policy = await client.post(
        "/api/v1/resources",
        json={
            "partner_id": resource["partner_id"],
            "name": "odd car park",
            "kind": "parking",
            "units": ["A"],
            "policy": {"max_duration_minutes": 840, "permit": {"end_time": "08:30"}},
        },
        headers=tokens.staff(),
    )
    assert_problem(bad_policy, 422, "validation_error")
    async with db() as session:
        count = await session.scalar(
            select(func.count()).select_from(Permit).where(Permit.resource_id == rid)
        )
        assert count == 1
        assert not await session.scalar(
            select(func.count()).select_from(Booking).where(Booking.resource_id == rid)
        )


async def test_the_release_job_is_planned_for_its_exact_instant(
    client, tokens: Tokens, clock, db, settings
):
    clock.set(shanghai("2026-12-03", 10))
    resource = await car_park(client, tokens, ["B1-001"])
    applied = ok(await apply(client, tokens.resident(), resource["id"], "2027-01"), 202)
    # Five minutes before the instant, the planner (every 30 s) schedules a date job for it.
    clock.set(JANUARY_RELEASE - timedelta(minutes=5))
    engine = create_engine(settings)
    runner = JobRunner(settings, engine, db, clock)
    runner.scheduler = ResilientScheduler(jobstores={"default": MemoryJobStore()}, timezone=UTC)
    tasks.bind(tasks.Runtime(db, clock))
    try:
        await runner._plan_draws()
        job = runner.scheduler.get_job(f"permits:{resource['id']}:2027-01")
        assert job is not None and job.trigger.run_date == JANUARY_RELEASE
        # The job, run at the instant, decides the month.
        clock.set(JANUARY_RELEASE)
        assert await tasks.run_permit_release(*job.args) == 1
        assert await tasks.run_permit_release(*job.args) == 0
    finally:
        tasks.bind(None)
        await engine.dispose()
    seen = ok(await client.get(f"/api/v1/permits/{applied['id']}", headers=tokens.staff()))
    assert (seen["state"], seen["unit"], seen["nights"]) == ("confirmed", "B1-001", 31)
