"""The demo data set: a few weeks of bookings in every state, seeded once, on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler.db.bookings import STATUSES, Booking, Draw
from scheduler.db.catalogue import Partner, Resource, User
from scheduler.db.engine import create_engine, create_session_factory
from scheduler.db.migrate import upgrade
from scheduler.demo import seed_demo
from tests.conftest import make_settings
from tests.support.databases import database

COUNTS: dict[str, Select[Any]] = {
    "bookings": select(func.count()).select_from(Booking),
    "draws": select(func.count()).select_from(Draw),
    "school_grounds": select(func.count())
    .select_from(Resource)
    .join(Partner, Partner.id == Resource.partner_id)
    .where(Partner.zone == "campus"),
    "residents_booked_for_by_staff": select(func.count(func.distinct(Booking.holder_id))).where(
        Booking.created_by == "staff-li", Booking.holder_id != "staff-li"
    ),
    "communities": select(func.count(func.distinct(User.community))).where(User.role == "resident"),
    "series": select(func.count(func.distinct(Booking.series_id))),
}


async def _facts(factory: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    async with factory() as session:
        facts: dict[str, Any] = {
            name: int(await session.scalar(query) or 0) for name, query in COUNTS.items()
        }
        facts["statuses"] = set(await session.scalars(select(Booking.status).distinct()))
    return facts


async def _seed_twice(url: str, data_dir: Path) -> tuple[dict[str, Any], ...]:
    """Seed, look, seed again, look again."""
    engine = create_engine(make_settings(url, data_dir))
    factory = create_session_factory(engine)
    try:
        first = await seed_demo(factory, datetime.now(UTC), "Asia/Shanghai")
        after_first = await _facts(factory)
        second = await seed_demo(factory, datetime.now(UTC), "Asia/Shanghai")
        return first, after_first, second, await _facts(factory)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_demo_seeds_bookings_in_every_state_once(kind, tmp_path):
    with database(kind, str(tmp_path), "demo") as url:
        upgrade(make_settings(url, tmp_path))
        first, facts, second, facts_again = asyncio.run(_seed_twice(url, tmp_path))
    assert facts["statuses"] == set(STATUSES), set(STATUSES) - facts["statuses"]
    assert facts["draws"] >= 1
    assert facts["school_grounds"] == 17
    assert (first["partners"], first["resources"]) == (9, 21)
    assert first["bookings"] == facts["bookings"] >= 40
    assert facts["residents_booked_for_by_staff"] >= 2 and facts["communities"] == 3
    assert facts["series"] >= 1
    assert second == {"partners": 0, "resources": 0, "bookings": 0}
    assert facts_again == facts
