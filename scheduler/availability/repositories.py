"""Queries availability needs besides the ledger and the resource's facts."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.core.people import Scope
from scheduler.core.people import Suspension as RunningSuspension
from scheduler.db.catalogue import User
from scheduler.db.people import Suspension


class CallerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def person(
        self, user_id: str, now: datetime
    ) -> tuple[User | None, list[RunningSuspension]]:
        """The caller's record and their suspensions still running at ``now``, in one
        statement."""
        query = (
            select(User, Suspension.scope, Suspension.scope_id, Suspension.until)
            .outerjoin(
                Suspension,
                (Suspension.user_id == User.id)
                & Suspension.lifted_at.is_(None)
                & (Suspension.until > now),
            )
            .where(User.id == user_id)
        )
        rows = list(await self.session.execute(query))
        if not rows:
            return None, []
        running = [
            RunningSuspension(cast(Scope, row[1]), row[2], row[3])
            for row in rows
            if row[1] is not None
        ]
        return rows[0][0], running
