"""Booking throughput and release bursts on PostgreSQL, with the service run as in production,
against the floor of the stack.

1. Sustained: N closed-loop clients book random hours of 200 resources (capacity 50, open all
   day) as random residents from a pool, for a fixed time: req/s, p50/p99, status counts.
2. Sold out: the same load on one slot that is already full (every request refused with
   ``capacity``): the refusal rate against the booking rate (aim >= 2).
3. Burst: for C in 200, 1000 clients, a fresh resource with 100 units and one slot; all C
   requests are released at the same instant: successes (must equal the units), over-bookings
   counted in the database (must be 0), p50/p99 and total time.
4. Floor A: bench/floor_app.py (Litestar + one asyncpg INSERT of the same booking row into a
   copy of ``bookings``), same worker count, same load generator.
   Floor B: pgbench running, in one transaction, the SQL statements the service runs for one
   booking (captured in-process with SQLAlchemy event listeners, then turned into a pgbench
   script with the resource, resident and hour drawn at random: see pgbench_script).
It prints the service's throughput as a ratio of each floor, a summary table over the worker
counts (1, 2, 4 by default: how throughput scales), where the CPU goes per request
(service workers, PostgreSQL, load generator), and with --profile a py-spy summary of a worker.

Run (about 7 minutes on 2 cores)::

    .venv/bin/python bench/bookings.py
    .venv/bin/python bench/bookings.py --workers 2 4 8 --seconds 60 --profile   # bigger

Aims: service >= 0.5 x floor A; burst p99 < 1 s at 1000 clients on 2 cores.
PostgreSQL at SCHEDULER_BENCH_POSTGRES_URL (default postgresql+asyncpg://postgres@127.0.0.1/
postgres); a database ``bench_bookings_<random>`` is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    AvailabilityQueries,
    BookingBodies,
    CpuMeter,
    LoadResult,
    OwnRecords,
    Tokens,
    admin_url,
    bench_database,
    burst,
    free_port,
    machine_report,
    percentile,
    plain_dsn,
    run_loop,
    running,
    scheduler_server,
    sustained_processes,
)

from scheduler.db.bookings import ACTIVE
from scheduler.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
BURST_HEADER = (
    f"{'C':>5} {'wrk':>3} {'201/units':>9} {'over':>5} {'held':>5} {'p50 ms':>8} "
    f"{'p99 ms':>8} {'total ms':>8} {'req/s':>7} {'client-cpu':>5}"
)
PARTNER = "bench-centre"
RESOURCE_CAPACITY = 50
ALL_DAY_WINDOW = {
    "start_time": "00:00",
    "end_time": "24:00",
    "rrule": "FREQ=DAILY",
    "audience": "public",
}
BOOK_PATH = "/api/v1/bookings"


@dataclass
class Run:
    label: str
    workers: int
    result: LoadResult
    cpu: str


# --- setup --------------------------------------------------------------------------------


async def prepare_database(dsn: str, residents: int) -> None:
    """Residents known to the service (as after their first visit), and the floor's table."""
    connection = await asyncpg.connect(dsn)
    try:
        now = datetime.now(UTC)
        await connection.executemany(
            "INSERT INTO users (id, name, role, tags, verified, version, created_at, last_seen_at) "
            "VALUES ($1, $2, 'resident', '[]', true, 1, $3, $3)",
            [(f"bench-u-{i:05d}", f"Resident bench-u-{i:05d}", now) for i in range(residents)],
        )
        await connection.execute("CREATE TABLE floor_bookings (LIKE bookings INCLUDING ALL)")
    finally:
        await connection.close()


async def create_resources(base: str, tokens: Tokens, count: int) -> list[str]:
    staff = tokens.staff()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        response = await client.post(
            "/api/v1/partners",
            json={"id": PARTNER, "name": "Sanlin sports centre", "zone": "expo_park"},
            headers=staff,
        )
        assert response.status_code == 201, response.text
        gate = asyncio.Semaphore(8)

        async def one(index: int) -> str:
            async with gate:
                staff = tokens.staff()
                body = {
                    "id": f"bench-r-{index:04d}",
                    "partner_id": PARTNER,
                    "name": f"Court {index}",
                    "kind": "court",
                    "capacity": RESOURCE_CAPACITY,
                }
                created = await client.post("/api/v1/resources", json=body, headers=staff)
                assert created.status_code == 201, created.text
                resource_id = str(created.json()["id"])
                window = await client.post(
                    f"/api/v1/resources/{resource_id}/windows",
                    json=ALL_DAY_WINDOW,
                    headers=staff,
                )
                assert window.status_code == 201, window.text
                return resource_id

        return list(await asyncio.gather(*(one(i) for i in range(1, count + 1))))


async def create_unit_resource(base: str, tokens: Tokens, label: str, units: int) -> str:
    staff = tokens.staff()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        body = {
            "id": f"bench-burst-{label}",
            "partner_id": PARTNER,
            "name": f"Car park {label}",
            "kind": "parking",
            "units": [f"B1-{n:03d}" for n in range(1, units + 1)],
        }
        created = await client.post("/api/v1/resources", json=body, headers=staff)
        assert created.status_code == 201, created.text
        window = await client.post(
            f"/api/v1/resources/bench-burst-{label}/windows", json=ALL_DAY_WINDOW, headers=staff
        )
        assert window.status_code == 201, window.text
        return f"bench-burst-{label}"


# --- what the service runs per booking ----------------------------------------------------


async def capture_statements(
    settings: Settings, resource_id: str, sub: str, slot: datetime
) -> list[tuple[str, str, Any]]:
    """Book ``slot`` once in-process as ``sub``; every (kind, SQL, parameters) of the request."""
    from litestar.testing import AsyncTestClient
    from sqlalchemy import event

    from scheduler.app import create_app

    if "run_jobs" in Settings.__dataclass_fields__:
        settings = settings.with_overrides(run_jobs=False)  # only the request's statements
    app = create_app(settings)
    seen: list[tuple[str, str, Any]] = []
    engine = app.state.engine.sync_engine

    @event.listens_for(engine, "before_cursor_execute")
    def statement(conn: Any, cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        seen.append(("sql", " ".join(sql.split()), parameters))

    @event.listens_for(engine, "begin")
    def begin(*_: Any) -> None:
        seen.append(("tx", "BEGIN", None))

    @event.listens_for(engine, "commit")
    def commit(*_: Any) -> None:
        seen.append(("tx", "COMMIT", None))

    body = {
        "resource_id": resource_id,
        "starts_at": slot.isoformat(),
        "ends_at": (slot + timedelta(hours=1)).isoformat(),
    }
    async with AsyncTestClient(app=app) as client:
        await client.get("/health")
        # As in a running server: the resource's facts are already cached in the process.
        warm = await client.get(
            f"/api/v1/resources/{resource_id}/availability", headers=Tokens(settings).staff()
        )
        assert warm.status_code == 200, warm.text
        seen.clear()
        response = await client.post(BOOK_PATH, json=body, headers=Tokens(settings).resident(sub))
        assert response.status_code == 201, response.text
    return seen


def print_statements(seen: list[tuple[str, str, Any]]) -> None:
    statements = [sql for kind, sql, _ in seen if kind == "sql"]
    transactions = sum(1 for kind, _, _ in seen if kind == "tx")
    print(
        f"One booking (known resident, capacity resource, facts cached): "
        f"{len(statements)} SQL statements"
        f" + {transactions} BEGIN/COMMIT = {len(statements) + transactions} round trips to"
        " PostgreSQL (the pool does not pre-ping):"
    )
    for sql in statements:
        table = re.search(r"(FROM|INTO|UPDATE) (\w+)", sql)
        lock = " FOR UPDATE" if "FOR UPDATE" in sql else ""
        print(f"    {sql.split()[0]:<7} {table.group(2) if table else '?'}{lock}")


NEW_ID = re.compile(r"([a-z]+)_[0-9a-z]{19}")
RESOURCE_SQL = "('bench-r-' || lpad(:r::text, 4, '0'))"
RESIDENT_SQL = "('bench-u-' || lpad(:u::text, 5, '0'))"


def pgbench_script(
    seen: list[tuple[str, str, Any]], resource_id: str, sub: str, slot: datetime
) -> str:
    """The captured request as a pgbench script: the same statements, with the resource, the
    resident and the hour drawn at random and fresh ids, so transactions do not collide."""
    from datetime import date

    ids: dict[str, str] = {}
    now_reference: list[datetime] = []
    today = datetime.now(UTC).date()

    def literal(value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, datetime):
            delta = value - slot
            if delta % timedelta(hours=1) == timedelta(0) and abs(delta) < timedelta(days=40):
                hours = int(delta / timedelta(hours=1))
                return f"(date_trunc('hour', now()) + (:h + {hours}) * interval '1 hour')"
            if not now_reference:
                now_reference.append(value)
            seconds = (value - now_reference[0]).total_seconds()
            return f"(now() + interval '{seconds} seconds')"
        if isinstance(value, date):
            return f"(current_date + {(value - today).days})"
        if isinstance(value, list | tuple):
            return "ARRAY[" + ", ".join(literal(v) for v in value) + "]"
        text = str(value)
        if text == resource_id:
            return RESOURCE_SQL
        if text == sub:
            return RESIDENT_SQL
        match = NEW_ID.fullmatch(text)
        if match:
            tag = ids.setdefault(text, f"{match.group(1)}_pgb{len(ids)}_")
            return f"('{tag}' || :b)"
        return "'" + text.replace("'", "''") + "'"

    lines = [
        "\\set r random(1, :resources)",
        "\\set u random(0, :residents - 1)",
        "\\set h random(3, :hours)",
        "\\set b random(1, 1000000000000000)",
    ]
    for kind, sql, parameters in seen:
        if kind == "tx":
            lines.append(f"{sql};")
        else:
            values = list(parameters or ())

            def value(match: re.Match[str], values: list[Any] = values) -> str:
                return literal(values[int(match.group(1)) - 1])

            lines.append(re.sub(r"\$(\d+)", value, sql) + ";")
    return "\n".join(lines) + "\n"


# --- running the loads --------------------------------------------------------------------


def slot_origin() -> str:
    return (
        (datetime.now(UTC) + timedelta(hours=3))
        .replace(minute=0, second=0, microsecond=0)
        .isoformat()
    )


async def measure_sustained(
    label: str,
    workers: int,
    base: str,
    group: int,
    maker: BookingBodies | AvailabilityQueries | OwnRecords,
    args: argparse.Namespace,
    profile: bool = False,
    dsn: str | None = None,
) -> Run:
    await sustained_processes(
        base,
        args.concurrency,
        args.warmup,
        maker,
        BOOK_PATH,
        args.client_procs,
        client=args.client,
        reconnect_every=args.reconnect_every,
    )
    before = await xacts(dsn) if dsn else None
    with CpuMeter({"app": group, "client": os.getpgrp()}) as meter:
        result = await sustained_processes(
            base,
            args.concurrency,
            args.seconds,
            maker,
            BOOK_PATH,
            args.client_procs,
            client=args.client,
            reconnect_every=args.reconnect_every,
        )
    after = await xacts(dsn) if dsn else None
    run = Run(label, workers, result, meter.per_request(result.count))
    print(result.line(f"{label} ({workers} workers)"))
    print(f"{'':34} {run.cpu}")
    shares = [f"{seconds / args.seconds:.2f}" for seconds in meter.processes("app")]
    print(f"{'':34} app processes, cores used each: {' '.join(shares)}")
    if before and after:
        # In-flight requests at the edges are not in result.count: these are approximate.
        print(
            f"{'':34} PostgreSQL per request: "
            f"{(after[0] - before[0]) / max(result.count, 1):.2f} transactions, "
            f"{(after[1] - before[1]) / max(result.count, 1):.2f} rows written"
        )
    if profile:
        # A separate run: sampling pauses the worker, so it must not touch the figures above.
        load = asyncio.create_task(
            sustained_processes(
                base,
                args.concurrency,
                args.profile_seconds + 3,
                maker,
                BOOK_PATH,
                args.client_procs,
                client=args.client,
                reconnect_every=args.reconnect_every,
            )
        )
        await asyncio.sleep(1)
        profiler = start_profile(await busiest_worker(group), args.profile_seconds)
        await load
        if profiler is not None:
            summarize_profile(*profiler)
    return run


async def create_sold_out(base: str, tokens: Tokens, label: str) -> tuple[str, str]:
    """A resource of one place whose one slot is already booked: every request is refused."""
    staff = tokens.staff()
    resource_id = f"bench-full-{label}"
    start = (datetime.fromisoformat(slot_origin()) + timedelta(hours=30)).isoformat()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        body = {
            "id": resource_id,
            "partner_id": PARTNER,
            "name": f"Court {label} (sold out)",
            "kind": "court",
            "capacity": 1,
        }
        created = await client.post("/api/v1/resources", json=body, headers=staff)
        assert created.status_code == 201, created.text
        window = await client.post(
            f"/api/v1/resources/{resource_id}/windows", json=ALL_DAY_WINDOW, headers=staff
        )
        assert window.status_code == 201, window.text
        end = (datetime.fromisoformat(start) + timedelta(hours=1)).isoformat()
        taken = await client.post(
            BOOK_PATH,
            json={"resource_id": resource_id, "starts_at": start, "ends_at": end},
            headers=tokens.resident("bench-first-comer"),
        )
        assert taken.status_code == 201, taken.text
    return resource_id, start


async def held_on_postgres(
    dsn: str, resource_id: str, start: datetime
) -> tuple[list[str | None], int | None]:
    """The units of the active bookings of ``resource_id`` at ``start``, and what the
    ledger says is held there."""
    connection = await asyncpg.connect(dsn)
    try:
        active = await connection.fetch(
            "SELECT unit FROM bookings WHERE resource_id = $1 AND status = ANY($2::text[]) "
            "AND starts_at < $4 AND ends_at > $3",
            resource_id,
            list(ACTIVE),
            start,
            start + timedelta(hours=1),
        )
        held = await connection.fetchval(
            "SELECT held FROM slot_holdings WHERE resource_id = $1 AND slot_start = $2",
            resource_id,
            start,
        )
    finally:
        await connection.close()
    return [row["unit"] for row in active], held


def held_on_sqlite(
    path: Path, resource_id: str, start: datetime
) -> tuple[list[str | None], int | None]:
    """``held_on_postgres`` for the SQLite file (instants are UTC text there)."""

    def text(instant: datetime) -> str:
        return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    marks = ", ".join("?" for _ in ACTIVE)
    with sqlite3.connect(path) as connection:
        active = connection.execute(
            f"SELECT unit FROM bookings WHERE resource_id = ? AND status IN ({marks}) "
            "AND starts_at < ? AND ends_at > ?",
            (resource_id, *ACTIVE, text(start + timedelta(hours=1)), text(start)),
        ).fetchall()
        held = connection.execute(
            "SELECT held FROM slot_holdings WHERE resource_id = ? AND slot_start = ?",
            (resource_id, text(start)),
        ).fetchone()
    return [row[0] for row in active], held[0] if held else None


async def measure_burst(
    base: str,
    tokens: Tokens,
    dsn: str | Path,
    clients: int,
    units: int,
    workers: int,
    headers: list[dict[str, str]],
    args_client: str,
) -> str:
    """``dsn``: the PostgreSQL database, or the SQLite file, to count the bookings in."""
    resource_id = await create_unit_resource(base, tokens, f"w{workers}-c{clients}", units)
    start = datetime.fromisoformat(slot_origin()) + timedelta(hours=24)
    body = {
        "resource_id": resource_id,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
    }
    result = await burst(
        base, [(headers[i], body) for i in range(clients)], BOOK_PATH, client=args_client
    )
    if isinstance(dsn, Path):
        active, held = held_on_sqlite(dsn, resource_id, start)
    else:
        active, held = await held_on_postgres(dsn, resource_id, start)
    per_unit = Counter(active)
    over = max(0, len(active) - units) + sum(n - 1 for n in per_unit.values() if n > 1)
    successes = result.statuses.get(201, 0)
    ms = [x * 1000 for x in result.latencies]
    codes = " ".join(f"{k}:{v}" for k, v in sorted(result.statuses.items(), key=str))
    verdict = "ok" if successes == units and over == 0 and held == units else "WRONG"
    return (
        f"{clients:>5} {workers:>3} {successes:>5}/{units:<3} {over:>5} {held!s:>5} "
        f"{percentile(ms, 0.5):8.0f} {percentile(ms, 0.99):8.0f} {result.seconds * 1000:8.0f} "
        f"{clients / result.seconds:7.0f} {result.client_cpu_share:5.2f}  {verdict}  [{codes}]"
    )


# --- py-spy ---------------------------------------------------------------------------------


async def busiest_worker(group: int) -> int:
    """The uvicorn worker of a server process group that uses the most CPU right now."""

    def workers() -> dict[int, float]:
        found = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == group and b"spawn_main" in cmdline:
                found[int(entry)] = int(fields[11]) + int(fields[12])
        return found

    before = workers()
    await asyncio.sleep(1)
    after = workers()
    if not after:
        return group  # one worker: uvicorn serves in the server process itself
    return max(after, key=lambda pid: after[pid] - before.get(pid, 0))


def start_profile(pid: int, seconds: float) -> tuple[subprocess.Popen[bytes], Path, float] | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("(py-spy not installed: `.venv/bin/pip install py-spy`; no profile)")
        return None
    output = Path(tempfile.mkdtemp(prefix="bench-pyspy-")) / "worker.txt"
    duration = max(1, int(seconds))
    process = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(duration),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, output, float(duration)


IDLE_LEAVES = (
    "Runner.run (asyncio/runners.py:118)",  # the event loop waiting in uvloop (C)
    "_worker (concurrent/futures/thread.py:81)",  # a thread-pool thread waiting for work
    "Connection._recv (multiprocessing/connection.py",  # uvicorn's supervisor ping thread
)
MAIN_THREAD = "Runner.run (asyncio/runners.py"


def package_of(frame: str) -> str:
    """``Session.execute (sqlalchemy/orm/session.py:2555)`` -> ``sqlalchemy``."""
    found = re.search(r"\(([^/ ]+)/", frame)
    if found:
        return found.group(1) if found.group(1) != "scheduler" else "scheduler (service code)"
    return re.sub(r"[ :].*", "", frame.rpartition("(")[2]) or "?"


def summarize_profile(process: subprocess.Popen[bytes], output: Path, seconds: float) -> None:
    """Where one worker's CPU goes, from py-spy's raw stacks (all threads, idle removed)."""
    process.wait(timeout=seconds + 60)
    if not output.exists():
        print("  (py-spy produced no profile)")
        return
    samples: list[tuple[list[str], int]] = []
    for line in output.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples.append((stack.split(";"), int(count)))
    main = sum(c for frames, c in samples if any(MAIN_THREAD in f for f in frames))
    busy = [(frames, c) for frames, c in samples if not frames[-1].startswith(IDLE_LEAVES)]
    total = sum(c for _, c in busy)
    if not total or not main:
        print("  (py-spy: no samples)")
        return
    main_busy = sum(c for frames, c in busy if any(MAIN_THREAD in f for f in frames))
    pool = sum(c for frames, c in busy if any("concurrent/futures/thread.py" in f for f in frames))
    blocking = sum(c for frames, c in busy if any("psycopg/" in f for f in frames))
    print(
        f"  py-spy, one worker, {seconds:.0f} s at 200 Hz: event-loop thread busy "
        f"{main_busy / main:.0%} of the time; of all busy samples, {pool / total:.0%} in "
        f"thread-pool threads (sync guards), {blocking / total:.0%} blocked in sync psycopg "
        "(APScheduler job store on the event loop)"
    )
    packages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    for frames, count in busy:
        packages[package_of(frames[-1])] += count
        leaves[frames[-1]] += count
        for frame in {re.sub(r":\d+\)$", ")", f) for f in frames}:
            if "(scheduler/" in frame:
                ours[frame] += count
    print(
        "    self time by package: "
        + ", ".join(f"{name} {count / total:.0%}" for name, count in packages.most_common(12))
    )
    print("    top self time:")
    for frame, count in leaves.most_common(8):
        print(f"    {count / total:6.1%}  {frame[:110]}")
    print("    service functions, inclusive:")
    for frame, count in ours.most_common(16):
        print(f"    {count / total:6.1%}  {frame[:110]}")
    print(f"    (raw stacks: {output})")


# --- floors -------------------------------------------------------------------------------


async def measure_floor_a(
    url: str,
    workers: int,
    maker: BookingBodies,
    args: argparse.Namespace,
    log_dir: Path,
    state: dict[str, Any],
) -> Run:
    """Floor A's booking endpoint; its availability endpoint goes into
    ``state["bare_availability"]``."""
    port = free_port()
    env = {"FLOOR_DATABASE_URL": plain_dsn(url), "FLOOR_POOL_SIZE": str(pool(args, workers))}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(BENCH_DIR),
        "floor_app:create_app",
        "--factory",
        "--workers",
        str(workers),
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    with running(command, env, log_dir / f"floor-{workers}.log", port) as (base, process):
        group = os.getpgid(process.pid)
        run = await measure_sustained(
            "floor A: Litestar + 1 INSERT", workers, base, group, maker, args
        )
        queries = AvailabilityQueries(state["resources"], state["headers"], seed=3)
        state.setdefault("bare_availability", {})[workers] = await measure_sustained(
            "floor A: GET the ledger rows of 7 days",
            workers,
            base,
            group,
            queries,
            lasting(args, args.availability_seconds),
        )
        return run


def pgbench_variants(script_text: str) -> list[tuple[str, str]]:
    lines = script_text.splitlines()
    writes = [ln for ln in lines if ln.startswith("\\set")] + ["BEGIN;"]
    writes += [
        ln
        for ln in lines
        if ln.startswith(("INSERT", "UPDATE", "WITH"))
        or ("FOR UPDATE" in ln and "FROM users" in ln)
    ]
    writes.append("COMMIT;")
    return [
        ("floor B: pgbench, the same SQL", script_text),
        ("  only the lock and the writes", "\n".join(writes) + "\n"),
    ]


def measure_floor_b(url: str, args: argparse.Namespace, log_dir: Path, script_text: str) -> float:
    """pgbench on each variant of the captured booking transaction; the first one's tps."""
    pgbench = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    if not Path(pgbench).exists():
        print("(pgbench not found: install postgresql-client-15)")
        return float("nan")
    variants = (
        pgbench_variants(script_text)
        if args.pgbench_variants
        else [("floor B: pgbench, the same SQL", script_text)]
    )
    first = float("nan")
    for index, (label, text) in enumerate(variants):
        statements = sum(1 for line in text.splitlines() if line and not line.startswith("\\"))
        tps = run_pgbench(
            pgbench, url, args, log_dir / f"booking-{index}.sql", text, label, statements
        )
        if index == 0:
            first = tps
    return first


def run_pgbench(
    pgbench: str,
    url: str,
    args: argparse.Namespace,
    script: Path,
    text: str,
    label: str,
    statements: int,
) -> float:
    script.write_text(text)
    command = [
        pgbench,
        "-n",
        "-M",
        "prepared",
        "-c",
        str(args.pgbench_clients),
        "-j",
        "2",
        "-T",
        str(args.pgbench_seconds),
        "-D",
        f"resources={args.resources}",
        "-D",
        f"residents={args.residents}",
        "-D",
        f"hours={args.horizon_hours}",
        "-f",
        str(script),
        plain_dsn(url),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    with CpuMeter({"pgbench": process.pid}) as meter:
        out, _ = process.communicate(timeout=args.pgbench_seconds + 120)
    output = out.decode()
    found = re.search(r"tps = ([0-9.]+)", output)
    transactions = re.search(r"number of transactions actually processed: (\d+)", output)
    failed = re.search(r"number of failed transactions: (\d+)", output)
    if not found:
        print(output)
        return float("nan")
    count = int(transactions.group(1)) if transactions else 0
    latency = re.search(r"latency average = ([0-9.]+) ms", output)
    print(
        f"{label:<34} {float(found.group(1)):8.1f} tps    "
        f"avg {float(latency.group(1)) if latency else float('nan'):7.1f} ms  "
        f"n={count} failed={failed.group(1) if failed else '?'} "
        f"({statements} round trips; -c {args.pgbench_clients} -T {args.pgbench_seconds} "
        "-M prepared)"
    )
    print(f"{'':34} {meter.per_request(count)}")
    return float(found.group(1))


async def xacts(dsn: str) -> tuple[int, int]:
    connection = await asyncpg.connect(dsn)
    try:
        row = await connection.fetchrow(
            "SELECT xact_commit + xact_rollback AS x, tup_inserted + tup_updated AS w "
            "FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(row["x"]), int(row["w"])
    finally:
        await connection.close()


# --- main ---------------------------------------------------------------------------------


async def duty_runs(base: str) -> tuple[int, int]:
    """(runs, failures) of every duty so far, from ``/health``."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        duties = (await client.get("/health")).json()["duties"]
    return sum(d["runs"] for d in duties), sum(d["failures"] for d in duties)


async def sqlite_phase(settings: Settings, args: argparse.Namespace, log_dir: Path) -> None:
    """The embedded default: one worker on a SQLite file, the job scheduler on (every second)."""
    from scheduler.db.migrate import upgrade

    data_dir = log_dir / "sqlite"
    data_dir.mkdir(exist_ok=True)
    path = data_dir / "bench.db"
    url = f"sqlite+aiosqlite:///{path}"
    # Alembic's env runs its own event loop: in a thread, off this one.
    await asyncio.to_thread(upgrade, settings.with_overrides(database_url=url, data_dir=data_dir))
    env = {
        "SCHEDULER_MAX_CONCURRENCY": str(args.max_concurrency),
        "SCHEDULER_JOBS_INTERVAL_SECONDS": "1",
        "SCHEDULER_DATA_DIR": str(data_dir),
    }
    tokens = Tokens(settings)
    print("\nSQLite (embedded default), 1 worker, jobs every second:")
    with scheduler_server(url, 1, log_dir / "service-sqlite.log", 1, env) as (base, process):
        group = os.getpgid(process.pid)
        resources = await create_resources(base, tokens, 20)
        headers = [tokens.resident(f"bench-s-{i:05d}") for i in range(args.residents)]
        maker = BookingBodies(resources, headers, slot_origin(), args.horizon_hours, seed=4)
        runs = [
            await measure_sustained(
                "sqlite: POST /api/v1/bookings",
                1,
                base,
                group,
                maker,
                lasting(args, args.sqlite_seconds),
            )
        ]
        full, start = await create_sold_out(base, tokens, "sqlite")
        runs.append(
            await measure_sustained(
                "sqlite: sold out (all 409 capacity)",
                1,
                base,
                group,
                BookingBodies([full], headers, start, 1, seed=5),
                lasting(args, args.sqlite_seconds),
            )
        )
        before = await duty_runs(base)
        lines = [
            await measure_burst(base, tokens, path, clients, args.units, 1, headers, args.client)
            for clients in args.bursts
        ]
        await asyncio.sleep(2)  # a duty that was waiting for the database finishes its run
        after = await duty_runs(base)
    print(BURST_HEADER)
    for line in lines:
        print(line)
    print(
        f"job scheduler during the bursts: {after[0] - before[0]} duty runs, "
        f"{after[1] - before[1]} failures"
    )
    booking, refusal = runs[0].result.rate, runs[1].result.rate
    print(f"sqlite: {booking:.1f} bookings/s, {refusal:.1f} refusals/s ({refusal / booking:.2f} x)")


def lasting(args: argparse.Namespace, seconds: float) -> argparse.Namespace:
    """``args`` with a phase's own measuring time."""
    return argparse.Namespace(**{**vars(args), "seconds": seconds})


def pool(args: argparse.Namespace, workers: int) -> int:
    """The same number of database connections whatever the worker count."""
    return max(2, args.db_connections // workers)


async def service_phase(
    url: str,
    settings: Settings,
    workers: int,
    args: argparse.Namespace,
    first: bool,
    state: dict[str, Any],
    log_dir: Path,
) -> tuple[Run, list[str]]:
    tokens = Tokens(settings)
    dsn = plain_dsn(url)
    # A deployment that expects release bursts admits every connection of one (the default
    # SCHEDULER_MAX_CONCURRENCY of 200 per worker answers the rest 503 at once).
    admit = {"SCHEDULER_MAX_CONCURRENCY": str(args.max_concurrency)}
    with scheduler_server(
        url, workers, log_dir / f"service-{workers}.log", pool(args, workers), admit
    ) as (
        base,
        process,
    ):
        if first:
            state["resources"] = await create_resources(base, tokens, args.resources)
            subs = [f"bench-u-{i:05d}" for i in range(args.residents)]
            headers = [tokens.resident(sub) for sub in subs]
            state["subs"], state["headers"] = subs, headers
            state["maker"] = BookingBodies(
                state["resources"], headers, slot_origin(), args.horizon_hours, seed=1
            )
        group = os.getpgid(process.pid)
        run = await measure_sustained(
            "service: POST /api/v1/bookings",
            workers,
            base,
            group,
            state["maker"],
            args,
            args.profile and first,
            dsn,
        )
        queries = AvailabilityQueries(state["resources"], state["headers"], seed=3)
        state.setdefault("availability", {})[workers] = await measure_sustained(
            "service: GET availability, 7 days",
            workers,
            base,
            group,
            queries,
            lasting(args, args.availability_seconds),
        )
        state.setdefault("own_record", {})[workers] = await measure_sustained(
            "service: GET /api/v1/users/{own sub} (the fixed cost of a request)",
            workers,
            base,
            group,
            OwnRecords(state["subs"], state["headers"], seed=6),
            lasting(args, args.availability_seconds),
        )
        full, start = await create_sold_out(base, tokens, f"w{workers}")
        refusals = BookingBodies([full], state["headers"], start, 1, seed=2)
        state.setdefault("sold_out", {})[workers] = await measure_sustained(
            "sold out: POST (all 409 capacity)",
            workers,
            base,
            group,
            refusals,
            lasting(args, args.sold_out_seconds),
        )
        lines = []
        for clients in args.bursts:
            lines.append(
                await measure_burst(
                    base, tokens, dsn, clients, args.units, workers, state["headers"], args.client
                )
            )
        return run, lines


async def run_all(url: str, settings: Settings, args: argparse.Namespace, log_dir: Path) -> None:
    dsn = plain_dsn(url)
    await prepare_database(dsn, args.residents)
    state: dict[str, Any] = {}
    script = ""
    services: list[Run] = []
    bursts: list[str] = []
    floors: dict[int, Run] = {}
    print(
        f"load: {args.concurrency} closed-loop {args.client} HTTP clients in "
        f"{args.client_procs} process(es), new connection every {args.reconnect_every} requests, "
        f"{args.seconds:.0f} s after {args.warmup:.0f} s warm-up; {args.resources} resources x "
        f"{args.horizon_hours} hours, {args.residents} residents; {args.db_connections} DB "
        f"connections per server (pool split over its workers); SCHEDULER_MAX_CONCURRENCY="
        f"{args.max_concurrency} per worker\n"
    )
    for index, workers in enumerate(args.workers):
        run, lines = await service_phase(url, settings, workers, args, index == 0, state, log_dir)
        services.append(run)
        bursts += lines
        if index == 0:
            print()
            slot = datetime.fromisoformat(slot_origin()) + timedelta(hours=27)
            resource_id, sub = state["resources"][0], "bench-u-00000"
            seen = await capture_statements(settings, resource_id, sub, slot)
            print_statements(seen)
            script = pgbench_script(seen, resource_id, sub, slot)
            print()
        floors[workers] = await measure_floor_a(url, workers, state["maker"], args, log_dir, state)
        print()
    pgbench_tps = measure_floor_b(url, args, log_dir, script)
    print(f"\nBurst: C clients released at once on one slot of a resource with {args.units} units")
    print(BURST_HEADER)
    for line in bursts:
        print(line)
    print("\nRatios (service req/s / floor):")
    for run in services:
        floor = floors[run.workers]
        print(
            f"  {run.workers} workers: service {run.result.rate:7.1f} req/s = "
            f"{run.result.rate / floor.result.rate:5.2f} x floor A ({floor.result.rate:.1f}), "
            f"{run.result.rate / pgbench_tps:5.2f} x floor B pgbench ({pgbench_tps:.1f} tps)   "
            f"(aim >= 0.5 x floor A)"
        )
    print_summary(services, floors, state.get("sold_out", {}))
    print_fixed_cost(services, floors, state)
    print_availability(services, state)
    if args.sqlite:
        await sqlite_phase(settings, args, log_dir)


def print_summary(services: list[Run], floors: dict[int, Run], sold_out: dict[int, Run]) -> None:
    """One table for the issue's targets: the ratio, the p99s, refusals vs bookings, scaling."""
    print("\nSummary (same run, same load generator):")
    print(
        f"{'wrk':>3} {'service req/s':>13} {'p99 ms':>7} {'bare req/s':>10} {'p99 ms':>7} "
        f"{'ratio':>5} {'sold-out req/s':>14} {'p99 ms':>7} {'refusal/booking':>15} "
        f"{'x 1st':>5}"
    )
    first = services[0].result.rate if services else float("nan")
    for run in services:
        bare = floors[run.workers].result
        full = sold_out.get(run.workers)
        full_rate = full.result.rate if full else float("nan")
        print(
            f"{run.workers:>3} {run.result.rate:13.1f} {p99(run):7.1f} {bare.rate:10.1f} "
            f"{p99(floors[run.workers]):7.1f} {run.result.rate / bare.rate:5.2f} "
            f"{full_rate:14.1f} {p99(full) if full else float('nan'):7.1f} "
            f"{full_rate / run.result.rate:15.2f} {run.result.rate / first:5.2f}"
        )
    print(
        "aims: ratio >= 0.5 and service p99 < 50 ms at 32 connections; refusal/booking >= 2; "
        "burst p99 < 1 s with exactly the units booked"
    )


def print_fixed_cost(services: list[Run], floors: dict[int, Run], state: dict[str, Any]) -> None:
    """What any authenticated request costs before its own work, against floor A: a ceiling
    on the booking's ratio that no booking-path change can lift."""
    print("\nThe fixed cost: a resident reading their own record (auth, provisioning, 1 read):")
    print(f"{'wrk':>3} {'req/s':>9} {'p99 ms':>7} {'x floor A':>9} {'booking / it':>12}")
    for run in services:
        own = state["own_record"][run.workers]
        print(
            f"{run.workers:>3} {own.result.rate:9.1f} {p99(own):7.1f} "
            f"{own.result.rate / floors[run.workers].result.rate:9.2f} "
            f"{run.result.rate / own.result.rate:12.2f}"
        )


def print_availability(services: list[Run], state: dict[str, Any]) -> None:
    """The availability target: one resource's 7 days against the bare ledger read."""
    print("\nAvailability of one resource for 7 days (GET, same load generator):")
    print(f"{'wrk':>3} {'service req/s':>13} {'p99 ms':>7} {'bare req/s':>10} {'p99 ms':>7} ratio")
    for run in services:
        served = state["availability"][run.workers]
        bare = state["bare_availability"][run.workers]
        print(
            f"{run.workers:>3} {served.result.rate:13.1f} {p99(served):7.1f} "
            f"{bare.result.rate:10.1f} {p99(bare):7.1f} "
            f"{served.result.rate / bare.result.rate:5.2f}"
        )
    print("aim: ratio >= 0.5")


def p99(run: Run) -> float:
    return percentile([x * 1000 for x in run.result.latencies], 0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=32, help="sustained clients")
    parser.add_argument("--seconds", type=float, default=20, help="sustained measuring time")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--client-procs", type=int, default=1, help="load generator processes")
    parser.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="HTTP client of the load generator (httpx costs ~5 ms CPU/request)",
    )
    parser.add_argument(
        "--reconnect-every",
        type=int,
        default=25,
        help="a client opens a new connection every N requests (0: never); keeps uvicorn "
        "workers evenly loaded, as many real clients do",
    )
    parser.add_argument("--bursts", type=int, nargs="+", default=[200, 1000])
    parser.add_argument(
        "--max-concurrency", type=int, default=1200, help="the server's connection limit"
    )
    parser.add_argument("--units", type=int, default=100, help="places in the burst's slot")
    parser.add_argument("--sold-out-seconds", type=float, default=10)
    parser.add_argument("--availability-seconds", type=float, default=10)
    parser.add_argument("--no-sqlite", dest="sqlite", action="store_false", help="skip SQLite")
    parser.add_argument("--sqlite-seconds", type=float, default=10)
    parser.add_argument("--resources", type=int, default=200)
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument("--horizon-hours", type=int, default=12 * 24)
    parser.add_argument(
        "--db-connections",
        type=int,
        default=20,
        help="DB connections per server, split over its workers",
    )
    parser.add_argument("--pgbench-clients", type=int, default=8)
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument(
        "--no-pgbench-variants",
        dest="pgbench_variants",
        action="store_false",
        help="skip pgbench with only the lock and the writes",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy one worker (1st run)")
    parser.add_argument("--profile-seconds", type=float, default=10)
    args = parser.parse_args()
    args.residents = max(args.residents, max(args.bursts))
    started = time.perf_counter()
    print(machine_report(plain_dsn(admin_url())))  # before our own CREATE DATABASE checkpoint
    with bench_database("bookings") as (url, settings):
        run_loop(run_all(url, settings, args, settings.data_dir))
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
