"""The operators' console at /console: server-rendered pages for staff and partner units.

Pages call the same services as the API (never HTTP to itself), with the signed-in user's
``Principal``, so every rule, refusal and authorization check is the API's. Sessions live in
the database, every form carries a CSRF token, and every asset is served from this package.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from scheduler.console.auth import SignInRequired, console_guard, provide_viewer
from scheduler.console.docs import docs_plugins
from scheduler.console.oidc import OIDC_HANDLERS
from scheduler.console.partner import PARTNER_HANDLERS
from scheduler.console.partners import PARTNER_SETUP_HANDLERS
from scheduler.console.people import PEOPLE_HANDLERS
from scheduler.console.privacy import PRIVACY_HANDLERS
from scheduler.console.rendering import STATIC_PATH, handle_console_error, template_config
from scheduler.console.reports import REPORT_HANDLERS
from scheduler.console.resource_forms import RESOURCE_FORM_HANDLERS
from scheduler.console.sessions import session_config
from scheduler.console.signin import SIGN_IN_HANDLERS
from scheduler.console.staff import STAFF_HANDLERS
from scheduler.console.terms import TERM_HANDLERS
from scheduler.console.webhooks import WEBHOOK_HANDLERS
from scheduler.errors import SchedulerError
from scheduler.settings import Settings

__all__ = ["console_routes", "docs_plugins", "template_config"]

STATIC_DIR = Path(__file__).parent / "static"
CSRF_COOKIE = "console_csrf"
# No inline scripts or styles, nothing from another origin, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'{provider}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def content_security_policy(settings: Settings) -> bytes:
    """The console's policy; the sign-out form may lead on to the identity provider (browsers
    apply ``form-action`` to the redirects that follow a form), so its origin is allowed."""
    provider = ""
    if settings.oidc_issuer:
        parts = urlsplit(settings.oidc_issuer)
        provider = f" {parts.scheme}://{parts.netloc}"
    return CONTENT_SECURITY_POLICY.format(provider=provider).encode()


class ConsoleHeadersMiddleware:
    """Content-Security-Policy on every console page (the API's middleware adds the rest:
    frame denial, nosniff, no-store)."""

    def __init__(self, app: ASGIApp, policy: bytes) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"content-security-policy", self.policy),
                ]
            await send(message)

        await self.app(scope, receive, send_with_policy)


def csrf_secret(settings: Settings) -> str:
    """``SCHEDULER_CONSOLE_SECRET``, else one derived from the JWT secret (so every replica
    agrees), else a random one for this process."""
    if settings.console_secret:
        return settings.console_secret
    if settings.jwt_secret:
        return hashlib.sha256(b"console-csrf:" + settings.jwt_secret.encode()).hexdigest()
    return secrets.token_hex(32)


def console_routes(settings: Settings) -> list[Router]:
    """The console's pages and its static files (htmx, CSS, the vendored API docs UI)."""
    csrf = CSRFConfig(
        secret=csrf_secret(settings),
        cookie_name=CSRF_COOKIE,
        cookie_path="/console",
        cookie_httponly=True,
        cookie_samesite="lax",
        cookie_secure=settings.public_url.startswith("https://"),
    )
    pages = Router(
        path="/console",
        route_handlers=[
            *SIGN_IN_HANDLERS,
            *OIDC_HANDLERS,
            *STAFF_HANDLERS,
            *PARTNER_HANDLERS,
            # before PEOPLE_HANDLERS and PARTNER_HANDLERS: /residents/merge and
            # /resources/new are pages of their own, not a resident or resource id
            *PRIVACY_HANDLERS,
            *PARTNER_SETUP_HANDLERS,
            *RESOURCE_FORM_HANDLERS,
            *PEOPLE_HANDLERS,
            *REPORT_HANDLERS,
            *TERM_HANDLERS,
            *WEBHOOK_HANDLERS,
        ],
        guards=[console_guard],
        dependencies={"viewer": Provide(provide_viewer)},
        middleware=[
            session_config(settings).middleware,
            DefineMiddleware(CSRFMiddleware, config=csrf),
            DefineMiddleware(ConsoleHeadersMiddleware, policy=content_security_policy(settings)),
        ],
        exception_handlers={
            SchedulerError: handle_console_error,
            SignInRequired: handle_console_error,
            PermissionDeniedException: handle_console_error,
        },
        opt={"public": True, "form": True, "any_query": True},
        include_in_schema=False,
    )
    static = create_static_files_router(
        path=STATIC_PATH,
        directories=[STATIC_DIR],
        name="console-static",
        opt={"public": True, "unlimited": True, "any_query": True},
        include_in_schema=False,
    )
    return [pages, static]
