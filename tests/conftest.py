"""Shared fixtures: every API/integration test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler.app import create_app
from scheduler.clock import ManualClock
from scheduler.db.engine import create_engine, create_session_factory
from scheduler.db.migrate import upgrade
from scheduler.settings import Settings
from tests.support.builders import Tokens
from tests.support.databases import database

TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef"


def make_settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        jwt_secret=TEST_SECRET,
        log_level="WARNING",
        run_jobs=False,
        rate_limit="off",
        # Test webhook receivers listen on 127.0.0.1; tests/api/test_webhook_ssrf.py runs
        # an app without this allowance.
        webhook_allow=("127.0.0.0/8",),
    )


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def settings(db_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A migrated database of each kind, shared by the tests of one run (tests use unique ids)."""
    data_dir = tmp_path_factory.mktemp(f"data-{db_kind}")
    with database(db_kind, str(data_dir), "api") as url:
        settings = make_settings(url, data_dir)
        upgrade(settings)
        yield settings


@pytest.fixture(scope="session")
def session_clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def clock(session_clock: ManualClock) -> ManualClock:
    """The app's clock, reset to the real time for every test; tests may move it."""
    session_clock.set(datetime.now(UTC))
    return session_clock


@pytest.fixture(scope="session")
def app(settings: Settings, session_clock: ManualClock) -> Litestar:
    return create_app(settings, clock=session_clock)


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def tokens(settings: Settings) -> Tokens:
    return Tokens(settings)


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Direct database access for assertions (the app runs on the test client's own loop)."""
    engine = create_engine(settings)
    yield create_session_factory(engine)
    await engine.dispose()
