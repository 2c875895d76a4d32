"""HTTP surface of closures."""

from __future__ import annotations

import msgspec
from litestar import Controller, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from scheduler.auth.middleware import MANAGERS
from scheduler.closures import schemas
from scheduler.closures.services import AffectedNotifier, ClosureService
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.openapi import problems
from scheduler.timeparams import FromParam, ToParam


def _out(closure: object) -> schemas.Closure:
    return msgspec.convert(closure, schemas.Closure, from_attributes=True)


class ClosureController(Controller):
    path = "/api/v1/resources/{resource_id:str}/closures"
    tags = ["Windows and availability"]

    @post("/", operation_id="createClosure", guards=[MANAGERS], responses=problems(403, 404))
    async def create(
        self,
        resource_id: FromPath[str],
        data: JSONBody[schemas.ClosureCreate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        state: State,
        affected_notifier: NamedDependency[AffectedNotifier],
    ) -> schemas.ClosureCreated:
        """Shut a resource for a period (exams, maintenance, events); it beats every window.

        The response lists the active bookings the closure overlaps; they are not cancelled,
        and each overlapping booking gets a `booking.affected_by_closure` webhook event."""
        closure, affected, total = await ClosureService(db_session).create(
            resource_id,
            data,
            principal,
            now,
            state.settings.max_closures_per_resource,
            notify=affected_notifier,
        )
        return schemas.ClosureCreated(
            **msgspec.structs.asdict(_out(closure)),
            affected_bookings=[
                schemas.AffectedBooking(
                    id=b.id,
                    status=b.status,
                    starts_at=b.starts_at,
                    ends_at=b.ends_at,
                    holder_sub=b.holder_id,
                    holder_name=b.holder_name,
                    quantity=b.quantity,
                    unit=b.unit,
                )
                for b in affected
            ],
            affected_total=total,
        )

    @get("/", operation_id="listClosures", responses=problems(404))
    async def list_closures(
        self,
        resource_id: FromPath[str],
        db_session: DbSession,
        principal: Caller,
        start: FromParam = None,
        end: ToParam = None,
    ) -> list[schemas.Closure]:
        """Closures of a resource, optionally only those overlapping [from, to)."""
        rows = await ClosureService(db_session).list(resource_id, start, end)
        return [_out(row) for row in rows]

    @delete(
        "/{closure_id:str}",
        operation_id="deleteClosure",
        guards=[MANAGERS],
        responses=problems(403, 404),
    )
    async def delete_closure(
        self,
        resource_id: FromPath[str],
        closure_id: FromPath[str],
        db_session: DbSession,
        principal: Caller,
    ) -> None:
        """Reopen: remove a closure."""
        await ClosureService(db_session).delete(resource_id, closure_id, principal)
