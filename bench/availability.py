"""Availability cost must not grow with the total number of bookings.

One resource with 10 opening windows and 50 closures; availability over 31 days is timed
(in-process through ``AvailabilityService`` on its own engine, and through HTTP on the real
server) with 10,000 bookings in the database, then again after growing the database to
1,000,000 bookings (other resources' bookings over years, and the measured resource's own
bookings outside the range). The bookings inside the range are the same in both phases, so
both phases must return the same slots. Aim: ratio large/small <= 1.5.

Run (about 2-3 minutes on 2 cores)::

    .venv/bin/python bench/availability.py
    .venv/bin/python bench/availability.py --large 5000000 --reps 500   # bigger

PostgreSQL at SCHEDULER_BENCH_POSTGRES_URL (default postgresql+asyncpg://postgres@127.0.0.1/
postgres); a database ``bench_availability_<random>`` is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    Tokens,
    admin_url,
    bench_database,
    machine_report,
    median,
    percentile,
    plain_dsn,
    scheduler_server,
)

from scheduler.availability.services import AvailabilityService
from scheduler.db.bookings import ACTIVE
from scheduler.db.engine import create_engine, create_session_factory
from scheduler.ledger.repositories import CapacityLedger
from scheduler.settings import Settings

ZONE = ZoneInfo("Asia/Shanghai")
CAPACITY = 60
FILLER_RESOURCES = 500
FILLER_USERS = 5000
IN_RANGE_BOOKINGS = 400
MEASURED_SHARE_OUTSIDE = 0.10  # of the filler: the measured resource's bookings outside the range
RANGE_DAYS = 31

# Ten windows that never overlap: weekday evenings, rest-day daytime, a nightly and a weekly one.
WINDOWS = [
    {"label": "Early run", "start_time": "06:00", "end_time": "07:00", "day_types": ["workday"]},
    {"label": "Evening 1", "start_time": "18:00", "end_time": "19:00", "day_types": ["workday"]},
    {"label": "Evening 2", "start_time": "19:00", "end_time": "20:00", "day_types": ["workday"]},
    {"label": "Evening 3", "start_time": "20:00", "end_time": "21:00", "day_types": ["workday"]},
    {"label": "Rest AM 1", "start_time": "08:00", "end_time": "10:00", "day_types": ["rest_day"]},
    {"label": "Rest AM 2", "start_time": "10:00", "end_time": "12:00", "day_types": ["rest_day"]},
    {"label": "Rest PM 1", "start_time": "14:00", "end_time": "16:00", "day_types": ["rest_day"]},
    {"label": "Rest PM 2", "start_time": "16:00", "end_time": "18:00", "day_types": ["rest_day"]},
    {"label": "Late", "start_time": "21:00", "end_time": "22:00", "rrule": "FREQ=DAILY"},
    {
        "label": "Wednesday lunch",
        "start_time": "12:00",
        "end_time": "13:00",
        "rrule": "FREQ=WEEKLY;BYDAY=WE",
        "capacity": 20,
    },
]

STATUS_SQL = """CASE
    WHEN s < now() THEN (CASE WHEN r3 < 0.70 THEN 'completed' WHEN r3 < 0.85 THEN 'cancelled'
                              WHEN r3 < 0.95 THEN 'no_show' ELSE 'rejected' END)
    ELSE (CASE WHEN r3 < 0.80 THEN 'confirmed' WHEN r3 < 0.90 THEN 'pending'
               ELSE 'cancelled' END)
END"""

# Filler bookings: whole hours from 3 years ago to 1 year ahead, 1-3 hours long. A share goes to
# the measured resource, moved out of the measured range (plus a day either side).
FILL_SQL = f"""
INSERT INTO bookings (id, resource_id, holder_id, holder_name, created_by, starts_at, ends_at,
    granularity_minutes, quantity, unit, status, note, series_id, decision_note, version,
    created_at, updated_at)
SELECT id, resource_id, holder, 'Filler ' || holder, holder, s, s + hours * interval '1 hour',
    60, quantity, NULL, {STATUS_SQL}, NULL, NULL, NULL, 1,
    s - interval '3 days', s - interval '3 days'
FROM (
    SELECT 'bkf_' || $1::text || '_' || g AS id,
        CASE WHEN r1 < $2::float8 THEN $3::text
             ELSE 'fill-r-' || lpad((floor(r2 * {FILLER_RESOURCES}))::int::text, 4, '0') END
            AS resource_id,
        'fill-u-' || lpad((g % {FILLER_USERS})::text, 5, '0') AS holder,
        CASE WHEN r1 < $2::float8 AND raw >= $4::timestamptz - interval '1 day'
                  AND raw < $5::timestamptz + interval '1 day'
             THEN raw + interval '400 days' ELSE raw END AS s,
        1 + floor(r4 * 3)::int AS hours,
        CASE WHEN r4 < 0.1 THEN 2 ELSE 1 END AS quantity,
        r3
    FROM (
        SELECT g, random() AS r1, random() AS r2, random() AS r3, random() AS r4,
            date_trunc('hour', now() - interval '3 years' + random() * interval '4 years') AS raw
        FROM generate_series(1, $6::int) AS g
    ) AS draws
) AS rows
"""

# The capacity ledger as the service would have built it: quantity held per (resource, hour)
# by bookings that still hold capacity (active ones, and past ones that ran).
LEDGER_SQL = """
INSERT INTO slot_holdings (resource_id, slot_start, held, capacity)
SELECT b.resource_id, slot, sum(b.quantity), greatest(max(r.capacity), sum(b.quantity))
FROM bookings AS b
JOIN resources AS r ON r.id = b.resource_id
CROSS JOIN LATERAL generate_series(b.starts_at, b.ends_at - interval '1 hour', interval '1 hour')
    AS slot
WHERE b.status = ANY($1::text[]) OR b.status IN ('completed', 'no_show')
GROUP BY b.resource_id, slot
"""


async def create_measured_resource(base: str, tokens: Tokens, range_start: date) -> tuple[str, str]:
    """Partner, resource, 10 windows and 50 closures through the API: (resource, partner)."""
    staff = tokens.staff()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def post(path: str, body: dict[str, object]) -> dict[str, object]:
            response = await client.post(path, json=body, headers=staff)
            assert response.status_code == 201, (path, response.status_code, response.text)
            return response.json()

        partner = await post(
            "/api/v1/partners", {"id": "bench-school", "name": "Bench school", "zone": "campus"}
        )
        resource = await post(
            "/api/v1/resources",
            {
                "id": "bench-track",
                "partner_id": partner["id"],
                "name": "400 m track",
                "kind": "sports_field",
                "capacity": CAPACITY,
            },
        )
        resource_id = str(resource["id"])
        for window in WINDOWS:
            await post(f"/api/v1/resources/{resource_id}/windows", window)
        rng = random.Random(50)
        # 8 closures inside the measured range (exam days, maintenance), 42 spread over years.
        days = [range_start + timedelta(days=3 + 3 * i) for i in range(8)]
        days += [
            range_start + timedelta(days=rng.choice([-1, 1]) * rng.randrange(40, 900))
            for _ in range(42)
        ]
        for index, day in enumerate(days):
            start = datetime.combine(day, datetime.min.time(), ZONE) + timedelta(
                hours=0 if index % 2 == 0 else 17
            )
            length = timedelta(days=1) if index % 2 == 0 else timedelta(hours=3)
            await post(
                f"/api/v1/resources/{resource_id}/closures",
                {
                    "starts_at": start.isoformat(),
                    "ends_at": (start + length).isoformat(),
                    "reason": "exam" if index % 2 == 0 else "maintenance",
                },
            )
        return resource_id, str(partner["id"])


async def create_filler_catalogue(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        now = datetime.now(UTC)
        await connection.executemany(
            "INSERT INTO partners (id, name, zone, version, created_at, updated_at) "
            "VALUES ($1, $2, 'campus', 1, $3, $3)",
            [(f"fill-p-{i:02d}", f"Filler partner {i}", now) for i in range(20)],
        )
        await connection.executemany(
            "INSERT INTO resources (id, partner_id, name, kind, capacity, units, timezone, "
            "policy, version, created_at, updated_at) "
            "VALUES ($1, $2, $3, 'court', $4, '[]', 'Asia/Shanghai', '{}', 1, $5, $5)",
            [
                (f"fill-r-{i:04d}", f"fill-p-{i % 20:02d}", f"Filler court {i}", 1000, now)
                for i in range(FILLER_RESOURCES)
            ],
        )
        await connection.executemany(
            "INSERT INTO users (id, name, role, tags, created_at, last_seen_at) "
            "VALUES ($1, $2, 'resident', '[]', $3, $3)",
            [(f"fill-u-{i:05d}", f"Filler {i}", now) for i in range(FILLER_USERS)],
        )
    finally:
        await connection.close()


async def book_inside_range(
    settings: Settings, dsn: str, resource_id: str, span_text: tuple[str, str]
) -> int:
    """IN_RANGE_BOOKINGS bookings of the measured resource on its open slots in the range."""
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            result = await AvailabilityService(session).for_resource(
                resource_id, *span_text, datetime.now(UTC)
            )
    finally:
        await engine.dispose()
    open_slots = [s for s in result.slots if s.status == "open"]
    rng = random.Random(400)
    held: dict[datetime, int] = {}
    rows = []
    for n in range(IN_RANGE_BOOKINGS):
        slot = rng.choice(open_slots)
        if held.get(slot.starts_at, 0) >= slot.capacity:
            continue
        held[slot.starts_at] = held.get(slot.starts_at, 0) + 1
        holder = f"fill-u-{rng.randrange(FILLER_USERS):05d}"
        start = slot.starts_at.astimezone(UTC)
        status = rng.choice(["confirmed"] * 8 + ["pending"])
        rows.append(
            (f"bkin_{n}", resource_id, holder, holder, start, slot.ends_at.astimezone(UTC), status)
        )
    connection = await asyncpg.connect(dsn)
    try:
        await connection.executemany(
            "INSERT INTO bookings (id, resource_id, holder_id, holder_name, created_by, starts_at,"
            " ends_at, granularity_minutes, quantity, status, version, created_at, updated_at) "
            "VALUES ($1, $2, $3, $4, $3, $5, $6, 60, 1, $7, 1, now(), now())",
            rows,
        )
    finally:
        await connection.close()
    return len(rows)


async def fill_to(
    dsn: str, total: int, resource_id: str, span: tuple[datetime, datetime], tag: str
) -> tuple[int, int, float]:
    """Add filler bookings until ``bookings`` has ``total`` rows; rebuild the ledger."""
    connection = await asyncpg.connect(dsn, command_timeout=3600)
    try:
        began = time.perf_counter()
        have = await connection.fetchval("SELECT count(*) FROM bookings")
        missing = total - have
        chunk = 250_000
        while missing > 0:
            step = min(chunk, missing)
            await connection.execute(
                FILL_SQL,
                f"{tag}{missing}",
                MEASURED_SHARE_OUTSIDE,
                resource_id,
                span[0],
                span[1],
                step,
            )
            missing -= step
        await connection.execute("TRUNCATE slot_holdings")
        await connection.execute(LEDGER_SQL, list(ACTIVE))
        await connection.execute("VACUUM ANALYZE bookings")
        await connection.execute("VACUUM ANALYZE slot_holdings")
        # Write the bulk load's dirty pages now rather than during the timings.
        await connection.execute("CHECKPOINT")
        bookings = await connection.fetchval("SELECT count(*) FROM bookings")
        ledger = await connection.fetchval("SELECT count(*) FROM slot_holdings")
        return bookings, ledger, time.perf_counter() - began
    finally:
        await connection.close()


async def time_in_process(
    settings: Settings, resource_id: str, span_text: tuple[str, str], reps: int
) -> tuple[list[float], list[float], str, int]:
    """Latencies of AvailabilityService.for_resource and of its ledger read alone (seconds),
    a digest of the answer and the number of slots."""
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    now = datetime.now(UTC)
    whole, ledger_only = [], []
    digest, count = "", 0
    try:
        for rep in range(reps + 10):
            async with factory() as session:
                began = time.perf_counter()
                result = await AvailabilityService(session).for_resource(
                    resource_id, *span_text, now
                )
                elapsed = time.perf_counter() - began
            async with factory() as session:
                began_ledger = time.perf_counter()
                await CapacityLedger(session).held(
                    resource_id, result.starts_at.astimezone(UTC), result.ends_at.astimezone(UTC)
                )
                elapsed_ledger = time.perf_counter() - began_ledger
            if rep >= 10:  # the first few warm caches and prepared statements
                whole.append(elapsed)
                ledger_only.append(elapsed_ledger)
            if rep == 0:
                digest = hashlib.sha256(msgspec.json.encode(result.slots)).hexdigest()[:12]
                count = len(result.slots)
    finally:
        await engine.dispose()
    return whole, ledger_only, digest, count


async def time_http(
    base: str, tokens: Tokens, resource_id: str, span_text: tuple[str, str], seconds: float
) -> list[float]:
    """Sequential GETs for ``seconds`` (longer than the 15 s job interval, so the background
    duties that share the worker are sampled as often as they run)."""
    # Many readers: the service limits each token to SCHEDULER_RATE_LIMIT (600/minute).
    readers = [tokens.resident(f"bench-reader-{n:03d}") for n in range(100)]
    params = {"from": span_text[0], "to": span_text[1]}
    path = f"/api/v1/resources/{resource_id}/availability"
    latencies = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for n in range(5):
            response = await client.get(path, params=params, headers=readers[n])
            assert response.status_code == 200, response.text
        stop_at = time.perf_counter() + seconds
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            response = await client.get(path, params=params, headers=readers[len(latencies) % 100])
            elapsed = time.perf_counter() - began
            assert response.status_code == 200, response.text
            latencies.append(elapsed)
    return latencies


async def ledger_plan(dsn: str, resource_id: str, span: tuple[datetime, datetime]) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT slot_start, held FROM slot_holdings "
            "WHERE resource_id = $1 AND slot_start >= $2 AND slot_start < $3 AND held > 0",
            resource_id,
            *span,
        )
        return " / ".join(row[0].strip() for row in rows[:2])
    finally:
        await connection.close()


def ms(values: list[float], fraction: float | None = None) -> float:
    return 1000 * (median(values) if fraction is None else percentile(values, fraction))


async def run(args: argparse.Namespace, url: str, settings: Settings, base: str) -> None:
    tokens = Tokens(settings)
    dsn = plain_dsn(url)
    first = datetime.now(ZONE).date() + timedelta(days=1)
    last = first + timedelta(days=RANGE_DAYS - 1)
    span_text = (first.isoformat(), last.isoformat())  # `to` is inclusive: 31 local days
    span = (
        datetime.combine(first, datetime.min.time(), ZONE).astimezone(UTC),
        datetime.combine(last + timedelta(days=1), datetime.min.time(), ZONE).astimezone(UTC),
    )
    resource_id, _ = await create_measured_resource(base, tokens, first)
    await create_filler_catalogue(dsn)
    in_range = await book_inside_range(settings, dsn, resource_id, span_text)
    print(
        f"measured resource: {len(WINDOWS)} windows, 50 closures, {in_range} bookings in the "
        f"{RANGE_DAYS}-day range {span_text[0]}..{span_text[1]}"
    )
    rows = []
    for total in (args.small, args.large):
        bookings, ledger, fill_seconds = await fill_to(dsn, total, resource_id, span, f"t{total}")
        whole, ledger_only, digest, slots = await time_in_process(
            settings, resource_id, span_text, args.reps
        )
        http = await time_http(base, tokens, resource_id, span_text, args.http_seconds)
        plan = await ledger_plan(dsn, resource_id, span)
        rows.append((bookings, ledger, whole, ledger_only, http, digest, slots))
        print(
            f"  filled to {bookings:,} bookings / {ledger:,} ledger rows in {fill_seconds:.1f} s;"
            f" {slots} slots, answer digest {digest}; ledger plan: {plan}"
        )
    print()
    print(
        f"{'bookings':>10} {'ledger rows':>11} | {'service p50':>11} {'p95':>7} | "
        f"{'ledger read p50':>15} | {'HTTP p50':>8} {'p95':>7} {'p99':>7}   (ms)"
    )
    for bookings, ledger, whole, ledger_only, http, _, _ in rows:
        print(
            f"{bookings:>10,} {ledger:>11,} | {ms(whole):11.2f} {ms(whole, 0.95):7.2f} | "
            f"{ms(ledger_only):15.3f} | {ms(http):8.2f} {ms(http, 0.95):7.2f} "
            f"{ms(http, 0.99):7.2f}"
        )
    small, large = rows
    print()
    print(
        f"ratio {large[0]:,} / {small[0]:,} bookings (p50):  "
        f"service {median(large[2]) / median(small[2]):.2f}   "
        f"ledger read {median(large[3]) / median(small[3]):.2f}   "
        f"HTTP {median(large[4]) / median(small[4]):.2f}   (aim: <= 1.5)"
    )
    print(f"same answer in both phases: {small[5] == large[5]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=10_000, help="bookings in phase 1")
    parser.add_argument("--large", type=int, default=1_000_000, help="bookings in phase 2")
    parser.add_argument("--reps", type=int, default=200, help="in-process repetitions")
    parser.add_argument("--http-seconds", type=float, default=20, help="HTTP timing length")
    parser.add_argument(
        "--no-jobs",
        action="store_true",
        help="serve with SCHEDULER_JOBS=false (no background duties in the worker)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    print(machine_report(plain_dsn(admin_url())))  # before our own CREATE DATABASE checkpoint
    with bench_database("availability") as (url, settings):
        log = settings.data_dir / "server.log"
        jobs = {"SCHEDULER_JOBS": "false"} if args.no_jobs else {}
        state = "off" if args.no_jobs else "on (as in production)"
        print(f"server: 1 worker, background jobs {state}")
        with scheduler_server(url, 1, log, extra_env=jobs) as (base, _):
            asyncio.run(run(args, url, settings, base))
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
