"""Imports every model module so ``Base.metadata`` knows all tables (Alembic, tests)."""

from scheduler.db import bookings, catalogue, console, duty_runs, people, permits, schedule
from scheduler.db.base import Base

__all__ = ["Base", "bookings", "catalogue", "console", "duty_runs", "people", "permits", "schedule"]
