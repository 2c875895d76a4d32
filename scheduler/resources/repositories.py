"""Every query about resources."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.bookings import ACTIVE, Booking
from scheduler.db.catalogue import Partner, Resource


class ResourceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _live(self) -> Select[Resource, str]:
        return (
            select(Resource, Partner.zone)
            .join(Partner, Partner.id == Resource.partner_id)
            .where(Resource.deleted_at.is_(None))
        )

    async def get_with_zone(self, resource_id: str) -> tuple[Resource, str] | None:
        result = await self.session.execute(self._live().where(Resource.id == resource_id))
        row = result.first()
        return (row[0], row[1]) if row else None

    async def exists_any(self, resource_id: str) -> bool:
        """True if the id was ever used, including by a deleted resource."""
        return await self.session.get(Resource, resource_id) is not None

    async def list(
        self,
        *,
        zone: str | None,
        kind: str | None,
        partner_id: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[tuple[Resource, str]], int]:
        query = self._live()
        if zone:
            query = query.where(Partner.zone == zone)
        if kind:
            query = query.where(Resource.kind == kind)
        if partner_id:
            query = query.where(Resource.partner_id == partner_id)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        page = query.order_by(Resource.name, Resource.id).limit(limit).offset(offset)
        rows = (await self.session.execute(page)).all()
        return [(row[0], row[1]) for row in rows], int(total or 0)

    def add(self, resource: Resource) -> None:
        self.session.add(resource)

    async def has_active_bookings_after(self, resource_id: str, moment: datetime) -> bool:
        """Whether an active booking of the resource ends after ``moment`` (it cannot go)."""
        query = select(Booking.id).where(
            Booking.resource_id == resource_id, Booking.status.in_(ACTIVE), Booking.ends_at > moment
        )
        return (await self.session.scalars(query.limit(1))).first() is not None
