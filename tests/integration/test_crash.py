"""Crash safety: the real server is SIGKILLed in the middle of a burst of bookings sent with
idempotency keys, restarted, and the clients retry with the same keys. Afterwards every
acknowledged booking exists exactly once, no retry made a duplicate, nothing is half-written,
and the capacity invariant holds."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from scheduler.db.bookings import ACTIVE, Booking, BookingEvent, SlotHolding
from scheduler.db.engine import create_engine, create_session_factory
from scheduler.db.migrate import upgrade
from tests.conftest import TEST_SECRET, make_settings
from tests.support.builders import Tokens, unique
from tests.support.databases import database
from tests.support.server import free_port, wait_until_healthy

# Real concurrent clients, killed servers or minute-long waits: `make test-fast` skips these.
pytestmark = pytest.mark.slow

HEAVY = os.environ.get("SCHEDULER_HEAVY_TESTS", "").lower() in ("1", "true", "yes")
ROUNDS = 10 if HEAVY else 5
CLIENTS = 60
CAPACITY = 25
INTERRUPTED: Counter[str] = Counter()


class Server:
    """The service in its own process group, so SIGKILL takes every worker down at once."""

    def __init__(self, env: dict[str, str], workers: int, log_path) -> None:
        self.env, self.workers, self.log_path = env, workers, log_path
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.log_path, "a")  # noqa: SIM115 - the process owns it until killed
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scheduler",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        wait_until_healthy(self.base, self.process)

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


async def client_until_answered(
    base: str,
    headers: dict[str, str],
    body: dict[str, str],
    key: str,
    answers: dict[str, tuple[int, str | None]],
) -> None:
    """Send the same request with the same key until the service gives a definitive answer."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        while True:
            try:
                response = await http.post(
                    "/api/v1/bookings", json=body, headers={**headers, "Idempotency-Key": key}
                )
            except httpx.HTTPError:
                INTERRUPTED["requests"] += 1
                await asyncio.sleep(0.2)
                continue
            if response.status_code in (201, 409):
                booking_id = response.json()["id"] if response.status_code == 201 else None
                previous = answers.get(key)
                assert previous is None or previous == (response.status_code, booking_id), (
                    previous,
                    response.text,
                )
                answers[key] = (response.status_code, booking_id)
                return
            assert response.status_code == 503 or response.status_code >= 500, response.text
            await asyncio.sleep(0.2)


async def burst_with_a_crash(
    server: Server,
    tokens: Tokens,
    resource_id: str,
    start: datetime,
    answers: dict[str, tuple[int, str | None]],
    rng: random.Random,
) -> None:
    body = {
        "resource_id": resource_id,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
    }
    clients = [(tokens.resident(sub=unique("crash")), unique("key")) for _ in range(CLIENTS)]
    tasks = [
        asyncio.create_task(client_until_answered(server.base, headers, body, key, answers))
        for headers, key in clients
    ]
    await asyncio.sleep(rng.uniform(0.05, 0.4))
    await asyncio.to_thread(server.kill)
    await asyncio.sleep(0.3)
    await asyncio.to_thread(server.start)
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    # Ask again after the dust settles: every key must replay its first answer.
    replays: dict[str, tuple[int, str | None]] = {}
    await asyncio.gather(
        *(client_until_answered(server.base, h, body, k, replays) for h, k in clients)
    )
    for _, key in clients:
        if answers[key][0] == 201:
            assert replays[key] == answers[key]


async def inspect(settings, resource_id: str) -> tuple[list[Booking], dict[datetime, int], int]:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            bookings = list(
                await session.scalars(select(Booking).where(Booking.resource_id == resource_id))
            )
            ledger = {
                row.slot_start: row.held
                for row in await session.scalars(
                    select(SlotHolding).where(SlotHolding.resource_id == resource_id)
                )
            }
            without_history = await session.scalar(
                select(func.count())
                .select_from(Booking)
                .where(
                    Booking.resource_id == resource_id,
                    ~select(BookingEvent.id).where(BookingEvent.booking_id == Booking.id).exists(),
                )
            )
            return bookings, ledger, int(without_history or 0)
    finally:
        await engine.dispose()


async def scenario(server: Server, tokens: Tokens) -> tuple[str, dict[str, tuple[int, str | None]]]:
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        partner = (
            await http.post(
                "/api/v1/partners",
                json={"id": unique("p"), "name": "Crash school", "zone": "campus"},
                headers=tokens.staff(),
            )
        ).json()
        resource = (
            await http.post(
                "/api/v1/resources",
                json={
                    "partner_id": partner["id"],
                    "name": "Track",
                    "kind": "sports_field",
                    "capacity": CAPACITY,
                    "policy": {"max_party_size": 1},
                },
                headers=tokens.staff(),
            )
        ).json()
        window = {
            "start_time": "00:00",
            "end_time": "24:00",
            "rrule": "FREQ=DAILY",
            "audience": "public",
        }
        await http.post(
            f"/api/v1/resources/{resource['id']}/windows", json=window, headers=tokens.staff()
        )
    answers: dict[str, tuple[int, str | None]] = {}
    rng = random.Random(2026)
    first = (datetime.now(UTC) + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    for round_number in range(ROUNDS):
        await burst_with_a_crash(
            server, tokens, resource["id"], first + timedelta(hours=round_number), answers, rng
        )
    return resource["id"], answers


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
def test_sigkill_mid_burst_loses_and_duplicates_nothing(kind, tmp_path):
    INTERRUPTED.clear()
    with database(kind, str(tmp_path), "crash") as url:
        settings = make_settings(url, tmp_path)
        upgrade(settings)
        env = {
            "SCHEDULER_DATABASE_URL": url,
            "SCHEDULER_JWT_SECRET": TEST_SECRET,
            "SCHEDULER_LOG_LEVEL": "WARNING",
            "SCHEDULER_DATA_DIR": str(tmp_path),
            "SCHEDULER_JOBS": "false",
            "SCHEDULER_RATE_LIMIT": "off",
            "SCHEDULER_DB_POOL_SIZE": "10",
        }
        server = Server(env, 2 if kind == "postgres" else 1, tmp_path / "server.log")
        server.start()
        try:
            resource_id, answers = asyncio.run(scenario(server, Tokens(settings)))
        finally:
            if server.process is not None and server.process.poll() is None:
                server.kill()
        bookings, ledger, without_history = asyncio.run(inspect(settings, resource_id))
        acknowledged = {booking_id for status, booking_id in answers.values() if status == 201}
        active = [b for b in bookings if b.status in ACTIVE]
        assert len(answers) == ROUNDS * CLIENTS
        assert {b.id for b in active} == acknowledged
        assert len(bookings) == len(acknowledged), "a retry created a second booking"
        assert max(Counter(b.holder_id for b in bookings).values()) == 1
        assert without_history == 0, "a booking without its history row was half-written"
        per_slot = Counter(b.starts_at for b in active)
        assert per_slot == Counter({start: held for start, held in ledger.items() if held})
        assert max(per_slot.values()) <= CAPACITY
        assert len(acknowledged) == ROUNDS * CAPACITY
        assert INTERRUPTED["requests"] > 0, "no kill landed in the middle of a burst"
