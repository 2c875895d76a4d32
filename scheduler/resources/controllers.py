"""HTTP surface of resources."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody

from scheduler.auth.middleware import MANAGERS
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.openapi import problems
from scheduler.partners.schemas import ZoneKey
from scheduler.resources import schemas
from scheduler.resources.services import ResourceService, to_schema
from scheduler.schemas import IfMatch, Limit, Offset, Page
from scheduler.versioning import etag


def _service(db_session: DbSession, state: State) -> ResourceService:
    return ResourceService(db_session, state.settings.default_timezone)


def _respond(found: tuple[object, str], status_code: int = 200) -> Response[schemas.Resource]:
    resource = to_schema(*found)  # type: ignore[arg-type]
    return Response(resource, status_code=status_code, headers={"ETag": etag(resource.version)})


class ResourceController(Controller):
    path = "/api/v1/resources"
    tags = ["Catalogue"]

    @post("/", operation_id="createResource", guards=[MANAGERS], responses=problems(403, 409))
    async def create(
        self,
        data: JSONBody[schemas.ResourceCreate],
        db_session: DbSession,
        state: State,
        now: Now,
        principal: Caller,
    ) -> Response[schemas.Resource]:
        """Create a resource (its partner, staff, admin). With `units`, capacity is their count."""
        return _respond(await _service(db_session, state).create(data, principal, now), 201)

    @get("/", operation_id="listResources", responses=problems())
    async def list_resources(
        self,
        db_session: DbSession,
        state: State,
        principal: Caller,
        zone: FromQuery[ZoneKey | None] = None,
        kind: FromQuery[schemas.Kind | None] = None,
        partner_id: FromQuery[str | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[schemas.Resource]:
        """List resources, filtered by zone, kind or partner."""
        rows, total = await _service(db_session, state).resources.list(
            zone=zone, kind=kind, partner_id=partner_id, limit=limit, offset=offset
        )
        return Page(
            items=[to_schema(*row) for row in rows], total=total, limit=limit, offset=offset
        )

    @get("/{resource_id:str}", operation_id="getResource", responses=problems(404))
    async def get_resource(
        self, resource_id: FromPath[str], db_session: DbSession, state: State, principal: Caller
    ) -> Response[schemas.Resource]:
        """One resource with its policy."""
        return _respond(await _service(db_session, state).get(resource_id))

    @patch(
        "/{resource_id:str}",
        operation_id="updateResource",
        guards=[MANAGERS],
        responses=problems(403, 404, 412),
    )
    async def update(
        self,
        resource_id: FromPath[str],
        data: JSONBody[schemas.ResourceUpdate],
        db_session: DbSession,
        state: State,
        now: Now,
        principal: Caller,
        if_match: IfMatch = None,
    ) -> Response[schemas.Resource]:
        """Change a resource; `policy` fields are merged into the current policy."""
        return _respond(
            await _service(db_session, state).update(resource_id, data, principal, if_match, now)
        )

    @delete(
        "/{resource_id:str}",
        operation_id="deleteResource",
        guards=[MANAGERS],
        responses=problems(403, 404, 409, 412),
    )
    async def delete_resource(
        self,
        resource_id: FromPath[str],
        db_session: DbSession,
        state: State,
        now: Now,
        principal: Caller,
        if_match: IfMatch = None,
    ) -> None:
        """Retire a resource; it disappears from listings and can no longer be booked."""
        await _service(db_session, state).delete(resource_id, principal, if_match, now)
