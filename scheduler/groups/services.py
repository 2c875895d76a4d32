"""Use cases of resource groups (staff), and the holder's use of a resource's groups."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.core.people import GroupUsage, group_period
from scheduler.core.timerange import TimeRange
from scheduler.db.catalogue import ResourceGroup
from scheduler.errors import AlreadyExists, NotFound, ValidationFailed
from scheduler.groups import schemas
from scheduler.groups.repositories import GroupRepository
from scheduler.resources.repositories import ResourceRepository
from scheduler.versioning import check_version


def to_schema(group: ResourceGroup, resource_ids: list[str]) -> schemas.Group:
    return schemas.Group(
        id=group.id,
        name=group.name,
        resource_ids=resource_ids,
        max_bookings=group.max_bookings,
        max_entries=group.max_entries,
        period=group.period,
        timezone=group.timezone,
        version=group.version,
        created_at=group.created_at,
        updated_at=group.updated_at,
    )


class GroupService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.groups = GroupRepository(session)
        self.resources = ResourceRepository(session)

    async def _check_resources(self, resource_ids: list[str]) -> None:
        for index, resource_id in enumerate(resource_ids):
            if await self.resources.get_with_zone(resource_id) is None:
                raise ValidationFailed.one(f"resource_ids.{index}", f"no resource {resource_id!r}")

    async def create(self, data: schemas.GroupCreate, now: datetime) -> schemas.Group:
        try:
            ZoneInfo(data.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationFailed.one("timezone", "unknown IANA time zone") from None
        if await self.groups.get(data.id) is not None:
            raise AlreadyExists(f"Group {data.id!r} already exists.", id=data.id)
        await self._check_resources(data.resource_ids)
        group = ResourceGroup(
            id=data.id,
            name=data.name,
            max_bookings=data.max_bookings,
            max_entries=data.max_entries,
            period=data.period,
            timezone=data.timezone,
            version=1,
            created_at=now,
            updated_at=now,
        )
        self.session.add(group)
        await self.session.flush()
        await self.groups.set_members(group.id, data.resource_ids)
        return to_schema(group, sorted(set(data.resource_ids)))

    async def get(self, group_id: str) -> schemas.Group:
        group = await self.groups.get(group_id)
        if group is None:
            raise NotFound(f"No group {group_id!r}.")
        return to_schema(group, (await self.groups.members([group.id]))[group.id])

    async def list(self) -> list[schemas.Group]:
        groups = await self.groups.all()
        members = await self.groups.members([group.id for group in groups])
        return [to_schema(group, members[group.id]) for group in groups]

    async def update(
        self, group_id: str, data: schemas.GroupUpdate, if_match: str | None, now: datetime
    ) -> schemas.Group:
        group = await self.groups.get(group_id)
        if group is None:
            raise NotFound(f"No group {group_id!r}.")
        check_version(group.version, if_match)
        for field in ("name", "max_bookings", "max_entries", "period"):
            value = getattr(data, field)
            if value is not None:
                setattr(group, field, value)
        if data.resource_ids is not None:
            await self._check_resources(data.resource_ids)
            await self.groups.set_members(group.id, data.resource_ids)
        group.updated_at = now
        await self.session.flush()
        return await self.get(group_id)

    async def delete(self, group_id: str) -> None:
        group = await self.groups.get(group_id)
        if group is None:
            raise NotFound(f"No group {group_id!r}.")
        await self.groups.delete(group)

    async def usage(
        self, resource_id: str, holder_id: str, request: TimeRange, exclude: str | None = None
    ) -> tuple[GroupUsage, ...]:
        """Each group of the resource with the holder's bookings and entries in the period the
        group counts over (the request's local day, or the request itself)."""
        found = []
        for group in await self.groups.of_resource(resource_id):
            span = group_period(group.period, ZoneInfo(group.timezone), request)
            bookings, entries = await self.groups.holder_use(group.id, holder_id, span, exclude)
            found.append(
                GroupUsage(
                    group.id, group.name, group.max_bookings, group.max_entries, bookings, entries
                )
            )
        return tuple(found)
