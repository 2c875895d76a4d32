"""Use cases for closures: one-off periods when a resource is shut."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.closures import schemas
from scheduler.closures.repositories import ClosureRepository
from scheduler.core.limits import DEFAULT_MAX_CLOSURES_PER_RESOURCE, MAX_AFFECTED_LISTED
from scheduler.db.bookings import Booking
from scheduler.db.catalogue import Resource
from scheduler.db.schedule import Closure
from scheduler.errors import FieldError, LimitExceeded, NotFound, ValidationFailed
from scheduler.ids import new_id
from scheduler.resources.services import ResourceService
from scheduler.timeparams import parse_bound

MAX_CLOSURE = timedelta(days=3 * 366)


@runtime_checkable
class AffectedNotifier(Protocol):
    """Tells every booking a new closure overlaps (``booking.affected_by_closure``), in the
    closure's transaction. Implemented by ``bookings.closures.notify_affected``: bookings sit
    above closures (availability reads closures), so whoever assembles the use case passes
    it in (the app as the ``affected_notifier`` dependency, the console, the demo)."""

    async def __call__(
        self, session: AsyncSession, closure: Closure, resource: Resource, now: datetime
    ) -> int: ...


class ClosureService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.closures = ClosureRepository(session)
        self.resources = ResourceService(session)

    async def create(
        self,
        resource_id: str,
        data: schemas.ClosureCreate,
        caller: Principal,
        now: datetime,
        max_closures: int = DEFAULT_MAX_CLOSURES_PER_RESOURCE,
        *,
        notify: AffectedNotifier,
    ) -> tuple[Closure, list[Booking], int]:
        """Create the closure; return it with the first ``MAX_AFFECTED_LISTED`` active
        bookings it overlaps (never touched) and how many it overlaps in all; ``notify``
        tells each overlapping booking. A resource has at most ``max_closures`` closures
        (availability reads those in its range)."""
        resource, _ = await self.resources.get_managed(resource_id, caller)
        if await self.closures.count(resource_id) >= max_closures:
            raise LimitExceeded(
                "resource_id", f"a resource has at most {max_closures} closures", max_closures
            )
        if data.ends_at <= data.starts_at:
            raise ValidationFailed([FieldError("ends_at", "must be after starts_at")])
        if data.ends_at - data.starts_at > MAX_CLOSURE:
            raise ValidationFailed([FieldError("ends_at", "a closure may last at most 3 years")])
        closure = Closure(
            id=new_id("clo"),
            resource_id=resource_id,
            starts_at=data.starts_at.astimezone(UTC),
            ends_at=data.ends_at.astimezone(UTC),
            reason=data.reason,
            created_by=caller.sub,
            created_at=now,
        )
        self.closures.add(closure)
        await self.session.flush()
        await notify(self.session, closure, resource, now)
        affected, total = await self.closures.bookings_affected(
            resource_id, closure.starts_at, closure.ends_at, MAX_AFFECTED_LISTED
        )
        return closure, affected, total

    async def list(
        self, resource_id: str, start_text: str | None, end_text: str | None
    ) -> list[Closure]:
        resource, _ = await self.resources.get(resource_id)
        zone = ZoneInfo(resource.timezone)
        start = parse_bound(start_text, "from", zone, is_end=False) if start_text else None
        end = parse_bound(end_text, "to", zone, is_end=True) if end_text else None
        return await self.closures.overlapping(resource_id, start, end)

    async def delete(self, resource_id: str, closure_id: str, caller: Principal) -> None:
        await self.resources.get_managed(resource_id, caller)
        closure = await self.closures.get(resource_id, closure_id)
        if closure is None:
            raise NotFound(f"No closure {closure_id!r} on resource {resource_id!r}.")
        await self.closures.delete(closure)
        await self.session.flush()
