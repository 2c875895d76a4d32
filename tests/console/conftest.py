"""A demo-mode app on the shared test databases, with its own client (its own cookies)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from scheduler.app import create_app
from scheduler.clock import ManualClock
from scheduler.settings import Settings


@pytest.fixture(scope="session")
def console_app(settings: Settings, session_clock: ManualClock) -> Litestar:
    return create_app(settings.with_overrides(demo=True), clock=session_clock)


@pytest.fixture
async def browser_client(console_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A fresh cookie jar per test (sessions and CSRF cookies do not leak between tests)."""
    async with AsyncTestClient(app=console_app) as test_client:
        yield test_client
