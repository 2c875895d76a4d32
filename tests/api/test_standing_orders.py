"""Standing orders through HTTP on both databases: a month of Monday-Friday lunches booked
as each day is released (the clock moved by the test, the duty run by hand), refusals with
their reason, pause, resume, end, a duty that books once however often it runs, workers'
communities, and bad input that writes nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from apscheduler.jobstores.memory import MemoryJobStore
from sqlalchemy import func, select

from scheduler.db.bookings import Booking, OutboxEvent
from scheduler.db.standing import StandingOrder
from scheduler.duties.services import DutyService
from scheduler.jobs import tasks
from scheduler.jobs.resilience import ResilientScheduler
from scheduler.jobs.runner import JobRunner
from scheduler.standing.repositories import DUE_BATCH
from scheduler.standing.services import OCCURRENCE_EVENT
from scheduler.webhooks.dispatch import DispatchService
from tests.support.builders import (
    Tokens,
    assert_problem,
    book,
    make_partner,
    make_resource,
    make_window,
    ok,
    unique,
)

# Monday 1 March 2027, 10:00 in Shanghai. Lunch on day D is released at 16:00 on D - 1.
NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
BASE = "/api/v1/standing-orders"
LUNCH_POLICY = {
    "granularity_minutes": 30,
    "min_duration_minutes": 30,
    "horizon_days": 7,
    "release": {"days_ahead": 1, "at": "16:00"},
}
MONTH = {
    "start_time": "11:30",
    "end_time": "12:30",
    "from": "2027-03-01",
    "until": "2027-03-31",
    "weekdays": ["MON", "TUE", "WED", "THU", "FRI"],
}


def released(day: int) -> datetime:
    """16:00 in Shanghai on 2027-03-``day``: lunch of the next day is released."""
    return datetime(2027, 3, day, 8, 0, tzinfo=UTC)


MEAL_FIELDS = [
    {"name": "meal", "type": "choice", "required": True, "choices": ["standard", "soft"]},
    {"name": "diet", "max_length": 100, "visible_to": ["partner", "staff"]},
]


async def canteen(
    client: Any, tokens: Tokens, capacity: int = 40, days_ahead: int = 1, **fields: Any
) -> dict[str, Any]:
    partner = await make_partner(client, tokens, name="上南二村 committee", zone="residential")
    resource = await make_resource(
        client,
        tokens,
        partner["id"],
        kind="canteen",
        name="长者食堂",
        capacity=capacity,
        policy={**LUNCH_POLICY, "release": {"days_ahead": days_ahead, "at": "16:00"}},
        **fields,
    )
    await make_window(client, tokens, resource["id"], start_time="11:00", end_time="13:00")
    return resource


async def run_duty(db: Any, now: datetime) -> int:
    """The duty as the job runs it: a transaction per batch until a batch comes back short."""
    total = 0
    while True:
        async with db() as session, session.begin():
            count: int = await DutyService(session).book_standing_orders(now)
        total += count
        if count < DUE_BATCH:
            return total


def by_day(order: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["local_start"][:10]: o for o in order["occurrences"]}


async def read(client: Any, headers: dict[str, str], order_id: str) -> dict[str, Any]:
    return ok(await client.get(f"{BASE}/{order_id}", headers=headers))  # type: ignore[no-any-return]


async def test_a_month_of_lunches_is_booked_as_each_day_is_released(
    client, tokens: Tokens, clock, db
):
    clock.set(NOW)
    lunch = await canteen(client, tokens, capacity=1)
    elder = tokens.resident(sub=unique("elder"))
    made = await client.post(BASE, json={"resource_id": lunch["id"], **MONTH}, headers=elder)
    order = ok(made, 201)
    days = by_day(order)
    assert len(days) == 23  # the weekdays of March 2027
    assert order["status"] == "active" and order["counts"] == {"booked": 1, "pending": 22}
    # Today's lunch was already released: booked at once. Tomorrow's waits for 16:00.
    today = days["2027-03-01"]
    assert today["outcome"] == "booked" and today["booking_status"] == "confirmed"
    assert days["2027-03-02"]["outcome"] == "pending"
    assert days["2027-03-02"]["release_at"] == "2027-03-01T08:00:00Z"
    assert days["2027-03-02"]["local_start"] == "2027-03-02T11:30:00+08:00"
    booking = ok(await client.get(f"/api/v1/bookings/{today['booking_id']}", headers=elder))
    assert booking["series_id"] == order["id"]

    # One second before the release nothing is due; at the release it is booked.
    assert await run_duty(db, released(1) - timedelta(seconds=1)) == 0
    clock.set(released(1))
    assert await run_duty(db, released(1)) == 1
    assert await run_duty(db, released(1)) == 0  # run again: nothing more
    tuesday = by_day(await read(client, elder, order["id"]))["2027-03-02"]
    assert tuesday["outcome"] == "booked" and tuesday["booking_id"]

    # Wednesday's only place is taken by a neighbour at the release instant: refused, full.
    clock.set(released(2))
    neighbour = tokens.resident(sub=unique("neighbour"))
    ok(
        await book(
            client, neighbour, lunch["id"], "2027-03-03T11:30:00+08:00", "2027-03-03T12:30:00+08:00"
        ),
        201,
    )
    # Thursday the canteen is closed.
    closure = {
        "starts_at": "2027-03-04T00:00:00+08:00",
        "ends_at": "2027-03-05T00:00:00+08:00",
        "reason": "kitchen inspection",
    }
    ok(
        await client.post(
            f"/api/v1/resources/{lunch['id']}/closures", json=closure, headers=tokens.staff()
        ),
        201,
    )
    assert await run_duty(db, released(2)) == 1
    assert await run_duty(db, released(3)) == 1
    days = by_day(await read(client, elder, order["id"]))
    assert days["2027-03-03"]["outcome"] == "refused"
    assert days["2027-03-03"]["problem"]["code"] == "capacity"
    assert days["2027-03-04"]["outcome"] == "refused"
    assert days["2027-03-04"]["problem"]["code"] == "closed"
    assert "kitchen inspection" in days["2027-03-04"]["problem"]["detail"]

    # Paused over Friday's release: Friday is skipped; resumed, Monday is booked again.
    clock.set(released(4) - timedelta(hours=1))
    paused = ok(await client.post(f"{BASE}/{order['id']}/pause", headers=elder))
    assert paused["status"] == "paused"
    assert_problem(
        await client.post(f"{BASE}/{order['id']}/pause", headers=elder), 409, "standing_order_state"
    )
    assert await run_duty(db, released(4)) == 1  # handled: skipped
    clock.set(released(4) + timedelta(hours=1))
    resumed = ok(await client.post(f"{BASE}/{order['id']}/resume", headers=elder))
    assert resumed["status"] == "active"
    assert by_day(resumed)["2027-03-05"]["outcome"] == "skipped"

    # The job runner was down all weekend: Monday's lunch is caught up on Monday morning.
    monday_morning = datetime(2027, 3, 8, 1, 0, tzinfo=UTC)
    clock.set(monday_morning)
    assert await run_duty(db, monday_morning) == 1
    assert by_day(await read(client, elder, order["id"]))["2027-03-08"]["outcome"] == "booked"

    # Ended: nothing more is booked; the bookings already made stay.
    ended = ok(
        await client.post(f"{BASE}/{order['id']}/end", json={"reason": "moving"}, headers=elder)
    )
    assert ended["status"] == "ended" and ended["status_reason"] == "moving"
    assert ended["counts"] == {"booked": 3, "refused": 2, "skipped": 1, "ended": 17}
    assert await run_duty(db, datetime(2027, 4, 1, tzinfo=UTC)) == 0
    assert_problem(
        await client.post(f"{BASE}/{order['id']}/resume", headers=elder),
        409,
        "standing_order_state",
    )

    # One event per decided occurrence, with the outcome and the booking or the refusal.
    async with db() as session:
        events = (
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.type == OCCURRENCE_EVENT)
                .order_by(OutboxEvent.id)
            )
        ).all()
        mine = [e.payload for e in events if e.payload["standing_order_id"] == order["id"]]
        held = await session.scalar(
            select(func.count()).where(
                Booking.series_id == order["id"], Booking.status == "confirmed"
            )
        )
    assert [(p["local_start"][:10], p["outcome"]) for p in mine] == [
        ("2027-03-01", "booked"),
        ("2027-03-02", "booked"),
        ("2027-03-03", "refused"),
        ("2027-03-04", "refused"),
        ("2027-03-08", "booked"),
    ]
    assert mine[2]["refusal"]["code"] == "capacity" and mine[2]["booking_id"] is None
    assert mine[1]["starts_at"] == "2027-03-02T03:30:00+00:00"
    assert held == 3


async def test_every_booking_of_an_order_carries_its_booking_fields(
    client, tokens: Tokens, clock, db
):
    """Before: an order had no fields, so a canteen asking which meal refused every lunch."""
    clock.set(NOW)
    lunch = await canteen(client, tokens, booking_fields=MEAL_FIELDS)
    elder = tokens.resident(sub=unique("elder"))
    body = {"resource_id": lunch["id"], **MONTH}
    missing = assert_problem(
        await client.post(BASE, json=body, headers=elder), 422, "validation_error"
    )
    assert [e["field"] for e in missing["errors"]] == ["fields.meal"]
    wrong = {**body, "fields": {"meal": "spicy"}}
    assert_problem(await client.post(BASE, json=wrong, headers=elder), 422, "validation_error")
    async with db() as session:  # refused orders write nothing
        assert (
            await session.scalar(
                select(func.count())
                .select_from(StandingOrder)
                .where(StandingOrder.resource_id == lunch["id"])
            )
            == 0
        )

    values = {"meal": "soft", "diet": "no salt"}
    order = ok(await client.post(BASE, json={**body, "fields": values}, headers=elder), 201)
    assert order["fields"] == values
    clock.set(released(1))
    assert await run_duty(db, released(1)) == 1
    days = by_day(await read(client, elder, order["id"]))
    for day in ("2027-03-01", "2027-03-02"):  # booked at creation, then at the release
        booked = ok(await client.get(f"/api/v1/bookings/{days[day]['booking_id']}", headers=elder))
        assert booked["fields"] == values
    # Staff read the order with the fields staff may read (as on a booking).
    assert ok(await client.get(f"{BASE}/{order['id']}", headers=tokens.staff()))["fields"] == values


async def test_two_duty_runs_at_once_book_each_occurrence_once(client, tokens: Tokens, clock, db):
    clock.set(NOW)
    lunch = await canteen(client, tokens, days_ahead=7)  # D is released at 16:00 on D - 7
    elders = [tokens.resident(sub=unique("elder")) for _ in range(3)]
    orders = []
    for elder in elders:
        body = {"resource_id": lunch["id"], **MONTH, "from": "2027-03-08", "until": "2027-03-12"}
        orders.append(ok(await client.post(BASE, json=body, headers=elder), 201)["id"])
    at = released(5)  # 8 to 12 March are all released by then, and none has started
    if db.kw["bind"].dialect.name == "postgresql":
        counts = await asyncio.gather(run_duty(db, at), run_duty(db, at))
    else:  # one writer at a time: run twice in a row
        counts = [await run_duty(db, at), await run_duty(db, at)]
    assert sum(counts) >= 15  # 5 days x 3 orders (and any other order due by then)
    async with db() as session:
        made = await session.scalar(select(func.count()).where(Booking.series_id.in_(orders)))
    assert made == 15  # one booking per occurrence
    for order_id, elder in zip(orders, elders, strict=True):
        order = await read(client, elder, order_id)
        assert order["counts"] == {"booked": 5}


async def test_a_worker_subscribes_for_a_resident_of_their_community_only(
    client, tokens: Tokens, clock
):
    clock.set(NOW)
    lunch = await canteen(client, tokens)
    home, other = unique("shangnan"), unique("sanlin")

    async def resident_of(community: str) -> str:
        body = {"name": "李奶奶", "community": community, "phone": "13800135678"}
        return str(
            ok(await client.post("/api/v1/residents", json=body, headers=tokens.staff()), 201)["id"]
        )

    mine, stranger = await resident_of(home), await resident_of(other)
    worker_sub = unique("worker")
    worker = tokens.worker(home, sub=worker_sub)
    body = {"resource_id": lunch["id"], **MONTH, "on_behalf_of": {"sub": mine}}
    order = ok(await client.post(BASE, json=body, headers=worker), 201)
    assert order["holder"]["sub"] == mine and order["created_by"] == worker_sub
    booking_id = by_day(order)["2027-03-01"]["booking_id"]
    booking = ok(await client.get(f"/api/v1/bookings/{booking_id}", headers=worker))
    assert booking["holder"]["sub"] == mine and booking["created_by"] == worker_sub
    listed = ok(await client.get(BASE, headers=worker))
    assert [o["id"] for o in listed["items"]] == [order["id"]]
    assert listed["items"][0]["occurrences"] is None
    # Another worker, and an unrelated resident, see nothing of it.
    assert_problem(
        await client.get(f"{BASE}/{order['id']}", headers=tokens.worker(other)), 404, "not_found"
    )
    assert_problem(
        await client.post(f"{BASE}/{order['id']}/pause", headers=tokens.resident()),
        404,
        "not_found",
    )

    ok(await client.post(f"{BASE}/{order['id']}/end", headers=worker))
    before = await count_orders(client, tokens)
    refused = {"resource_id": lunch["id"], **MONTH, "on_behalf_of": {"sub": stranger}}
    assert_problem(await client.post(BASE, json=refused, headers=worker), 403, "forbidden")
    assert await count_orders(client, tokens) == before


async def count_orders(client: Any, tokens: Tokens) -> int:
    return int(ok(await client.get(BASE, params={"limit": 1}, headers=tokens.staff()))["total"])


async def test_bad_input_is_refused_and_writes_nothing(client, tokens: Tokens, clock, db):
    clock.set(NOW)
    lunch = await canteen(client, tokens)
    elder = tokens.resident(sub=unique("elder"))
    good = {"resource_id": lunch["id"], **MONTH}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**good, "until": "2027-02-01"}, 422, "validation_error"),
        ({**good, "until": "2028-06-01"}, 422, "validation_error"),
        ({**good, "start_time": "11:30", "end_time": "11:30"}, 422, "validation_error"),
        ({**good, "start_time": "25:00"}, 422, "validation_error"),
        ({**good, "weekdays": ["MON", "FUNDAY"]}, 422, "validation_error"),
        ({**good, "rrule": "FREQ=WEEKLY;BYDAY=MO"}, 422, "validation_error"),  # both forms
        ({**{k: v for k, v in good.items() if k != "weekdays"}}, 422, "validation_error"),
        (
            {**{k: v for k, v in good.items() if k != "weekdays"}, "rrule": "FREQ=DAILY;COUNT=3"},
            422,
            "validation_error",
        ),
        ({**good, "from": "2027-02-01", "until": "2027-02-20"}, 422, "validation_error"),
        ({**good, "quantity": 0}, 422, "validation_error"),
        ({**good, "colour": "red"}, 422, "validation_error"),
        ({**good, "resource_id": "no-such-canteen"}, 404, "not_found"),
        ({**good, "quantity": 5}, 422, "invalid_quantity"),
        ({**good, "start_time": "11:30", "end_time": "11:45"}, 422, "invalid_duration"),
        ({**good, "on_behalf_of": {"sub": unique("nobody")}}, 403, "forbidden"),
    ]
    before = await count_orders(client, tokens)
    for body, status, code in cases:
        assert_problem(await client.post(BASE, json=body, headers=elder), status, code)
    assert await count_orders(client, tokens) == before
    async with db() as session:
        assert not (
            await session.scalars(
                select(StandingOrder).where(StandingOrder.resource_id == lunch["id"])
            )
        ).all()
    assert_problem(await client.get(f"{BASE}/sto_missing", headers=elder), 404, "not_found")
    assert_problem(
        await client.get(BASE, params={"status": "asleep"}, headers=elder), 422, "validation_error"
    )


async def test_an_rrule_pattern_and_a_retried_create_with_an_idempotency_key(
    client, tokens: Tokens, clock
):
    clock.set(NOW)
    lunch = await canteen(client, tokens)
    elder = tokens.resident(sub=unique("elder"))
    body = {
        "resource_id": lunch["id"],
        "start_time": "11:30",
        "end_time": "12:30",
        "from": "2027-03-01",
        "until": "2027-03-31",
        "rrule": "FREQ=WEEKLY;BYDAY=TU,TH",
    }
    headers = {**elder, "Idempotency-Key": unique("key")}
    first = await client.post(BASE, json=body, headers=headers)
    again = await client.post(BASE, json=body, headers=headers)
    assert ok(first, 201) == ok(again, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    days = sorted(by_day(first.json()))
    assert days[:3] == ["2027-03-02", "2027-03-04", "2027-03-09"] and len(days) == 9
    listed = ok(await client.get(BASE, headers=elder))
    assert listed["total"] == 1 and listed["items"][0]["counts"] == {"pending": 9}
    ok(await client.post(f"{BASE}/{first.json()['id']}/end", headers=elder))


async def test_the_runner_schedules_a_run_at_the_exact_release_moment(
    client, tokens: Tokens, clock, db, settings
):
    clock.set(NOW)
    lunch = await canteen(client, tokens)
    elder = tokens.resident(sub=unique("elder"))
    body = {"resource_id": lunch["id"], **MONTH, "until": "2027-03-02"}
    order = ok(await client.post(BASE, json=body, headers=elder), 201)
    clock.set(released(1) - timedelta(minutes=5))
    runner = JobRunner(settings, db.kw["bind"], db, clock)
    runner.scheduler = ResilientScheduler(jobstores={"default": MemoryJobStore()}, timezone=UTC)
    tasks.bind(tasks.Runtime(db, clock, runner.monitor))
    try:
        await runner._plan_standing_orders()
        job = runner.scheduler.get_job(f"standing:{released(1).isoformat()}")
        assert job is not None and job.trigger.run_date == released(1)
        clock.set(released(1))  # the job fires at that instant
        assert await tasks.run_standing_orders(*job.args) >= 1
    finally:
        tasks.bind(None)
    tuesday = by_day(await read(client, elder, order["id"]))["2027-03-02"]
    assert tuesday["outcome"] == "booked" and tuesday["decided_at"] == "2027-03-01T08:00:00Z"


async def test_the_partner_webhook_hears_each_occurrence(client, tokens: Tokens, clock, db):
    clock.set(NOW)
    lunch = await canteen(client, tokens)
    hook = {"url": "http://127.0.0.1:9/hooks", "events": ["standing_order.occurrence"]}
    partner = tokens.partner(lunch["partner_id"])
    ok(await client.post("/api/v1/webhooks", json=hook, headers=partner), 201)
    elder = tokens.resident(sub=unique("elder"))
    body = {"resource_id": lunch["id"], **MONTH, "until": "2027-03-02"}
    order = ok(await client.post(BASE, json=body, headers=elder), 201)
    await run_duty(db, released(1))
    received: list[dict[str, Any]] = []

    def receive(request: httpx.Request) -> httpx.Response:
        received.append(json.loads(request.content))
        return httpx.Response(204)

    async with httpx.AsyncClient(transport=httpx.MockTransport(receive)) as http:
        for _ in range(2):  # fan out, then deliver
            async with db() as session, session.begin():
                await DispatchService(session).fan_out(released(1))
            async with db() as session, session.begin():
                await DispatchService(session).deliver_due(released(1), http)
    mine = [r for r in received if r["data"]["standing_order_id"] == order["id"]]
    assert [r["type"] for r in mine] == ["standing_order.occurrence"] * 2
    assert [(r["data"]["local_start"], r["data"]["outcome"]) for r in mine] == [
        ("2027-03-01T11:30:00+08:00", "booked"),
        ("2027-03-02T11:30:00+08:00", "booked"),
    ]
    assert mine[0]["data"]["booking_id"] == by_day(order)["2027-03-01"]["booking_id"]


async def test_a_release_moved_later_is_waited_for_and_approval_leaves_bookings_pending(
    client, tokens: Tokens, clock, db
):
    clock.set(NOW)
    lunch = await canteen(client, tokens)
    path = f"/api/v1/resources/{lunch['id']}"
    ok(await client.patch(path, json={"policy": {"approval": "staff"}}, headers=tokens.staff()))
    elder = tokens.resident(sub=unique("elder"))
    body = {"resource_id": lunch["id"], **MONTH, "until": "2027-03-02"}
    order = ok(await client.post(BASE, json=body, headers=elder), 201)
    assert by_day(order)["2027-03-01"]["booking_status"] == "pending"  # awaiting staff
    # The partner now releases at 20:00: at 16:00 Tuesday is not bookable, so it waits.
    later = {"policy": {"release": {"days_ahead": 1, "at": "20:00"}}}
    ok(await client.patch(path, json=later, headers=tokens.staff()))
    clock.set(released(1))
    await run_duty(db, released(1))
    tuesday = by_day(await read(client, elder, order["id"]))["2027-03-02"]
    assert tuesday["outcome"] == "pending" and tuesday["release_at"] == "2027-03-01T12:00:00Z"
    at_eight = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    clock.set(at_eight)
    await run_duty(db, at_eight)
    tuesday = by_day(await read(client, elder, order["id"]))["2027-03-02"]
    assert tuesday["outcome"] == "booked" and tuesday["booking_status"] == "pending"
