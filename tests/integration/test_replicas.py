"""Three service processes on one PostgreSQL database, each with the job scheduler embedded:
exactly one leads, every lottery draw happens exactly once, and killing the leader hands
the schedule to another process without losing or duplicating anything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from scheduler.db.migrate import upgrade
from tests.conftest import TEST_SECRET, make_settings
from tests.support.builders import Tokens, unique
from tests.support.databases import postgres_database
from tests.support.server import free_port, wait_until_healthy

# Real concurrent clients, killed servers or minute-long waits: `make test-fast` skips these.
pytestmark = pytest.mark.slow

SHANGHAI = ZoneInfo("Asia/Shanghai")


def start(env: dict[str, str], log_path) -> tuple[str, subprocess.Popen[str]]:
    port = free_port()
    log = open(log_path, "w")  # noqa: SIM115 - closed when the test's ExitStack unwinds
    process = subprocess.Popen(
        [sys.executable, "-m", "scheduler", "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_healthy(base, process)
    return base, process


def roles(bases: dict[str, subprocess.Popen[str]]) -> dict[str, str]:
    found = {}
    for base, process in bases.items():
        if process.poll() is None:
            found[base] = httpx.get(f"{base}/health", timeout=5).json()["jobs"]
    return found


def wait_for(condition, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(message)


def next_release(after: datetime) -> datetime:
    """The first whole minute at least 25 seconds after ``after``."""
    moment = (after + timedelta(seconds=25)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return moment


def lottery_resource(
    client: httpx.Client, tokens: Tokens, partner_id: str, release_at: datetime
) -> tuple[str, str]:
    """A lottery court whose slot tomorrow (relative to the release day) opens at ``release_at``."""
    local = release_at.astimezone(SHANGHAI)
    policy = {
        "allocation": "lottery",
        "release": {"days_ahead": 1, "at": local.strftime("%H:%M")},
        "horizon_days": 3,
    }
    body = {
        "partner_id": partner_id,
        "name": "Lottery court",
        "kind": "sports_field",
        "capacity": 3,
        "policy": policy,
    }
    resource = client.post("/api/v1/resources", json=body, headers=tokens.staff()).json()
    window = {
        "start_time": "00:00",
        "end_time": "24:00",
        "rrule": "FREQ=DAILY",
        "audience": "public",
    }
    assert (
        client.post(
            f"/api/v1/resources/{resource['id']}/windows", json=window, headers=tokens.staff()
        ).status_code
        == 201
    )
    slot_day = local.date() + timedelta(days=1)
    starts = datetime(slot_day.year, slot_day.month, slot_day.day, 12, tzinfo=SHANGHAI)
    return resource["id"], starts.isoformat()


def enter(bases: list[str], tokens: Tokens, resource_id: str, starts: str, count: int) -> list[str]:
    ends = (datetime.fromisoformat(starts) + timedelta(hours=1)).isoformat()
    ids = []
    for index in range(count):
        body = {"resource_id": resource_id, "starts_at": starts, "ends_at": ends}
        response = httpx.post(
            f"{bases[index % len(bases)]}/api/v1/bookings",
            json=body,
            headers=tokens.resident(sub=unique("entrant")),
            timeout=30,
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def draws(base: str, tokens: Tokens, resource_id: str) -> list[dict]:
    return httpx.get(
        f"{base}/api/v1/resources/{resource_id}/draws", headers=tokens.staff(), timeout=10
    ).json()


@pytest.mark.postgres
def test_three_replicas_draw_exactly_once_and_survive_the_leader(tmp_path):
    with postgres_database("replicas") as url, ExitStack() as stack:
        settings = make_settings(url, tmp_path)
        upgrade(settings)
        tokens = Tokens(settings)
        env = {
            "SCHEDULER_DATABASE_URL": url,
            "SCHEDULER_JWT_SECRET": TEST_SECRET,
            "SCHEDULER_LOG_LEVEL": "INFO",
            "SCHEDULER_LEADER_POLL_SECONDS": "1",
            "SCHEDULER_JOBS_INTERVAL_SECONDS": "2",
            "SCHEDULER_DB_POOL_SIZE": "5",
            "SCHEDULER_DATA_DIR": str(tmp_path),
        }
        processes: dict[str, subprocess.Popen[str]] = {}
        for index in range(3):
            base, process = start(env, tmp_path / f"server-{index}.log")
            processes[base] = process
            stack.callback(lambda p=process: (p.poll() is None and p.kill(), p.wait()))
        current = wait_for(
            lambda: (
                (r := roles(processes))
                and sorted(r.values()) == ["leader", "standby", "standby"]
                and r
            ),
            20,
            f"expected one leader and two standbys: {roles(processes)}",
        )
        leader = next(base for base, role in current.items() if role == "leader")
        bases = list(processes)

        client = stack.enter_context(httpx.Client(base_url=bases[0], timeout=30))
        partner = client.post(
            "/api/v1/partners",
            json={"id": unique("p"), "name": "Replica school", "zone": "campus"},
            headers=tokens.staff(),
        ).json()
        first_release = next_release(datetime.now(UTC))
        second_release = first_release + timedelta(minutes=1)
        first, first_start = lottery_resource(client, tokens, partner["id"], first_release)
        second, second_start = lottery_resource(client, tokens, partner["id"], second_release)
        first_entries = enter(bases, tokens, first, first_start, 9)
        second_entries = enter(bases, tokens, second, second_start, 9)

        done = wait_for(
            lambda: draws(bases[1], tokens, first), 90, "the first release was never drawn"
        )
        assert len(done) == 1 and len(done[0]["winners"]) == 3
        assert sorted(done[0]["entries"]) == sorted(first_entries)
        drawn_at = datetime.fromisoformat(done[0]["drawn_at"])
        assert first_release <= drawn_at < first_release + timedelta(seconds=10)

        assert datetime.now(UTC) < second_release - timedelta(seconds=5), (
            "too slow to test the handover"
        )
        processes[leader].send_signal(signal.SIGKILL)
        processes[leader].wait()
        survivors = {base: p for base, p in processes.items() if base != leader}
        wait_for(
            lambda: sorted(roles(survivors).values()) == ["leader", "standby"],
            15,
            f"no standby took over: {roles(survivors)}",
        )

        alive = next(iter(survivors))
        done_again = wait_for(
            lambda: draws(alive, tokens, second), 90, "the second release was never drawn"
        )
        assert len(done_again) == 1 and len(done_again[0]["winners"]) == 3
        assert sorted(done_again[0]["entries"]) == sorted(second_entries)
        time.sleep(3)
        assert len(draws(alive, tokens, first)) == 1 and len(draws(alive, tokens, second)) == 1
        for resource_id, entries in ((first, first_entries), (second, second_entries)):
            statuses = [
                httpx.get(
                    f"{alive}/api/v1/bookings/{entry}", headers=tokens.staff(), timeout=10
                ).json()["status"]
                for entry in entries
            ]
            assert sorted(statuses) == ["confirmed"] * 3 + ["not_selected"] * 6, (
                resource_id,
                statuses,
            )
