"""Slot and unit holdings: take, give back, read what is held.

``slot_holdings`` has one row per (resource, slot start) with the quantity held by active
bookings and the capacity in force. Taking capacity increments those rows with
``held + q <= capacity`` in the WHERE clause, so the database itself refuses over-booking,
and a CHECK constraint is the backstop. ``unit_holdings`` has one row per (resource, unit,
slot start); its primary key makes assigning a unit twice impossible.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, Engine, Integer, and_, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.bookings import SlotHolding, UnitHolding
from scheduler.db.catalogue import Resource
from scheduler.db.schedule import CalendarVersion
from scheduler.db.statements import dialect_insert, dialect_of

# Built once: the hot path's most frequent read (constructing it per request cost more CPU
# than running it).
HELD = select(SlotHolding.slot_start, SlotHolding.held).where(
    SlotHolding.resource_id == bindparam("resource_id"),
    SlotHolding.slot_start >= bindparam("start"),
    SlotHolding.slot_start < bindparam("end"),
    SlotHolding.held > 0,
)


# How many times this process changed each resource's holdings, per database: something
# computed from the ledger and kept for a moment (RecentAlternatives) notices this process's
# own changes at once by keying on it. Other processes' changes are not seen here.
_CHANGES: weakref.WeakKeyDictionary[Engine, defaultdict[str, int]] = weakref.WeakKeyDictionary()


def _changes_of(session: AsyncSession) -> defaultdict[str, int]:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    changes = _CHANGES.get(engine)
    if changes is None:
        changes = _CHANGES[engine] = defaultdict(int)
    return changes


class CapacityLedger:
    """Every read and write of capacity holdings."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def changes(self, resource_id: str) -> int:
        """How many times this process has changed the resource's holdings so far."""
        return _changes_of(self.session)[resource_id]

    async def held(self, resource_id: str, start: datetime, end: datetime) -> dict[datetime, int]:
        """Quantity held per slot start in ``[start, end)`` (slots holding nothing omitted)."""
        parameters = {"resource_id": resource_id, "start": start, "end": end}
        return {row.slot_start: row.held for row in await self.session.execute(HELD, parameters)}

    async def held_and_versions(
        self, resource_id: str, start: datetime, end: datetime
    ) -> tuple[int | None, int | None, dict[datetime, int]]:
        """``held`` plus, in the same round trip, the resource's ``facts_version`` (None if it
        is deleted or unknown) and the calendar's, which validate the cached facts."""
        calendar = select(CalendarVersion.version).where(CalendarVersion.id == 1)
        query = (
            select(
                Resource.facts_version,
                calendar.scalar_subquery(),
                SlotHolding.slot_start,
                SlotHolding.held,
            )
            .select_from(Resource)
            .outerjoin(
                SlotHolding,
                and_(
                    SlotHolding.resource_id == Resource.id,
                    SlotHolding.slot_start >= start,
                    SlotHolding.slot_start < end,
                    SlotHolding.held > 0,
                ),
            )
            .where(Resource.id == resource_id, Resource.deleted_at.is_(None))
        )
        rows = list(await self.session.execute(query))
        if not rows:
            return None, None, {}
        held = {row[2]: row[3] for row in rows if row[2] is not None}
        return rows[0][0], rows[0][1], held

    async def held_of_many(
        self, resource_ids: Sequence[str], start: datetime, end: datetime
    ) -> tuple[int | None, dict[str, dict[datetime, int]]]:
        """``held`` of every resource in ``resource_ids`` in one statement, with the
        calendar's version (None if its row is missing) read in the same round trip."""
        calendar = select(CalendarVersion.version).where(CalendarVersion.id == 1)
        found: dict[str, dict[datetime, int]] = {}
        if not resource_ids:
            return (await self.session.execute(calendar)).scalar(), found
        query = (
            select(
                calendar.scalar_subquery(),
                SlotHolding.resource_id,
                SlotHolding.slot_start,
                SlotHolding.held,
            )
            .select_from(Resource)
            .outerjoin(
                SlotHolding,
                and_(
                    SlotHolding.resource_id == Resource.id,
                    SlotHolding.slot_start >= start,
                    SlotHolding.slot_start < end,
                    SlotHolding.held > 0,
                ),
            )
            .where(Resource.id.in_(resource_ids))
        )
        version = None
        for row in await self.session.execute(query):
            version = row[0]
            if row[1] is not None:
                found.setdefault(row[1], {})[row[2]] = row[3]
        return version, found

    async def take(
        self, resource_id: str, slots: Sequence[tuple[datetime, int]], quantity: int
    ) -> list[datetime]:
        """Take ``quantity`` in every ``(slot_start, capacity)``, or in none of them; returns the
        slot starts that had no room.

        One statement: an upsert that inserts a slot's row holding ``quantity`` or, when the
        row exists, increments it only where ``held + quantity <= capacity`` (rows without
        room are neither changed nor returned). It row-locks the ledger rows in slot order
        (the rows are sent sorted), so overlapping bookings queue instead of deadlocking. On
        a partial failure the increments made are given back."""
        ordered = sorted(slots)
        fitting = [(start, cap) for start, cap in ordered if quantity <= cap]
        granted: set[datetime] = set()
        if fitting:
            parameters: dict[str, Any] = {"resource_id": resource_id, "quantity": quantity}
            for index, (start, capacity) in enumerate(fitting):
                parameters[f"start_{index}"], parameters[f"capacity_{index}"] = start, capacity
            statement = _take_statement(dialect_of(self.session), len(fitting))
            granted.update(await self.session.scalars(statement, parameters))
        if granted:
            _changes_of(self.session)[resource_id] += 1
        missing = [start for start, _ in ordered if start not in granted]
        if missing and granted:
            await self._decrement(resource_id, list(granted), quantity)
        return missing

    async def give_back(
        self, resource_id: str, starts: Sequence[datetime], quantity: int, booking_id: str
    ) -> None:
        """Return a booking's quantity in ``starts`` and free any unit it held."""
        await self._decrement(resource_id, starts, quantity)
        await self.session.execute(delete(UnitHolding).where(UnitHolding.booking_id == booking_id))

    async def _decrement(self, resource_id: str, starts: Sequence[datetime], quantity: int) -> None:
        _changes_of(self.session)[resource_id] += 1
        await self.session.execute(
            update(SlotHolding)
            .where(SlotHolding.resource_id == resource_id, SlotHolding.slot_start.in_(starts))
            .values(held=SlotHolding.held - quantity)
            .execution_options(synchronize_session=False)
        )

    async def taken_units(self, resource_id: str, starts: Sequence[datetime]) -> set[str]:
        """Units held by anyone in any of ``starts``."""
        query = select(UnitHolding.unit).where(
            UnitHolding.resource_id == resource_id, UnitHolding.slot_start.in_(starts)
        )
        return set(await self.session.scalars(query))

    async def hold_unit(
        self, resource_id: str, unit: str, starts: Sequence[datetime], booking_id: str
    ) -> None:
        """Assign ``unit`` to ``booking_id`` in ``starts``; the primary key refuses a unit
        already held (IntegrityError), whatever the caller believed."""
        self.session.add_all(
            UnitHolding(resource_id=resource_id, unit=unit, slot_start=start, booking_id=booking_id)
            for start in starts
        )
        await self.session.flush()

    async def units_held_between(
        self, resource_id: str, start: datetime, end: datetime
    ) -> list[tuple[str, datetime]]:
        """Every (unit, slot start) held by anyone in ``[start, end)``: one read for a whole
        series, which the unit plan then splits by occurrence."""
        query = select(UnitHolding.unit, UnitHolding.slot_start).where(
            UnitHolding.resource_id == resource_id,
            UnitHolding.slot_start >= start,
            UnitHolding.slot_start < end,
        )
        return [(row.unit, row.slot_start) for row in await self.session.execute(query)]


@lru_cache(maxsize=64)
def _take_statement(dialect: str, rows: int) -> Any:
    """``INSERT … ON CONFLICT DO UPDATE … WHERE held + quantity <= capacity RETURNING``, the
    same statement on PostgreSQL and SQLite, built once per dialect and number of slots:
    parameters ``resource_id``, ``quantity`` and ``start_<i>``/``capacity_<i>``."""
    table: Any = SlotHolding.__table__
    resource_id: BindParameter[str] = bindparam("resource_id")
    quantity: BindParameter[int] = bindparam("quantity", type_=Integer)
    statement = dialect_insert(dialect, table).values(
        [
            {
                "resource_id": resource_id,
                "slot_start": bindparam(f"start_{index}", type_=table.c.slot_start.type),
                "held": quantity,
                "capacity": bindparam(f"capacity_{index}", type_=Integer),
            }
            for index in range(rows)
        ]
    )
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[table.c.resource_id, table.c.slot_start],
        set_={"held": table.c.held + excluded.held, "capacity": excluded.capacity},
        where=table.c.held + excluded.held <= excluded.capacity,
    ).returning(table.c.slot_start)
