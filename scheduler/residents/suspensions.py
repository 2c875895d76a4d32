"""Suspensions: who may not book where, until when and why.

A suspension covers one resource, one partner's resources, or everywhere. The no-show duty
creates them from a resource's ``policy.no_show`` rule (``created_by = system:jobs``); staff
set any scope by hand; a partner only on its own resources or unit. Lifting keeps the row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.core.people import NoShow, Scope, counts_toward, scope_id_for
from scheduler.core.policy import NoShowPolicy
from scheduler.db.catalogue import Resource, User
from scheduler.db.people import Suspension
from scheduler.errors import Forbidden, NotFound, ValidationFailed
from scheduler.ids import new_id
from scheduler.residents import schemas
from scheduler.residents.repositories import ResidentRepository, SuspensionRepository

SYSTEM = "system:jobs"
MAX_SUSPENSION = timedelta(days=366)


def suspension_view(suspension: Suspension, user: User) -> schemas.Suspension:
    return schemas.Suspension(
        id=suspension.id,
        resident_id=user.id,
        resident_name=user.name,
        scope=suspension.scope,
        scope_id=suspension.scope_id,
        until=suspension.until,
        reason=suspension.reason,
        created_by=suspension.created_by,
        created_at=suspension.created_at,
    )


class SuspensionService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.suspensions = SuspensionRepository(session)
        self.residents = ResidentRepository(session)

    async def running(
        self, caller: Principal, now: datetime, limit: int, offset: int
    ) -> tuple[list[tuple[Suspension, User]], int]:
        """Who is suspended, until when and why: staff see all; a partner those on its own
        resources or unit; a worker those of their communities' residents."""
        if caller.role == "partner":
            query = self.suspensions.running(now, partner_id=caller.partner)
        elif caller.is_worker:
            query = self.suspensions.running(now, communities=caller.communities)
        elif caller.is_staff:
            query = self.suspensions.running(now)
        else:
            raise Forbidden("The list of suspensions is for staff, partners and workers.")
        return await self.suspensions.page(query, limit, offset)

    async def _check_scope(self, caller: Principal, scope: Scope, scope_id: str | None) -> None:
        if (scope == "everywhere") != (scope_id is None):
            raise ValidationFailed.one("scope_id", "required unless the scope is everywhere")
        if caller.is_staff:
            return
        if caller.role != "partner" or scope == "everywhere":
            raise Forbidden("Only staff suspend beyond one partner's own resources.")
        if scope == "partner" and scope_id != caller.partner:
            raise Forbidden("A partner suspends on its own unit only.")
        if scope == "resource":
            resource = await self.session.get(Resource, scope_id)
            if resource is None or resource.partner_id != caller.partner:
                raise Forbidden("A partner suspends on its own resources only.")

    async def create(
        self, data: schemas.SuspensionCreate, caller: Principal, now: datetime
    ) -> tuple[Suspension, User]:
        await self._check_scope(caller, data.scope, data.scope_id)
        user = await self.residents.get(data.resident_id)
        if user is None:
            raise ValidationFailed.one("resident_id", f"no resident {data.resident_id!r}")
        if not now < data.until <= now + MAX_SUSPENSION:
            raise ValidationFailed.one("until", "must be in the future, at most 366 days ahead")
        suspension = Suspension(
            id=new_id("sus"),
            user_id=user.id,
            scope=data.scope,
            scope_id=data.scope_id,
            until=data.until,
            reason=data.reason,
            created_by=caller.sub,
            created_at=now,
        )
        self.suspensions.add(suspension)
        await self.session.flush()
        return suspension, user

    async def lift(self, suspension_id: str, caller: Principal, now: datetime) -> None:
        suspension = await self.suspensions.get(suspension_id)
        if suspension is None or suspension.lifted_at is not None:
            raise NotFound(f"No running suspension {suspension_id!r}.")
        scope: Scope = suspension.scope  # type: ignore[assignment]
        await self._check_scope(caller, scope, suspension.scope_id)
        suspension.lifted_at, suspension.lifted_by = now, caller.sub
        await self.session.flush()

    async def lift_all(self, resident_id: str, caller: Principal, now: datetime) -> None:
        """Lift every running suspension of a person (staff)."""
        user = await self.residents.get(resident_id)
        if user is None:
            raise NotFound(f"No user {resident_id!r}.")
        rows, _ = await self.suspensions.page(
            self.suspensions.running(now, user_id=user.id), 1000, 0
        )
        for suspension, _ in rows:
            suspension.lifted_at, suspension.lifted_by = now, caller.sub
        await self.session.flush()

    async def reconsider(
        self,
        user_id: str,
        resource: Resource,
        rule: NoShowPolicy,
        now: datetime,
        excused: bool = False,
    ) -> Suspension | None:
        """Apply ``rule`` to the person's no-shows in its window, after a new or an
        excused no-show on ``resource``."""
        no_shows = await self.suspensions.no_shows_since(
            user_id, now - timedelta(days=rule.window_days)
        )
        return await self.apply_no_shows(user_id, resource, rule, no_shows, now, excused)

    async def apply_no_shows(
        self,
        user_id: str,
        resource: Resource,
        rule: NoShowPolicy,
        no_shows: list[NoShow],
        now: datetime,
        excused: bool = False,
    ) -> Suspension | None:
        """Suspend (or extend) in the rule's scope when the no-shows that count reach its
        limit. After an ``excused`` no-show, lift the duty's suspension there if they no
        longer do (a no-show merely leaving the window does not shorten a suspension)."""
        counted = sum(
            counts_toward(n, rule.scope, resource.id, resource.partner_id) for n in no_shows
        )
        scope_id = scope_id_for(rule.scope, resource.id, resource.partner_id)
        current = await self.suspensions.system_running(user_id, rule.scope, scope_id, now)
        if counted < rule.limit or not rule.suspend_days:
            for suspension in current if excused else []:
                suspension.lifted_at, suspension.lifted_by = now, SYSTEM
            await self.session.flush()
            return None
        until = now + timedelta(days=rule.suspend_days)
        if any(suspension.until >= until for suspension in current):
            return None
        suspension = Suspension(
            id=new_id("sus"),
            user_id=user_id,
            scope=rule.scope,
            scope_id=scope_id,
            until=until,
            reason=f"{counted} no-shows in {rule.window_days} days",
            created_by=SYSTEM,
            created_at=now,
        )
        self.suspensions.add(suspension)
        await self.session.flush()
        return suspension
