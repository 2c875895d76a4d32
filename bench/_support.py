"""Shared plumbing for the benchmarks: a throw-away PostgreSQL database, the real server run
as in production, bearer tokens, a small concurrent HTTP load generator and statistics.

Not a benchmark itself; imported by the scripts in this folder (``python bench/<name>.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from scheduler.auth.tokens import mint_token
from scheduler.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
BENCH_SECRET = "bench-secret-0123456789abcdef0123456789abcdef"


def admin_url() -> str:
    return os.environ.get("SCHEDULER_BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL)


def plain_dsn(url: str) -> str:
    """``postgresql+asyncpg://…`` -> ``postgresql://…`` for asyncpg and libpq tools."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(plain_dsn(admin_url()), timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextmanager
def bench_database(label: str) -> Iterator[tuple[str, Settings]]:
    """Create ``bench_<label>_<random>``, migrate it, yield (url, settings), drop it."""
    from scheduler.db.migrate import upgrade

    name = f"bench_{label}_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    data_dir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    url = make_url(admin_url()).set(database=name).render_as_string(hide_password=False)
    settings = Settings(
        data_dir=data_dir, database_url=url, jwt_secret=BENCH_SECRET, log_level="WARNING"
    )
    try:
        upgrade(settings)
        yield url, settings
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(data_dir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(
    base: str, process: subprocess.Popen[bytes], path: str, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with status {process.returncode}")
        try:
            if httpx.get(base + path, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"server at {base} did not become healthy")


@contextmanager
def running(
    command: list[str], env: dict[str, str], log_path: Path, port: int, health: str = "/health"
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``command`` (which must listen on ``port``) in its own process group; yield its
    base URL; stop the whole group afterwards (uvicorn's worker processes included)."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, process, health)
            yield base, process
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def scheduler_server(
    url: str,
    workers: int,
    log_path: Path,
    pool_size: int = 10,
    extra_env: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``python -m scheduler serve --workers N`` against ``url``."""
    port = free_port()
    env = {
        **(extra_env or {}),
        "SCHEDULER_DATABASE_URL": url,
        "SCHEDULER_JWT_SECRET": BENCH_SECRET,
        "SCHEDULER_LOG_LEVEL": "WARNING",
        "SCHEDULER_DB_POOL_SIZE": str(pool_size),
        "SCHEDULER_DATA_DIR": str(log_path.parent),
    }
    command = [sys.executable, "-m", "scheduler", "serve", "--workers", str(workers)]
    with running([*command, "--port", str(port)], env, log_path, port) as started:
        yield started


class Tokens:
    """Bearer headers. Staff calls rotate over many staff members, because the service limits
    requests per token (SCHEDULER_RATE_LIMIT, 600/minute by default)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.staff_calls = 0

    def headers(self, role: str, sub: str, **claims: Any) -> dict[str, str]:
        token = mint_token(self.settings, sub=sub, role=role, ttl_seconds=6 * 3600, **claims)
        return {"Authorization": f"Bearer {token}"}

    def staff(self) -> dict[str, str]:
        self.staff_calls += 1
        return self.headers("staff", f"staff-bench-{self.staff_calls % 100:02d}")

    def resident(self, sub: str) -> dict[str, str]:
        return self.headers("resident", sub, name=f"Resident {sub}")


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class LoadResult:
    """What a load run observed, from the client's side."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[object] = field(default_factory=Counter)
    client_cpu_seconds: float = 0.0
    bodies: list[Any] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else float("nan")

    @property
    def client_cpu_share(self) -> float:
        """Client CPU time / wall time: 1.0 means one core was busy generating load."""
        return self.client_cpu_seconds / self.seconds if self.seconds else float("nan")

    def line(self, label: str) -> str:
        ms = [x * 1000 for x in self.latencies]
        codes = " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items(), key=str))
        return (
            f"{label:<34} {self.rate:8.1f} req/s  p50 {percentile(ms, 0.5):7.1f} ms  "
            f"p99 {percentile(ms, 0.99):7.1f} ms  n={self.count:<6} client-cpu "
            f"{self.client_cpu_share:4.2f} core  [{codes}]"
        )


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


# --- HTTP clients for the load generator ----------------------------------------------------
#
# httpx costs about 5 ms of client CPU per request, more than the floor endpoint itself, so on
# a 2-core machine it would bound the floor. The "raw" client writes HTTP/1.1 requests on one
# keep-alive connection per simulated client and reads Content-Length (or chunked) responses;
# it costs a few tenths of a millisecond. Both are "the same load generator" for every target.


def status_of(status: int, body: bytes) -> object:
    """201, or ``409/capacity`` for a problem response."""
    if status < 400:
        return status
    try:
        return f"{status}/{json.loads(body).get('code')}"
    except ValueError:
        return status


class RawConnection:
    """One HTTP/1.1 keep-alive connection; requests are sent one at a time."""

    def __init__(self, base: str) -> None:
        parsed = urlsplit(base)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
            self.reader = self.writer = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if body:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if "content-length" in fields:
            payload = await self.reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            payload = b"".join(parts)
        else:
            payload = b""
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, payload


class Posters:
    """``count`` independent clients of one kind ("raw" or "httpx") for a base URL."""

    def __init__(self, kind: str, base: str, count: int) -> None:
        self.kind = kind
        self.count = count
        if kind == "httpx":
            limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
            self.client = httpx.AsyncClient(base_url=base, timeout=120, limits=limits)
        elif kind == "raw":
            self.connections = [RawConnection(base) for _ in range(count)]
        else:
            raise ValueError(f"unknown client {kind!r}")

    async def warm(self) -> None:
        """Open every connection now, so measurements do not include TCP handshakes."""
        if self.kind == "raw":
            await asyncio.gather(*(c.request("GET", "/health", {}) for c in self.connections))
        else:
            await asyncio.gather(*(self.client.get("/health") for _ in range(self.count)))

    async def post(
        self, index: int, path: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """POST ``body`` as JSON to ``path``, or GET ``path`` when ``body`` is None."""
        if self.kind == "raw":
            if body is None:
                return await self.connections[index].request("GET", path, headers)
            return await self.connections[index].request(
                "POST", path, headers, json.dumps(body).encode()
            )
        if body is None:
            response = await self.client.get(path, headers=headers)
        else:
            response = await self.client.post(path, json=body, headers=headers)
        return response.status_code, response.content

    async def close(self) -> None:
        if self.kind == "raw":
            await asyncio.gather(*(c.close() for c in self.connections))
        else:
            await self.client.aclose()


async def sustained(
    base: str,
    concurrency: int,
    seconds: float,
    make_request: Any,
    path: str,
    warmup: float = 0.0,
    client: str = "raw",
    reconnect_every: int = 0,
) -> LoadResult:
    """``concurrency`` closed-loop clients POST ``make_request()`` bodies to ``path`` for
    ``seconds`` (after ``warmup`` seconds whose requests are not counted). A maker may return
    ``(headers, None, target)`` instead of ``(headers, body)``: a GET of ``target``. With
    ``reconnect_every`` N, a client opens a new connection every N requests."""
    posters = Posters(client, base, concurrency)
    try:
        await posters.warm()
        result = LoadResult(seconds=seconds)
        start = time.perf_counter()
        measuring_from = start + warmup
        stop_at = measuring_from + seconds
        cpu_at_measure: list[float] = []

        async def one_client(index: int) -> None:
            sent = 0
            while time.perf_counter() < stop_at:
                sent += 1
                if reconnect_every and sent % reconnect_every == 0 and client == "raw":
                    await posters.connections[index].close()
                headers, body, *target = make_request()
                began = time.perf_counter()
                status, payload = await posters.post(index, *target or [path], body, headers)
                ended = time.perf_counter()
                # Requests still in flight when the clock runs out are not counted.
                if began >= measuring_from and ended <= stop_at:
                    result.latencies.append(ended - began)
                    result.statuses[status_of(status, payload)] += 1

        async def mark_cpu() -> None:
            await asyncio.sleep(warmup)
            cpu_at_measure.append(cpu_seconds())

        marker = asyncio.create_task(mark_cpu())
        await asyncio.gather(*(one_client(i) for i in range(concurrency)))
        await marker
        result.client_cpu_seconds = cpu_seconds() - cpu_at_measure[0]
        return result
    finally:
        await posters.close()


async def burst(
    base: str,
    requests: list[tuple[dict[str, str], dict[str, Any]]],
    path: str,
    client: str = "raw",
) -> LoadResult:
    """Every request released at the same instant, each on its own new connection (as phones
    at a release do; connections opened beforehand would all land on whichever uvicorn worker
    accepted first)."""
    posters = Posters(client, base, len(requests))
    try:
        gate = asyncio.Event()
        result = LoadResult(seconds=0.0)

        async def one(index: int, headers: dict[str, str], body: dict[str, Any]) -> None:
            await gate.wait()
            began = time.perf_counter()
            status, payload = await posters.post(index, path, body, headers)
            result.latencies.append(time.perf_counter() - began)
            result.statuses[status_of(status, payload)] += 1
            if status == 201:
                result.bodies.append(json.loads(payload))

        tasks = [asyncio.create_task(one(i, h, b)) for i, (h, b) in enumerate(requests)]
        await asyncio.sleep(0.2)
        cpu = cpu_seconds()
        started = time.perf_counter()
        gate.set()
        await asyncio.gather(*tasks)
        result.seconds = time.perf_counter() - started
        result.client_cpu_seconds = cpu_seconds() - cpu
        return result
    finally:
        await posters.close()


# --- where the CPU goes ------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> tuple[str, int, float] | None:
    """(comm, process group, CPU seconds) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            text = handle.read()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is state; pgrp is field 5 of stat (index 2 here); utime, stime 14, 15.
    return comm, int(fields[2]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _machine_busy() -> tuple[float, float]:
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


class CpuMeter:
    """CPU seconds spent, while running, by named process groups and by PostgreSQL.

    A thread polls /proc every 0.2 s, so processes that start and end inside the window are
    counted (up to the last poll). Use as ``with CpuMeter({"service": pgid}) as meter: ...``.
    """

    def __init__(self, groups: dict[str, int]) -> None:
        import threading

        self.groups = groups
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self.wall = 0.0
        self.busy = 0.0

    def _category(self, comm: str, pgrp: int) -> str | None:
        for name, group in self.groups.items():
            if pgrp == group:
                return name
        if comm == "postgres" or comm.startswith("postgres"):
            return "postgres"
        return None

    def _sample(self, initial: bool) -> None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            found = _proc_stat(int(entry))
            if found is None:
                continue
            comm, pgrp, cpu = found
            category = self._category(comm, pgrp)
            if category is None:
                continue
            pid = int(entry)
            if pid not in self.first:
                self.first[pid] = cpu if initial else 0.0
            self.last[pid] = (category, cpu)

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            self._sample(initial=False)

    def __enter__(self) -> CpuMeter:
        self._sample(initial=True)
        self._busy0, self._total0 = _machine_busy()
        self._wall0 = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample(initial=False)
        busy, total = _machine_busy()
        self.wall = time.perf_counter() - self._wall0
        self.busy = (busy - self._busy0) / (total - self._total0) if total > self._total0 else 0

    def seconds(self) -> dict[str, float]:
        spent: dict[str, float] = Counter()
        for pid, (category, cpu) in self.last.items():
            spent[category] += cpu - self.first.get(pid, 0.0)
        return dict(spent)

    def processes(self, category: str, minimum: float = 0.05) -> list[float]:
        """CPU seconds of each process of a category that used at least ``minimum``."""
        spent = [
            cpu - self.first.get(pid, 0.0)
            for pid, (name, cpu) in self.last.items()
            if name == category
        ]
        return sorted((s for s in spent if s >= minimum), reverse=True)

    def per_request(self, requests: int) -> str:
        """``service 6.1 ms, postgres 2.0 ms, …`` CPU per request, and the machine's load."""
        parts = [
            f"{name} {1000 * seconds / max(requests, 1):.2f}"
            for name, seconds in sorted(self.seconds().items())
        ]
        cores = os.cpu_count() or 1
        ours = sum(self.seconds().values())
        others = max(0.0, self.busy * cores * self.wall - ours) / self.wall if self.wall else 0
        return (
            f"CPU ms/request: {', '.join(parts)}; "
            f"machine busy {100 * self.busy:.0f}% of {cores} cores, "
            f"{others:.2f} core used by other processes"
        )


# --- a load generator spread over processes ---------------------------------------------


class _SeededGets:
    """Picklable GET maker: ``pick(rng)`` names the headers and the target of each request,
    drawn from ``random.Random(seed)`` made in the process that sends them."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._rng: Any = None

    def __call__(self) -> tuple[dict[str, str], None, str]:
        import random

        if self._rng is None:
            self._rng = random.Random(self.seed)
        headers, target = self.pick(self._rng)
        return headers, None, target

    def pick(self, rng: Any) -> tuple[dict[str, str], str]:
        raise NotImplementedError


class AvailabilityQueries(_SeededGets):
    """One random resource's availability (the default range: the next 7 days) by a random
    resident."""

    def __init__(self, resource_ids: list[str], headers: list[dict[str, str]], seed: int = 0):
        super().__init__(seed)
        self.resource_ids = resource_ids
        self.headers = headers

    def pick(self, rng: Any) -> tuple[dict[str, str], str]:
        resource_id = rng.choice(self.resource_ids)
        return rng.choice(self.headers), f"/api/v1/resources/{resource_id}/availability"


class OwnRecords(_SeededGets):
    """A random resident GETs their own user record, the cheapest authenticated request (the
    service's fixed cost: middleware, token, caller's provisioning read, one more read, the
    response)."""

    def __init__(self, subs: list[str], headers: list[dict[str, str]], seed: int = 0):
        super().__init__(seed)
        self.subs = subs
        self.headers = headers

    def pick(self, rng: Any) -> tuple[dict[str, str], str]:
        index = rng.randrange(len(self.subs))
        return self.headers[index], f"/api/v1/users/{self.subs[index]}"


class BookingBodies:
    """Picklable request maker: a random resource, a random whole hour within the next days
    (from ``first_hour``), a random resident from a pool of pre-minted bearer headers."""

    def __init__(
        self,
        resource_ids: list[str],
        headers: list[dict[str, str]],
        first_hour: str,
        hours: int,
        seed: int = 0,
    ) -> None:
        self.resource_ids = resource_ids
        self.headers = headers
        self.first_hour = first_hour
        self.hours = hours
        self.seed = seed
        self._rng: Any = None

    def __call__(self) -> tuple[dict[str, str], dict[str, Any]]:
        import random
        from datetime import datetime, timedelta

        if self._rng is None:
            self._rng = random.Random(self.seed)
            self._origin = datetime.fromisoformat(self.first_hour)
        rng = self._rng
        start = self._origin + timedelta(hours=rng.randrange(self.hours))
        body = {
            "resource_id": rng.choice(self.resource_ids),
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
        }
        return rng.choice(self.headers), body


def _sustained_in_child(
    base: str,
    concurrency: int,
    seconds: float,
    maker: BookingBodies,
    path: str,
    warmup: float,
    client: str,
    reconnect_every: int,
) -> LoadResult:
    return run_loop(
        sustained(base, concurrency, seconds, maker, path, warmup, client, reconnect_every)
    )


def run_loop(coroutine: Any) -> Any:
    """``asyncio.run`` on uvloop when installed (it is a dependency of uvicorn[standard])."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


async def sustained_processes(
    base: str,
    concurrency: int,
    seconds: float,
    maker: BookingBodies,
    path: str,
    processes: int,
    warmup: float = 0.0,
    client: str = "raw",
    reconnect_every: int = 0,
) -> LoadResult:
    """``sustained`` split over ``processes`` client processes (1: in this process)."""
    if processes <= 1:
        return await sustained(
            base, concurrency, seconds, maker, path, warmup, client, reconnect_every
        )
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    loop = asyncio.get_running_loop()
    shares = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        jobs = [
            loop.run_in_executor(
                pool,
                _sustained_in_child,
                base,
                share,
                seconds,
                BookingBodies(
                    maker.resource_ids,
                    maker.headers,
                    maker.first_hour,
                    maker.hours,
                    maker.seed * 100 + index,
                ),
                path,
                warmup + 3.0,  # the children start at slightly different moments
                client,
                reconnect_every,
            )
            for index, share in enumerate(shares)
        ]
        parts = await asyncio.gather(*jobs)
    merged = LoadResult(seconds=seconds)
    for part in parts:
        merged.latencies += part.latencies
        merged.statuses.update(part.statuses)
        merged.client_cpu_seconds += part.client_cpu_seconds
    return merged


def machine_report(dsn: str) -> str:
    """Load average and other sessions on the PostgreSQL server: figures taken on a busy
    machine are not comparable, so every benchmark prints this first."""

    async def others() -> int:
        connection = await asyncpg.connect(dsn)
        try:
            return int(
                await connection.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname IS NOT NULL "
                    "AND pid <> pg_backend_pid()"
                )
            )
        finally:
            await connection.close()

    busy0, total0 = _machine_busy()
    time.sleep(2)
    busy1, total1 = _machine_busy()
    busy = (busy1 - busy0) / max(total1 - total0, 1)
    sessions = asyncio.run(others())
    note = "" if busy < 0.15 and sessions == 0 else "  (NOT QUIET: figures will be noisy)"
    return (
        f"machine: {os.cpu_count()} cores, {busy:.0%} busy before the run; "
        f"{sessions} other PostgreSQL sessions{note}"
    )
