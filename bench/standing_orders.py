"""Standing orders at a release instant: how long the duty takes to book one occurrence of
each of N standing orders released at the same second (an elder canteen's 16:00 release of
tomorrow's lunch), on PostgreSQL, in-process, with two duty runs racing as on two workers.

Prints the wall time of the release's duty runs, per occurrence, and checks every occurrence
was booked once (bookings = orders, no duplicate).

Run (about 1 min)::

    .venv/bin/python bench/standing_orders.py
    .venv/bin/python bench/standing_orders.py --orders 500 --days 5
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from bench._support import Tokens, bench_database, machine_report, plain_dsn
from scheduler.app import create_app
from scheduler.clock import ManualClock
from scheduler.db.bookings import Booking
from scheduler.db.engine import create_engine, create_session_factory
from scheduler.duties.services import DutyService
from scheduler.standing.repositories import DUE_BATCH

NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def released(day: int) -> datetime:
    return datetime(2027, 3, day, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai


async def run(url: str, settings: object, orders: int, days: int) -> None:
    clock = ManualClock(NOW)
    app = create_app(settings, clock=clock)  # type: ignore[arg-type]
    tokens = Tokens(settings)  # type: ignore[arg-type]
    staff = tokens.staff()
    async with AsyncTestClient(app=app) as client:
        partner = (
            await client.post(
                "/api/v1/partners", json={"name": "canteen", "zone": "residential"}, headers=staff
            )
        ).json()["id"]
        policy = {
            "granularity_minutes": 30,
            "min_duration_minutes": 30,
            "horizon_days": 7,
            "max_party_size": 1,
            "release": {"days_ahead": 1, "at": "16:00"},
        }
        body = {"partner_id": partner, "name": "长者食堂", "kind": "canteen"}
        made = await client.post(
            "/api/v1/resources", json={**body, "capacity": orders, "policy": policy}, headers=staff
        )
        resource = made.json()["id"]
        window = {"start_time": "11:00", "end_time": "13:00", "rrule": "FREQ=DAILY"}
        await client.post(f"/api/v1/resources/{resource}/windows", json=window, headers=staff)
        order = {
            "resource_id": resource,
            "start_time": "11:30",
            "end_time": "12:30",
            "from": "2027-03-01",
            "until": f"2027-03-{days:02d}",
            "weekdays": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"],
        }
        started = time.perf_counter()
        for index in range(orders):
            headers = tokens.headers("resident", f"bench-elder-{index}")
            response = await client.post("/api/v1/standing-orders", json=order, headers=headers)
            assert response.status_code == 201, response.text
        created = time.perf_counter() - started
        print(f"created {orders} orders of {days} days: {created / orders * 1000:.1f} ms each")
        engine = create_engine(settings)  # type: ignore[arg-type]
        sessions = create_session_factory(engine)

        async def duty(at: datetime) -> int:
            total = 0
            while True:  # as the job runs it: one transaction per batch
                async with sessions() as session, session.begin():
                    count = await DutyService(session).book_standing_orders(at)
                total += count
                if count < DUE_BATCH:
                    return total

        for day in range(1, days):
            at = released(day)
            clock.set(at)
            started = time.perf_counter()
            counts = await asyncio.gather(duty(at), duty(at))
            took = time.perf_counter() - started
            print(
                f"release of 2027-03-{day + 1:02d}: {sum(counts)} occurrences decided by two "
                f"racing runs {counts} in {took * 1000:.0f} ms "
                f"({took / max(sum(counts), 1) * 1000:.2f} ms each)"
            )
        async with sessions() as session:
            booked = await session.scalar(
                select(func.count()).where(Booking.resource_id == resource)
            )
            pairs = (
                select(Booking.holder_id, Booking.starts_at)
                .where(Booking.resource_id == resource)
                .distinct()
                .subquery()
            )
            distinct = await session.scalar(select(func.count()).select_from(pairs))
        await engine.dispose()
        print(
            f"bookings: {booked} (expected {orders * days}), distinct (holder, start): {distinct}"
        )
        assert booked == orders * days == distinct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--days", type=int, default=4)
    args = parser.parse_args()
    with bench_database("standing") as (url, settings):
        print(machine_report(plain_dsn(url)))
        quiet = settings.with_overrides(run_jobs=False, rate_limit="off")
        asyncio.run(run(url, quiet, args.orders, args.days))


if __name__ == "__main__":
    main()
