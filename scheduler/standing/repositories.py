"""Every query of standing orders and their occurrences."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.db.catalogue import Resource, User
from scheduler.db.standing import StandingOccurrence, StandingOrder
from scheduler.db.statements import dialect_of

# Occurrences decided per transaction by the booking duty. A batch holds several holders'
# row locks and several slots' ledger rows until its commit, so two batches at once could
# deadlock on PostgreSQL (holder rows taken in one order, ledger rows in another): runs take
# ``RUNS_LOCK`` first and never overlap. Small, so people booking by hand at the release
# wait at most one batch.
DUE_BATCH = 10
RUNS_LOCK = 0x5374616E64696E67  # "Standing": the booking duty's advisory transaction lock
# Release moments planned per look-ahead.
PLANNED_RELEASES = 200


class StandingOrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, order: StandingOrder, occurrences: Sequence[StandingOccurrence]) -> None:
        # The order first: without a relationship() the unit of work need not insert it
        # before the occurrences that reference it.
        self.session.add(order)
        await self.session.flush()
        self.session.add_all(occurrences)
        await self.session.flush()

    async def get(self, order_id: str) -> StandingOrder | None:
        return await self.session.get(StandingOrder, order_id)

    async def occurrences(self, order_id: str) -> list[StandingOccurrence]:
        query = (
            select(StandingOccurrence)
            .where(StandingOccurrence.standing_order_id == order_id)
            .order_by(StandingOccurrence.starts_at)
        )
        return list(await self.session.scalars(query))

    async def counts(self, order_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Occurrences of each order by status, in one statement."""
        if not order_ids:
            return {}
        query = (
            select(
                StandingOccurrence.standing_order_id,
                StandingOccurrence.status,
                func.count(),
            )
            .where(StandingOccurrence.standing_order_id.in_(order_ids))
            .group_by(StandingOccurrence.standing_order_id, StandingOccurrence.status)
        )
        found: dict[str, dict[str, int]] = {order_id: {} for order_id in order_ids}
        for order_id, status, count in await self.session.execute(query):
            found[order_id][status] = count
        return found

    async def visible(
        self, caller: Principal, status: str | None, limit: int, offset: int
    ) -> tuple[list[StandingOrder], int]:
        """The orders ``caller`` may see: their own (held or created), their resources'
        (partners), their communities' residents' (workers), every one (staff)."""
        query = select(StandingOrder)
        if caller.role == "partner":
            query = query.join(Resource, Resource.id == StandingOrder.resource_id).where(
                Resource.partner_id == caller.partner
            )
        elif caller.is_worker:
            query = query.join(User, User.id == StandingOrder.holder_id).where(
                User.community.in_(caller.communities) | (StandingOrder.created_by == caller.sub)
            )
        elif not caller.is_staff:
            query = query.where(
                (StandingOrder.holder_id == caller.sub) | (StandingOrder.created_by == caller.sub)
            )
        if status is not None:
            query = query.where(StandingOrder.status == status)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(StandingOrder.created_at.desc(), StandingOrder.id)
            .limit(limit)
            .offset(offset)
        )
        return list(rows), int(total or 0)

    async def one_run_at_a_time(self) -> None:
        """Wait for any other booking-duty transaction to end (PostgreSQL; SQLite has one
        writer at a time anyway)."""
        if dialect_of(self.session) == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": RUNS_LOCK}
            )

    async def due(self, now: datetime, limit: int = DUE_BATCH) -> list[StandingOccurrence]:
        """Pending occurrences whose release moment has come, oldest first. Rows another
        worker is deciding are skipped (PostgreSQL); ``claim`` settles any race."""
        query = (
            select(StandingOccurrence)
            .where(StandingOccurrence.status == "pending", StandingOccurrence.release_at <= now)
            .order_by(StandingOccurrence.release_at, StandingOccurrence.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(await self.session.scalars(query))

    async def upcoming_releases(self, start: datetime, end: datetime) -> list[datetime]:
        """Distinct release moments of pending occurrences in ``(start, end]``."""
        query = (
            select(StandingOccurrence.release_at)
            .where(
                StandingOccurrence.status == "pending",
                StandingOccurrence.release_at > start,
                StandingOccurrence.release_at <= end,
            )
            .distinct()
            .order_by(StandingOccurrence.release_at)
            .limit(PLANNED_RELEASES)
        )
        return list(await self.session.scalars(query))

    async def claim(self, occurrence_id: int, now: datetime) -> bool:
        """Take a pending occurrence for deciding, once: a concurrent run that claimed it
        first leaves this one 0 rows (on PostgreSQL it waits for that run's commit and then
        sees the row no longer pending)."""
        result = await self.session.execute(
            update(StandingOccurrence)
            .where(StandingOccurrence.id == occurrence_id, StandingOccurrence.status == "pending")
            .values(decided_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def close_pending(
        self, order_id: str, status: str, released_by: datetime | None = None
    ) -> int:
        """Mark the order's pending occurrences (only those released by ``released_by``,
        when given) ``status``; returns how many."""
        query = update(StandingOccurrence).where(
            StandingOccurrence.standing_order_id == order_id,
            StandingOccurrence.status == "pending",
        )
        if released_by is not None:
            query = query.where(StandingOccurrence.release_at <= released_by)
        result = await self.session.execute(
            query.values(status=status).execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
