"""Migration 0012 hashes the feed tokens already stored in clear: their URLs keep working, the
clear text is gone; going back revokes them (a hash cannot be turned back into a token)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import UTC, datetime

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from scheduler.app import create_app
from scheduler.db.engine import create_engine
from scheduler.db.migrate import downgrade, upgrade
from tests.conftest import make_settings
from tests.support.databases import database

BEFORE = "0006"  # the revision before 0012 (the lead re-chains at merge)


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_settings(request, tmp_path):
    with database(request.param, str(tmp_path), "feedmig") as url:
        yield make_settings(url, tmp_path)


async def _execute(settings, statement: str, **values: object) -> list[tuple[object, ...]]:
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), values)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


def test_existing_clear_tokens_are_hashed_and_keep_working(fresh_settings):
    upgrade(fresh_settings, BEFORE)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    clear = [secrets.token_urlsafe(32) for _ in range(3)]
    asyncio.run(
        _execute(
            fresh_settings,
            "INSERT INTO users (id, name, role, tags, created_at, last_seen_at) "
            "VALUES ('old-resident', '', 'resident', '[]', :now, :now)",
            now=now,
        )
    )
    for token in clear:
        asyncio.run(
            _execute(
                fresh_settings,
                "INSERT INTO feed_tokens (token, user_id, created_at) "
                "VALUES (:token, 'old-resident', :now)",
                token=token,
                now=now,
            )
        )
    upgrade(fresh_settings)
    stored = asyncio.run(
        _execute(fresh_settings, "SELECT token_hash, expires_at, revoked_at FROM feed_tokens")
    )
    assert sorted(stored) == sorted(
        (hashlib.sha256(token.encode()).hexdigest(), None, None) for token in clear
    )

    async def fetch_all() -> list[int]:
        async with AsyncTestClient(app=create_app(fresh_settings)) as client:
            return [(await client.get(f"/api/v1/feeds/{token}.ics")).status_code for token in clear]

    assert asyncio.run(fetch_all()) == [200, 200, 200]

    downgrade(fresh_settings, BEFORE)
    rows = asyncio.run(_execute(fresh_settings, "SELECT token, revoked_at FROM feed_tokens"))
    assert len(rows) == 3 and all(revoked is not None for _, revoked in rows)
    upgrade(fresh_settings)  # and forward again: already hashed rows are left alone
    again = asyncio.run(_execute(fresh_settings, "SELECT token_hash FROM feed_tokens"))
    assert sorted(again) == sorted((hash_,) for hash_, _, _ in stored)
