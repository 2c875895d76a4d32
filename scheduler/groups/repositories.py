"""Every query about resource groups, and a holder's use of them."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import ACTIVE, Booking
from scheduler.db.catalogue import ResourceGroup, ResourceGroupMember

WAITING = ("entered", "waitlisted")


class GroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, group_id: str) -> ResourceGroup | None:
        return await self.session.get(ResourceGroup, group_id)

    async def all(self) -> list[ResourceGroup]:
        return list(await self.session.scalars(select(ResourceGroup).order_by(ResourceGroup.id)))

    async def members(self, group_ids: list[str]) -> dict[str, list[str]]:
        """Resource ids per group, in id order."""
        query = (
            select(ResourceGroupMember.group_id, ResourceGroupMember.resource_id)
            .where(ResourceGroupMember.group_id.in_(group_ids))
            .order_by(ResourceGroupMember.resource_id)
        )
        found: dict[str, list[str]] = {group_id: [] for group_id in group_ids}
        for group_id, resource_id in await self.session.execute(query):
            found[group_id].append(resource_id)
        return found

    async def set_members(self, group_id: str, resource_ids: list[str]) -> None:
        await self.session.execute(
            delete(ResourceGroupMember).where(ResourceGroupMember.group_id == group_id)
        )
        self.session.add_all(
            ResourceGroupMember(group_id=group_id, resource_id=resource_id)
            for resource_id in sorted(set(resource_ids))
        )
        await self.session.flush()

    async def of_resource(self, resource_id: str) -> list[ResourceGroup]:
        query = (
            select(ResourceGroup)
            .join(ResourceGroupMember, ResourceGroupMember.group_id == ResourceGroup.id)
            .where(ResourceGroupMember.resource_id == resource_id)
            .order_by(ResourceGroup.id)
        )
        return list(await self.session.scalars(query))

    async def holder_use(
        self, group_id: str, holder_id: str, span: TimeRange, exclude_booking: str | None = None
    ) -> tuple[int, int]:
        """The holder's active bookings and entries (or waitlist places) across the group's
        resources overlapping ``span``, not counting ``exclude_booking``."""
        conditions = [
            ResourceGroupMember.group_id == group_id,
            Booking.holder_id == holder_id,
            Booking.starts_at < span.end,
            Booking.ends_at > span.start,
        ]
        if exclude_booking is not None:
            conditions.append(Booking.id != exclude_booking)
        query = (
            select(
                func.count().filter(Booking.status.in_(ACTIVE)),
                func.count().filter(Booking.status.in_(WAITING)),
            )
            .select_from(Booking)
            .join(ResourceGroupMember, ResourceGroupMember.resource_id == Booking.resource_id)
            .where(*conditions)
        )
        row = (await self.session.execute(query)).one()
        return int(row[0]), int(row[1])

    async def delete(self, group: ResourceGroup) -> None:
        await self.session.delete(group)
        await self.session.flush()
