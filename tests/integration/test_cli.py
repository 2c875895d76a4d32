"""The `scheduler` command as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import jwt
import pytest

from tests.support.databases import database

SECRET = "cli-secret-0123456789abcdef0123456789"


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scheduler", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_db_upgrade_current_and_idempotent_demo(kind, tmp_path):
    with database(kind, str(tmp_path), "cli") as url:
        env = {
            "SCHEDULER_DATABASE_URL": url,
            "SCHEDULER_DATA_DIR": str(tmp_path),
            "SCHEDULER_JWT_SECRET": SECRET,
        }
        behind = run("db", "current", env=env)
        assert behind.returncode == 1 and "(empty database)" in behind.stdout
        assert run("db", "upgrade", env=env).returncode == 0
        current = run("db", "current", env=env)
        assert current.returncode == 0, current.stdout + current.stderr
        first = run("demo", env=env)
        assert first.returncode == 0, first.stderr
        assert "'resources': 21" in first.stdout
        assert "'bookings': 0" not in first.stdout
        second = run("demo", env=env)
        assert "'partners': 0, 'resources': 0, 'bookings': 0" in second.stdout
        roles_in_order = ("resident", "partner", "staff", "admin")
        tokens = [
            line.split()[-1]
            for line in first.stdout.splitlines()
            if line.split()[:1] and line.split()[0] in roles_in_order
        ]
        roles = [jwt.decode(token, SECRET, algorithms=["HS256"])["role"] for token in tokens]
        assert roles == ["resident", "partner", "staff", "admin"]


def test_token_command_mints_verifiable_tokens():
    env = {"SCHEDULER_JWT_SECRET": SECRET}
    minted = run(
        "token",
        "--sub",
        "u1",
        "--role",
        "partner",
        "--partner",
        "p1",
        "--name",
        "张三",
        "--ttl",
        "60",
        env=env,
    )
    assert minted.returncode == 0, minted.stderr
    claims = jwt.decode(minted.stdout.strip(), SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["role"], claims["partner"], claims["name"]) == (
        "u1",
        "partner",
        "p1",
        "张三",
    )
    assert claims["exp"] - claims["iat"] == 60
    refused = run("token", "--sub", "u1", "--role", "partner", env=env)
    assert refused.returncode != 0 and "partner" in refused.stderr


def test_serve_refuses_to_start_without_a_secret():
    result = run("serve", env={"SCHEDULER_JWT_SECRET": "", "SCHEDULER_DEMO": "false"})
    assert result.returncode != 0 and "SCHEDULER_JWT_SECRET" in result.stderr
