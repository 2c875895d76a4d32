"""Migrations and models agree, and every revision can be undone and redone, on both databases."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from scheduler.db.engine import create_engine
from scheduler.db.migrate import current_revision, downgrade, head_revision, upgrade
from scheduler.db.models import Base
from tests.conftest import make_settings
from tests.support.databases import database


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_settings(request, tmp_path):
    with database(request.param, str(tmp_path), "mig") as url:
        yield make_settings(url, tmp_path)


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _inspect(settings, function):
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(function)
    finally:
        await engine.dispose()


async def _revision(settings):
    engine = create_engine(settings)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


def test_models_match_migrations(fresh_settings):
    upgrade(fresh_settings)
    assert asyncio.run(_inspect(fresh_settings, _differences)) == []


def test_upgrade_downgrade_upgrade(fresh_settings):
    assert asyncio.run(_revision(fresh_settings)) is None
    upgrade(fresh_settings)
    assert asyncio.run(_revision(fresh_settings)) == head_revision()
    expected = asyncio.run(_inspect(fresh_settings, _tables))
    assert set(Base.metadata.tables) <= expected
    downgrade(fresh_settings, "base")
    assert asyncio.run(_inspect(fresh_settings, _tables)) <= {"alembic_version"}
    upgrade(fresh_settings)
    assert asyncio.run(_inspect(fresh_settings, _tables)) == expected
    assert asyncio.run(_inspect(fresh_settings, _differences)) == []
