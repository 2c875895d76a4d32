"""Staff-maintained resident records: tags (e.g. elderly, for early access) and suspensions."""

from __future__ import annotations

from litestar import Controller, delete, get, patch
from litestar.params import FromPath, JSONBody

from scheduler.auth.middleware import STAFF
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.openapi import problems
from scheduler.users import schemas
from scheduler.users.services import UserService


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["Residents"]

    @get("/{sub:str}", operation_id="getUser", responses=problems(404))
    async def get_user(
        self, sub: FromPath[str], db_session: DbSession, now: Now, principal: Caller
    ) -> schemas.User:
        """A person's record: staff see anyone, everyone else only themselves (404 otherwise)."""
        users = UserService(db_session)
        return await users.view(await users.visible(sub, principal), now)

    @patch("/{sub:str}", operation_id="updateUser", guards=[STAFF], responses=problems(403, 404))
    async def update(
        self,
        sub: FromPath[str],
        data: JSONBody[schemas.UserUpdate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> schemas.User:
        """Set a person's staff-maintained tags (they add to the tags in their token)."""
        users = UserService(db_session)
        return await users.view(await users.set_tags(sub, data.tags), now)

    @delete(
        "/{sub:str}/suspension",
        operation_id="liftSuspension",
        guards=[STAFF],
        responses=problems(403, 404),
    )
    async def lift(
        self, sub: FromPath[str], db_session: DbSession, now: Now, principal: Caller
    ) -> None:
        """Lift every running suspension of this person now (see also /suspensions)."""
        await UserService(db_session).lift_suspension(sub, principal, now)
