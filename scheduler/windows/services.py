"""Use cases for opening windows: partners say when their facilities are open, to whom."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.core import windows as core
from scheduler.core.limits import DEFAULT_MAX_WINDOWS_PER_RESOURCE
from scheduler.db.catalogue import Resource
from scheduler.db.schedule import OpeningWindow
from scheduler.errors import FieldError, LimitExceeded, NotFound, ValidationFailed
from scheduler.ids import new_id
from scheduler.resources.services import ResourceService
from scheduler.versioning import check_version
from scheduler.windows import schemas
from scheduler.windows.repositories import WindowRepository

COMMUNITY_PREFIX = "community:"


def audience_tuple(audience: str | list[str]) -> tuple[str, ...]:
    """``"residents"`` -> ``("residents",)``; ``["a"]`` -> ``("community:a",)``."""
    if isinstance(audience, str):
        return (audience,)
    return tuple(COMMUNITY_PREFIX + code for code in audience)


def to_core(row: OpeningWindow) -> core.Window:
    return core.Window(
        id=row.id,
        start_time=core.parse_clock(row.start_time, is_end=False),
        end_time=core.parse_clock(row.end_time, is_end=True),
        rrule=row.rrule,
        day_types=tuple(row.day_types),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        audience=audience_tuple(row.audience),
        capacity=row.capacity,
        label=row.label,
    )


def to_schema(row: OpeningWindow) -> schemas.Window:
    return msgspec.convert(row, schemas.Window, from_attributes=True)


def _validate(fields: dict[str, Any], resource: Resource) -> None:
    found = core.clock_problems(fields["start_time"], fields["end_time"])
    if not found:
        candidate = core.Window(
            id="",
            start_time=core.parse_clock(fields["start_time"], is_end=False),
            end_time=core.parse_clock(fields["end_time"], is_end=True),
            rrule=fields["rrule"],
            day_types=tuple(fields["day_types"]),
            valid_from=fields["valid_from"],
            valid_until=fields["valid_until"],
            audience=audience_tuple(fields["audience"]),
            capacity=fields["capacity"],
        )
        found += core.window_problems(candidate)
    capacity = fields["capacity"]
    if resource.units and capacity is not None and capacity > len(resource.units):
        found.append(("capacity", f"cannot exceed the resource's {len(resource.units)} units"))
    if found:
        raise ValidationFailed([FieldError(field, message) for field, message in found])


class WindowService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.windows = WindowRepository(session)
        self.resources = ResourceService(session)

    async def list(self, resource_id: str) -> list[OpeningWindow]:
        await self.resources.get(resource_id)
        return await self.windows.for_resource(resource_id)

    async def get(self, resource_id: str, window_id: str) -> OpeningWindow:
        await self.resources.get(resource_id)
        window = await self.windows.get(resource_id, window_id)
        if window is None:
            raise NotFound(f"No window {window_id!r} on resource {resource_id!r}.")
        return window

    async def create(
        self,
        resource_id: str,
        data: schemas.WindowCreate,
        caller: Principal,
        now: datetime,
        max_windows: int = DEFAULT_MAX_WINDOWS_PER_RESOURCE,
    ) -> OpeningWindow:
        """Add a window; a resource has at most ``max_windows`` (every availability read
        expands all of them)."""
        resource, _ = await self.resources.get_managed(resource_id, caller)
        fields = msgspec.structs.asdict(data)
        _validate(fields, resource)
        if await self.windows.count(resource_id) >= max_windows:
            raise LimitExceeded(
                "resource_id", f"a resource has at most {max_windows} opening windows", max_windows
            )
        window = OpeningWindow(
            id=new_id("win"),
            resource_id=resource_id,
            version=1,
            created_at=now,
            updated_at=now,
            **fields,
        )
        self.windows.add(window)
        await self.session.flush()
        return window

    async def update(
        self,
        resource_id: str,
        window_id: str,
        data: schemas.WindowUpdate,
        caller: Principal,
        if_match: str | None,
        now: datetime,
    ) -> OpeningWindow:
        resource, _ = await self.resources.get_managed(resource_id, caller)
        window = await self.get(resource_id, window_id)
        check_version(window.version, if_match)
        current = msgspec.structs.asdict(to_schema(window))
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        merged = {
            key: changes.get(key, current[key]) for key in schemas.WindowCreate.__struct_fields__
        }
        _validate(merged, resource)
        for key, value in changes.items():
            setattr(window, key, value)
        window.updated_at = now
        await self.session.flush()
        return window

    async def delete(
        self, resource_id: str, window_id: str, caller: Principal, if_match: str | None
    ) -> None:
        await self.resources.get_managed(resource_id, caller)
        window = await self.get(resource_id, window_id)
        check_version(window.version, if_match)
        await self.windows.delete(window)
        await self.session.flush()
