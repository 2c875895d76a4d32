"""Rules about a resource's shape: capacity, units and time zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_CAPACITY = 100_000
MAX_UNITS = 5_000


def capacity_errors(capacity: int | None, units: list[str] | None) -> list[tuple[str, str]]:
    """Problems with a capacity/units pair; with units, capacity is their count."""
    found: list[tuple[str, str]] = []
    if units:
        if len(set(units)) != len(units):
            found.append(("units", "unit labels must be unique"))
        if any(not label.strip() for label in units):
            found.append(("units", "unit labels must not be blank"))
        if capacity is not None and capacity != len(units):
            found.append(("capacity", f"must equal the number of units ({len(units)})"))
    elif capacity is None:
        found.append(("capacity", "required when no units are given"))
    return found


def resolved_capacity(capacity: int | None, units: list[str] | None) -> int:
    return len(units) if units else int(capacity or 0)


def is_known_timezone(name: str) -> bool:
    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
