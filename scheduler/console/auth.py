"""Who is using the console: the principal kept in the server-side session.

Every console page names the roles it admits in its ``opt`` (``STAFF_ONLY``, ``MANAGERS``…);
the router-wide guard ``console_guard`` sends anonymous visitors to the sign-in page and
refuses other roles with 403. A page marked ``anonymous`` (sign-in, language) needs no one.
The principal is the same ``Principal`` the API builds from a token, so the services apply
exactly the same rules to a console user as to an API caller.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler

from scheduler.auth.tokens import ROLES, Principal
from scheduler.console.sessions import rotate_session
from scheduler.dependencies import DbSession, Now
from scheduler.errors import Forbidden
from scheduler.users.services import UserService

Viewer = NamedDependency[Principal]
USER_KEY = "user"
ID_TOKEN_KEY = "id_token"
STAFF_ONLY = {"roles": ("staff", "admin")}
MANAGERS = {"roles": ("partner", "staff", "admin")}
# Pages of the resident registry and booking on behalf: staff and neighbourhood workers.
REGISTRY = {"roles": ("worker", "staff", "admin")}
# Suspensions: everyone who deals with residents' bookings.
EVERYONE_BUT_RESIDENTS = {"roles": ("worker", "partner", "staff", "admin")}
PARTNER_ONLY = {"roles": ("partner",)}
ANONYMOUS = {"anonymous": True}


class SignInRequired(Exception):
    """No signed-in user (or the session timed out): go to the sign-in page."""


def session_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The principal stored at sign-in, or None."""
    session = connection.scope.get("session")
    stored = session.get(USER_KEY) if isinstance(session, dict) else None
    if not isinstance(stored, dict) or stored.get("role") not in ROLES or not stored.get("sub"):
        return None
    return Principal(
        sub=str(stored["sub"]),
        role=str(stored["role"]),
        name=str(stored.get("name") or ""),
        partner=stored.get("partner") if stored["role"] == "partner" else None,
        community=stored.get("community"),
        tags=tuple(stored.get("tags") or ()),
        communities=tuple(stored.get("communities") or ()) if stored["role"] == "worker" else (),
    )


def sign_in(
    request: Request[Any, Any, Any],
    principal: Principal,
    language: str,
    id_token: str | None = None,
) -> None:
    """Start a fresh session for ``principal`` under a new key (anything kept before sign-in
    is dropped, and the key the browser had is forgotten: no session fixation). ``id_token``
    (OpenID Connect sign-in) is kept for signing out at the identity provider."""
    request.clear_session()
    rotate_session(request)
    request.set_session(
        {
            USER_KEY: {
                "sub": principal.sub,
                "role": principal.role,
                "name": principal.name,
                "partner": principal.partner,
                "community": principal.community,
                "tags": list(principal.tags),
                "communities": list(principal.communities),
            },
            "lang": language,
            **({ID_TOKEN_KEY: id_token} if id_token else {}),
        }
    )


async def console_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Router-wide guard of the console: a signed-in user with one of the page's roles."""
    if handler.opt.get("anonymous"):
        return
    principal = session_principal(connection)
    if principal is None:
        raise SignInRequired
    allowed = handler.opt.get("roles", MANAGERS["roles"])
    if principal.role not in allowed:
        raise Forbidden(f"This page needs one of the roles: {', '.join(allowed)}.")


async def provide_viewer(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now
) -> Principal:
    """The signed-in user, provisioned as a user record on first sight (as the API does)."""
    principal = session_principal(request)
    if principal is None:
        raise SignInRequired
    await UserService(db_session).provision(principal, now)
    return principal
