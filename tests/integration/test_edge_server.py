"""The real server at the edge: the client address is taken from ``X-Forwarded-For`` only
when the peer is a configured trusted proxy (loopback included), and slow clients cannot hold
connections: request heads and bodies have deadlines and a process takes a bounded number of
connections at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET
from tests.support.server import running_server

pytestmark = pytest.mark.slow  # real server processes and timeouts
ANONYMOUS_LIMIT = 3


def serve_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    return {
        "SCHEDULER_DATA_DIR": str(tmp_path),
        "SCHEDULER_DATABASE_URL": "",
        "SCHEDULER_JWT_SECRET": TEST_SECRET,
        "SCHEDULER_JOBS": "false",
        "SCHEDULER_LOG_LEVEL": "WARNING",
        "SCHEDULER_RATE_LIMIT_ANONYMOUS": f"{ANONYMOUS_LIMIT}/hour",
        "SCHEDULER_TRUSTED_PROXIES": "",
        **{f"SCHEDULER_{name.upper()}": value for name, value in settings.items()},
    }


@pytest.fixture
def database(tmp_path: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "scheduler", "db", "upgrade"],
        env={**os.environ, **serve_env(tmp_path)},
        check=True,
        capture_output=True,
    )
    return tmp_path


def stay_inside_one_window() -> None:
    if time.time() % 3600 > 3590:
        time.sleep(11)


def statuses(base_url: str, forwarded: list[str | None]) -> list[int]:
    codes = []
    for value in forwarded:
        headers = {"X-Forwarded-For": value} if value else {}
        codes.append(httpx.get(f"{base_url}/api/v1/zones", headers=headers).status_code)
    return codes


def test_rotating_forwarded_for_from_an_untrusted_peer_does_not_bypass_the_limit(database):
    """Before: uvicorn believed X-Forwarded-For from 127.0.0.1, so every rotated value got a
    fresh anonymous budget."""
    stay_inside_one_window()
    with running_server(["serve"], serve_env(database), database / "log") as (base_url, _):
        rotating = [f"203.0.113.{n}" for n in range(ANONYMOUS_LIMIT + 3)]
        assert statuses(base_url, rotating) == [200] * ANONYMOUS_LIMIT + [429] * 3


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(database):
    """Before: only uvicorn's loopback default was believed, so behind a proxy at 10.1.2.3
    every caller counted as 10.1.2.3 and shared one anonymous budget."""
    stay_inside_one_window()
    env = serve_env(database, trusted_proxies="127.0.0.1, 10.0.0.0/8")
    with running_server(["serve"], env, database / "log") as (base_url, _):
        first = ["198.51.100.7, 10.1.2.3"] * (ANONYMOUS_LIMIT + 1)
        assert statuses(base_url, first) == [200] * ANONYMOUS_LIMIT + [429]
        # another client through the same proxies has its own budget
        assert statuses(base_url, ["198.51.100.8, 10.1.2.3", "198.51.100.9"]) == [200, 200]
        # the client cannot escape by writing its own hops on the left
        spoofed = [f"192.0.2.{n}, 198.51.100.7, 10.1.2.3" for n in range(3)]
        assert statuses(base_url, spoofed) == [429] * 3


def open_slow(base_url: str, count: int) -> list[socket.socket]:
    port = int(base_url.rsplit(":", 1)[1])
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # a head never finished
        sockets.append(sock)
    return sockets


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1024) == b""
    except (ConnectionResetError, TimeoutError):
        return True


@pytest.fixture
def slow_server(database: Path) -> Iterator[str]:
    env = serve_env(database, header_timeout_seconds="1", body_timeout_seconds="1")
    env["SCHEDULER_MAX_CONCURRENCY"] = "4"
    with running_server(["serve"], env, database / "log") as (base_url, _):
        yield base_url


def test_slow_heads_are_bounded_and_then_dropped(slow_server: str):
    """Before: a head sent slowly kept its connection open for ever, with no limit on how
    many; now at most SCHEDULER_MAX_CONCURRENCY are taken, and each is closed after
    SCHEDULER_HEADER_TIMEOUT_SECONDS."""
    slow = open_slow(slow_server, 4)
    try:
        time.sleep(0.2)
        assert httpx.get(f"{slow_server}/health").status_code == 503  # the cap holds
        time.sleep(1.5)
        assert all(closed_by_server(sock) for sock in slow)
        assert httpx.get(f"{slow_server}/health").status_code == 200
    finally:
        for sock in slow:
            sock.close()


def test_a_trickled_body_gets_408_within_the_body_timeout(slow_server: str):
    port = int(slow_server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /api/v1/partners HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        assert time.monotonic() - started < 4
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert b"application/problem+json" in head and b"connection: close" in head.lower()
    assert b'"code":"request_timeout"' in body
