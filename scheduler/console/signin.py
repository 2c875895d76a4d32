"""Sign-in and the language switch (sign-out is in ``oidc.py``: it may end the session at
the identity provider too).

Demo mode lists the demo users on the sign-in page (one button each); otherwise the page
offers the city's identity provider (OpenID Connect, see ``oidc.py``) when it is configured.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from scheduler.auth.tokens import Principal
from scheduler.console.auth import ANONYMOUS, sign_in
from scheduler.console.i18n import pick_language
from scheduler.console.rendering import language_of, page
from scheduler.demo import DEMO_USERS
from scheduler.errors import Forbidden


def safe_next(target: str | None) -> str:
    """Only a console path may follow sign-in (no open redirect to another site)."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return "/console/"


@get("/sign-in", opt=ANONYMOUS, name="console:sign-in")
async def sign_in_page(
    request: Request[Any, Any, Any], next_path: FromQuery[str | None] = None
) -> Template:
    settings = request.app.state.settings
    return page(
        request,
        "sign_in.html",
        demo_users=DEMO_USERS if settings.demo else (),
        oidc=bool(settings.oidc_issuer),
        next_path=safe_next(next_path or request.query_params.get("next")),
    )


@post("/sign-in/demo", opt=ANONYMOUS, status_code=303)
async def sign_in_demo(request: Request[Any, Any, Any]) -> Redirect:
    """Sign in as one of the demo users: only while the service runs in demo mode."""
    if not request.app.state.settings.demo:
        raise Forbidden("Demo sign-in is only available in demo mode.")
    form = await request.form()
    chosen = next((user for user in DEMO_USERS if user.sub == form.get("sub")), None)
    if chosen is None:
        raise Forbidden("Not a demo user.")
    principal = Principal(
        sub=chosen.sub,
        role=chosen.role,
        name=chosen.name,
        partner=chosen.partner,
        community=chosen.community,
        communities=chosen.communities,
    )
    sign_in(request, principal, language_of(request))
    return Redirect(safe_next(form.get("next")), status_code=303)


@post("/language", opt=ANONYMOUS, status_code=303)
async def switch_language(request: Request[Any, Any, Any]) -> Redirect:
    """Remember the language in the session (and a cookie, for the sign-in page)."""
    form = await request.form()
    language = pick_language(form.get("lang"))
    session = dict(request.session) if request.scope.get("session") else {}
    if session:
        request.set_session({**session, "lang": language})
    response = Redirect(safe_next(form.get("next")), status_code=303)
    response.set_cookie(
        "console_lang", language, path="/console", httponly=True, samesite="lax", max_age=31536000
    )
    return response


SIGN_IN_HANDLERS = [sign_in_page, sign_in_demo, switch_language]
