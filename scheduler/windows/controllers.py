"""HTTP surface of opening windows."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from scheduler.auth.middleware import MANAGERS
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.openapi import problems
from scheduler.schemas import IfMatch
from scheduler.versioning import etag
from scheduler.windows import schemas
from scheduler.windows.services import WindowService, to_schema


def _respond(window: object, status_code: int = 200) -> Response[schemas.Window]:
    body = to_schema(window)  # type: ignore[arg-type]
    return Response(body, status_code=status_code, headers={"ETag": etag(body.version)})


class WindowController(Controller):
    path = "/api/v1/resources/{resource_id:str}/windows"
    tags = ["Windows and availability"]

    @post("/", operation_id="createWindow", guards=[MANAGERS], responses=problems(403, 404))
    async def create(
        self,
        resource_id: FromPath[str],
        data: JSONBody[schemas.WindowCreate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        state: State,
    ) -> Response[schemas.Window]:
        """Add an opening window (the resource's partner, staff, admin); at most
        `SCHEDULER_MAX_WINDOWS_PER_RESOURCE` per resource (422 `limit_exceeded`)."""
        limit = state.settings.max_windows_per_resource
        window = await WindowService(db_session).create(resource_id, data, principal, now, limit)
        return _respond(window, 201)

    @get("/", operation_id="listWindows", responses=problems(404))
    async def list_windows(
        self, resource_id: FromPath[str], db_session: DbSession, principal: Caller
    ) -> list[schemas.Window]:
        """The resource's opening windows, oldest first."""
        return [to_schema(row) for row in await WindowService(db_session).list(resource_id)]

    @get("/{window_id:str}", operation_id="getWindow", responses=problems(404))
    async def get_window(
        self,
        resource_id: FromPath[str],
        window_id: FromPath[str],
        db_session: DbSession,
        principal: Caller,
    ) -> Response[schemas.Window]:
        """One opening window."""
        return _respond(await WindowService(db_session).get(resource_id, window_id))

    @patch(
        "/{window_id:str}",
        operation_id="updateWindow",
        guards=[MANAGERS],
        responses=problems(403, 404, 412),
    )
    async def update(
        self,
        resource_id: FromPath[str],
        window_id: FromPath[str],
        data: JSONBody[schemas.WindowUpdate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        if_match: IfMatch = None,
    ) -> Response[schemas.Window]:
        """Change an opening window."""
        service = WindowService(db_session)
        return _respond(
            await service.update(resource_id, window_id, data, principal, if_match, now)
        )

    @delete(
        "/{window_id:str}",
        operation_id="deleteWindow",
        guards=[MANAGERS],
        responses=problems(403, 404, 412),
    )
    async def delete_window(
        self,
        resource_id: FromPath[str],
        window_id: FromPath[str],
        db_session: DbSession,
        principal: Caller,
        if_match: IfMatch = None,
    ) -> None:
        """Remove an opening window."""
        await WindowService(db_session).delete(resource_id, window_id, principal, if_match)
