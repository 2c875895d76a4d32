"""Every query of permits and their release rounds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.bookings import Booking
from scheduler.db.permits import Permit, PermitRound
from scheduler.db.statements import insert_ignoring_conflicts

ALIVE = ("applied", "confirmed")


class PermitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, permit: Permit) -> None:
        self.session.add(permit)

    async def get(self, permit_id: str) -> Permit | None:
        return await self.session.get(Permit, permit_id)

    async def alive(self, resource_id: str, holder_id: str, period: str) -> Permit | None:
        """The person's application or permit for that month here, if any."""
        query = select(Permit).where(
            Permit.resource_id == resource_id,
            Permit.holder_id == holder_id,
            Permit.period == period,
            Permit.state.in_(ALIVE),
        )
        return (await self.session.scalars(query.limit(1))).first()

    async def occurrences(self, permit_id: str) -> list[Booking]:
        """The permit's nights (bookings whose series is the permit), in time order."""
        query = select(Booking).where(Booking.series_id == permit_id)
        return list(await self.session.scalars(query.order_by(Booking.starts_at, Booking.id)))

    async def due(self, now: datetime, resource_id: str | None = None) -> list[tuple[str, str]]:
        """(resource, month) pairs with applications whose release has come."""
        query = select(Permit.resource_id, Permit.period).where(
            Permit.state == "applied", Permit.release_at <= now
        )
        if resource_id is not None:
            query = query.where(Permit.resource_id == resource_id)
        rows = await self.session.execute(query.distinct().order_by(Permit.period))
        return [(row[0], row[1]) for row in rows]

    async def upcoming(self, now: datetime, until: datetime) -> list[tuple[str, str, datetime]]:
        """(resource, month, release instant) with applications waiting before ``until``."""
        query = select(Permit.resource_id, Permit.period, Permit.release_at).where(
            Permit.state == "applied", Permit.release_at > now, Permit.release_at <= until
        )
        rows = await self.session.execute(query.distinct())
        return [(row[0], row[1], row[2]) for row in rows]

    async def applications(self, resource_id: str, period: str) -> list[Permit]:
        """The month's undecided applications, first come first, locked for the round."""
        query = (
            select(Permit)
            .where(
                Permit.resource_id == resource_id,
                Permit.period == period,
                Permit.state == "applied",
            )
            .order_by(Permit.created_at, Permit.id)
            .with_for_update()
        )
        return list(await self.session.scalars(query))


class RoundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(
        self,
        round_id: str,
        resource_id: str,
        period: str,
        release_at: datetime,
        now: datetime,
        seed: str,
    ) -> bool:
        """Insert the round; False if this month was already released here. A concurrent
        claim waits for the first to commit, then finds the row."""
        row = {
            "id": round_id,
            "resource_id": resource_id,
            "period": period,
            "release_at": release_at,
            "drawn_at": now,
            "seed": seed,
            "lottery": False,
            "applications": [],
            "winners": [],
        }
        table = PermitRound.__table__
        return await insert_ignoring_conflicts(self.session, table, [row]) == 1  # type: ignore[arg-type]

    async def record(
        self, round_id: str, lottery: bool, applications: list[str], winners: list[str]
    ) -> None:
        await self.session.execute(
            update(PermitRound)
            .where(PermitRound.id == round_id)
            .values(lottery=lottery, applications=applications, winners=winners)
            .execution_options(synchronize_session=False)
        )

    async def get(self, resource_id: str, period: str) -> PermitRound | None:
        query = select(PermitRound).where(
            PermitRound.resource_id == resource_id, PermitRound.period == period
        )
        return (await self.session.scalars(query)).first()
