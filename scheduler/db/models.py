"""Imports every model module so ``Base.metadata`` knows all tables (Alembic, tests)."""

from scheduler.db import (
    allocation,
    bookings,
    catalogue,
    console,
    duty_runs,
    people,
    schedule,
    standing,
)
from scheduler.db.base import Base

__all__ = [
    "Base",
    "allocation",
    "bookings",
    "catalogue",
    "console",
    "duty_runs",
    "people",
    "schedule",
    "standing",
]
