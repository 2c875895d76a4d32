"""Use cases for partner units."""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.catalogue import Partner
from scheduler.errors import AlreadyExists, NotFound
from scheduler.ids import new_id
from scheduler.partners import schemas
from scheduler.partners.repositories import PartnerRepository
from scheduler.versioning import check_version


class PartnerService:
    def __init__(self, session: AsyncSession) -> None:
        self.partners = PartnerRepository(session)

    async def create(self, data: schemas.PartnerCreate, now: datetime) -> Partner:
        partner_id = data.id or new_id("ptn")
        if await self.partners.get(partner_id) is not None:
            raise AlreadyExists(f"Partner {partner_id!r} already exists.", id=partner_id)
        fields = msgspec.structs.asdict(data)
        fields.pop("id")
        partner = Partner(id=partner_id, **fields, version=1, created_at=now, updated_at=now)
        self.partners.add(partner)
        await self.partners.session.flush()
        return partner

    async def get(self, partner_id: str) -> Partner:
        partner = await self.partners.get(partner_id)
        if partner is None:
            raise NotFound(f"No partner {partner_id!r}.")
        return partner

    async def list(self, *, zone: str | None, limit: int, offset: int) -> tuple[list[Partner], int]:
        return await self.partners.list(zone=zone, limit=limit, offset=offset)

    async def update(
        self,
        partner_id: str,
        data: schemas.PartnerUpdate,
        *,
        if_match: str | None,
        now: datetime,
    ) -> Partner:
        partner = await self.get(partner_id)
        check_version(partner.version, if_match)
        for key, value in msgspec.structs.asdict(data).items():
            if value is not msgspec.UNSET:
                setattr(partner, key, value)
        partner.updated_at = now
        await self.partners.session.flush()
        return partner
