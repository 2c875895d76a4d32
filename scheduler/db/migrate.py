"""Alembic driven from code: upgrade, downgrade, current revision, head revision."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _prepare(settings: Settings) -> str:
    url = settings.effective_database_url
    if settings.is_sqlite and ":memory:" not in url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return url


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(_prepare(settings)), revision)


def downgrade(settings: Settings, revision: str = "base") -> None:
    command.downgrade(alembic_config(_prepare(settings)), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    try:
        async with engine.connect() as connection:
            revision = await connection.scalar(text("SELECT version_num FROM alembic_version"))
            return str(revision) if revision is not None else None
    except (OperationalError, ProgrammingError) as exc:
        if "alembic_version" in str(exc):
            return None
        raise
