"""Every query about allocation rounds, their applications and slots."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.allocation import (
    AllocationApplication,
    AllocationRound,
    AllocationRoundResource,
    AllocationSlot,
)


class RoundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, round_id: str) -> AllocationRound | None:
        return await self.session.get(AllocationRound, round_id)

    async def locked(self, round_id: str) -> AllocationRound | None:
        """The round, row-locked on PostgreSQL, so two staff allocating or confirming at once
        queue instead of booking a season twice."""
        query = select(AllocationRound).where(AllocationRound.id == round_id).with_for_update()
        return (await self.session.scalars(query)).first()

    async def all(self, states: tuple[str, ...] | None = None) -> list[AllocationRound]:
        query = select(AllocationRound).order_by(AllocationRound.created_at.desc())
        if states is not None:
            query = query.where(AllocationRound.state.in_(states))
        return list(await self.session.scalars(query))

    async def resource_ids(self, round_ids: list[str]) -> dict[str, list[str]]:
        query = (
            select(AllocationRoundResource.round_id, AllocationRoundResource.resource_id)
            .where(AllocationRoundResource.round_id.in_(round_ids))
            .order_by(AllocationRoundResource.resource_id)
        )
        found: dict[str, list[str]] = {round_id: [] for round_id in round_ids}
        for round_id, resource_id in await self.session.execute(query):
            found[round_id].append(resource_id)
        return found

    def add(self, *rows: object) -> None:
        self.session.add_all(rows)

    async def applications(
        self, round_id: str, applicant_id: str | None = None
    ) -> list[AllocationApplication]:
        query = (
            select(AllocationApplication)
            .where(AllocationApplication.round_id == round_id)
            .order_by(AllocationApplication.created_at, AllocationApplication.id)
        )
        if applicant_id is not None:
            query = query.where(AllocationApplication.applicant_id == applicant_id)
        return list(await self.session.scalars(query))

    async def application(self, round_id: str, application_id: str) -> AllocationApplication | None:
        found = await self.session.get(AllocationApplication, application_id)
        return found if found is not None and found.round_id == round_id else None

    async def slots(
        self, round_id: str, application_ids: list[str] | None = None
    ) -> list[AllocationSlot]:
        """Slots of the round (or of some of its applications), in a stable order."""
        query = (
            select(AllocationSlot)
            .where(AllocationSlot.round_id == round_id)
            .order_by(AllocationSlot.application_id, AllocationSlot.priority, AllocationSlot.id)
        )
        if application_ids is not None:
            query = query.where(AllocationSlot.application_id.in_(application_ids))
        return list(await self.session.scalars(query))

    async def slot(self, round_id: str, slot_id: str) -> AllocationSlot | None:
        found = await self.session.get(AllocationSlot, slot_id)
        return found if found is not None and found.round_id == round_id else None
