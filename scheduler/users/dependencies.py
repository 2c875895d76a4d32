"""The ``principal`` dependency: the authenticated caller, provisioned on first sight."""

from __future__ import annotations

from typing import Any

from litestar import Request

from scheduler.auth.middleware import authenticate
from scheduler.auth.tokens import Principal
from scheduler.dependencies import DbSession, Now, released_on_failure
from scheduler.users.callers import check_caller
from scheduler.users.services import UserService


async def provide_principal(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now
) -> Principal:
    """The authenticated caller, provisioned as a user record on first sight."""
    principal = authenticate(request)
    async with released_on_failure(db_session):
        await check_caller(db_session, principal)
        await UserService(db_session).provision(principal, now)
    return principal
