"""The ``duty_runs`` mirror of the leader's duty monitor."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.duty_runs import DutyRun
from scheduler.db.statements import insert_ignoring_conflicts
from scheduler.jobs.monitor import DutyState

TABLE = cast(Table, DutyRun.__table__)


class DutyRunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def publish(self, states: Iterable[DutyState], leader: str, now: datetime) -> None:
        """Write every duty's record: two statements, whatever the number of duties."""
        rows = [
            {
                "duty": state.name,
                "last_started_at": state.last_started_at,
                "last_succeeded_at": state.last_succeeded_at,
                "last_failed_at": state.last_failed_at,
                "last_error": state.last_error,
                "runs": state.runs,
                "failures": state.failures,
                "leader": leader,
                "updated_at": now,
            }
            for state in states
        ]
        if not rows:
            return
        await insert_ignoring_conflicts(self.session, TABLE, rows)
        statement = (
            update(TABLE)
            .where(TABLE.c.duty == bindparam("key"))
            .values({column: bindparam(column) for column in rows[0] if column != "duty"})
        )
        await self.session.execute(statement, [{**row, "key": row["duty"]} for row in rows])

    async def all(self) -> list[DutyRun]:
        return list(await self.session.scalars(select(DutyRun).order_by(DutyRun.duty)))
