"""Expansion cost at the window cap: CPU time of 62 days of availability on one resource
with SCHEDULER_MAX_WINDOWS_PER_RESOURCE (50) windows, many of them the shapes that used to be
re-expanded from their start on every request (``FREQ=MONTHLY;INTERVAL=2`` valid since 2000,
yearly, every third week, day types). Aim: < 100 ms CPU per request.

Two measurements, both ``time.process_time`` (CPU, not wall clock):

- core: ``core.availability.compute_slots`` alone (the expansion and slot making);
- service: ``GET /api/v1/resources/{id}/availability`` in-process through the Litestar test
  client on a fresh SQLite database (parse, queries, expansion, serialisation).

Run (about 20 s)::

    .venv/bin/python bench/expansion.py
    .venv/bin/python bench/expansion.py --reps 50 --windows 50
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from litestar.testing import AsyncTestClient

from scheduler.app import create_app
from scheduler.auth.tokens import mint_token
from scheduler.core import availability as core
from scheduler.core.calendar import DayCalendar
from scheduler.core.limits import (
    DEFAULT_MAX_WINDOWS_PER_RESOURCE,
    MAX_AUDIENCE_CODES,
)
from scheduler.core.timerange import TimeRange
from scheduler.core.windows import Window, parse_clock
from scheduler.db.migrate import upgrade
from scheduler.settings import Settings

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
SHAPES = [
    {"rrule": "FREQ=MONTHLY;INTERVAL=2", "valid_from": "2000-01-01"},
    {"rrule": "FREQ=YEARLY;INTERVAL=3", "valid_from": "2000-02-29"},
    {"rrule": "FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,WE,FR", "valid_from": "2000-01-03"},
    {"rrule": "FREQ=MONTHLY;BYDAY=1SA,-1SU"},
    {"rrule": "FREQ=DAILY;INTERVAL=2", "valid_from": "2000-01-01"},
    {"rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "day_types": ["workday"]},
    {"day_types": ["rest_day"]},
    {"rrule": "FREQ=DAILY"},
    {"rrule": "FREQ=YEARLY;BYMONTH=12,1;BYMONTHDAY=1,15", "valid_from": "2000-01-01"},
    {"rrule": "FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=31", "valid_from": "2000-01-31"},
]


def window_bodies(count: int) -> list[dict[str, object]]:
    """``count`` windows of every shape, one or two hours each, spread over the day, with a
    full audience of community codes."""
    bodies = []
    for n in range(count):
        start = 6 + n % 16
        body: dict[str, object] = {
            "start_time": f"{start:02d}:00",
            "end_time": f"{start + 1 + n % 2:02d}:00",
            "audience": [f"community-{n}-{c}" for c in range(MAX_AUDIENCE_CODES)],
            "label": f"window {n}",
            **SHAPES[n % len(SHAPES)],
        }
        bodies.append(body)
    return bodies


def core_window(n: int, body: dict[str, object]) -> Window:
    valid_from = body.get("valid_from")
    return Window(
        id=f"w{n}",
        start_time=parse_clock(str(body["start_time"]), is_end=False),
        end_time=parse_clock(str(body["end_time"]), is_end=True),
        rrule=body.get("rrule"),  # type: ignore[arg-type]
        day_types=tuple(body.get("day_types", ())),  # type: ignore[arg-type]
        valid_from=date.fromisoformat(str(valid_from)) if valid_from else None,
        audience=tuple(f"community:{code}" for code in body["audience"]),  # type: ignore[attr-defined]
    )


def cpu_ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms"


def bench_core(bodies: list[dict[str, object]], reps: int) -> tuple[list[float], int]:
    windows = [core_window(n, body) for n, body in enumerate(bodies)]
    resource = core.Resource(capacity=60, timezone=ZONE, granularity_minutes=60)
    start = datetime(2026, 12, 1, tzinfo=ZONE).astimezone(UTC)
    span = TimeRange(start, start + timedelta(days=62))
    samples, slots = [], 0
    for _ in range(reps):
        began = time.process_time()
        slots = len(core.compute_slots(resource, windows, DayCalendar(), [], {}, span, NOW))
        samples.append((time.process_time() - began) * 1000)
    return samples, slots


async def bench_service(bodies: list[dict[str, object]], reps: int) -> tuple[list[float], int]:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder),
            database_url=f"sqlite+aiosqlite:///{folder}/bench.db",
            jwt_secret=SECRET,
            log_level="WARNING",
            run_jobs=False,
            rate_limit="off",
        )
        await asyncio.to_thread(upgrade, settings)
        staff = {"Authorization": "Bearer " + mint_token(settings, sub="bench", role="staff")}
        async with AsyncTestClient(app=create_app(settings)) as client:
            partner = await client.post(
                "/api/v1/partners", json={"name": "Bench", "zone": "campus"}, headers=staff
            )
            resource = await client.post(
                "/api/v1/resources",
                json={
                    "partner_id": partner.json()["id"],
                    "name": "Track",
                    "kind": "sports_field",
                    "capacity": 60,
                },
                headers=staff,
            )
            resource_id = resource.json()["id"]
            for body in bodies:
                created = await client.post(
                    f"/api/v1/resources/{resource_id}/windows", json=body, headers=staff
                )
                assert created.status_code == 201, created.text
            url = f"/api/v1/resources/{resource_id}/availability"
            query = {"from": "2026-12-01", "to": "2027-01-31"}
            samples, slots = [], 0
            for _ in range(reps):
                began = time.process_time()
                response = await client.get(url, params=query, headers=staff)
                samples.append((time.process_time() - began) * 1000)
                assert response.status_code == 200, response.text
                slots = len(response.json()["slots"])
            return samples, slots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--windows", type=int, default=DEFAULT_MAX_WINDOWS_PER_RESOURCE)
    parser.add_argument("--reps", type=int, default=30)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}; {args.windows} windows, 62 days, {args.reps} reps")
    bodies = window_bodies(args.windows)
    samples, slots = bench_core(bodies, args.reps)
    print(f"core compute_slots      {cpu_ms(samples)}   CPU   ({slots} slots)")
    samples, slots = asyncio.run(bench_service(bodies, args.reps))
    print(f"GET availability (HTTP) {cpu_ms(samples)}   CPU   ({slots} slots)")
    print(f"aim: < 100 ms CPU; {'met' if statistics.median(samples) < 100 else 'NOT met'}")


if __name__ == "__main__":
    main()
