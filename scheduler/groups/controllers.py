"""HTTP surface of resource groups (staff set the limits across resources)."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from scheduler.auth.middleware import STAFF
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.groups import schemas
from scheduler.groups.services import GroupService
from scheduler.openapi import problems
from scheduler.schemas import IfMatch
from scheduler.versioning import etag


def _respond(group: schemas.Group, status_code: int = 200) -> Response[schemas.Group]:
    return Response(group, status_code=status_code, headers={"ETag": etag(group.version)})


class GroupController(Controller):
    path = "/api/v1/resource-groups"
    tags = ["Catalogue"]

    @post("/", operation_id="createResourceGroup", guards=[STAFF], responses=problems(403, 409))
    async def create(
        self,
        data: JSONBody[schemas.GroupCreate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> Response[schemas.Group]:
        """Group resources under one per-person limit (e.g. one school ground per evening)."""
        return _respond(await GroupService(db_session).create(data, now), 201)

    @get("/", operation_id="listResourceGroups", responses=problems())
    async def list_groups(self, db_session: DbSession, principal: Caller) -> list[schemas.Group]:
        """Every group with its resources and limits."""
        return await GroupService(db_session).list()

    @get("/{group_id:str}", operation_id="getResourceGroup", responses=problems(404))
    async def get_group(
        self, group_id: FromPath[str], db_session: DbSession, principal: Caller
    ) -> Response[schemas.Group]:
        """One group."""
        return _respond(await GroupService(db_session).get(group_id))

    @patch(
        "/{group_id:str}",
        operation_id="updateResourceGroup",
        guards=[STAFF],
        responses=problems(403, 404, 412),
    )
    async def update(
        self,
        group_id: FromPath[str],
        data: JSONBody[schemas.GroupUpdate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        if_match: IfMatch = None,
    ) -> Response[schemas.Group]:
        """Change a group's name, resources or limits."""
        return _respond(await GroupService(db_session).update(group_id, data, if_match, now))

    @delete(
        "/{group_id:str}",
        operation_id="deleteResourceGroup",
        guards=[STAFF],
        responses=problems(403, 404),
    )
    async def delete_group(
        self, group_id: FromPath[str], db_session: DbSession, principal: Caller
    ) -> None:
        """Remove a group (its resources stay)."""
        await GroupService(db_session).delete(group_id)
