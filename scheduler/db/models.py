"""Imports every model module so ``Base.metadata`` knows all tables (Alembic, tests)."""

from scheduler.db import catalogue, schedule
from scheduler.db.base import Base

__all__ = ["Base", "catalogue", "schedule"]
