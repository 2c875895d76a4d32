"""Every query about partners."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.catalogue import Partner


class PartnerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, partner_id: str) -> Partner | None:
        return await self.session.get(Partner, partner_id)

    async def list(self, *, zone: str | None, limit: int, offset: int) -> tuple[list[Partner], int]:
        query = select(Partner)
        if zone:
            query = query.where(Partner.zone == zone)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(Partner.name, Partner.id).limit(limit).offset(offset)
        )
        return list(rows), int(total or 0)

    def add(self, partner: Partner) -> None:
        self.session.add(partner)
