"""The outermost layer of the HTTP application: every response passes through it.

Litestar runs app-level ``middleware=[...]`` only for requests that matched a route, so a 404
for an unknown path or a 405 for a wrong method would leave without the security headers,
the request id, the access log line and the metrics. ``wrap_every_response`` therefore puts
those middlewares around Litestar's whole ASGI handler (router and its exception handler
included) instead.

It also answers ``OPTIONS`` with the methods the path really has: Litestar builds its automatic
``OPTIONS`` handler from the first controller that declares a path, so a path whose ``GET``
and ``PATCH`` live in different handlers advertised only one of them.
"""

from __future__ import annotations

import asyncio

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from scheduler.errors import RequestTimeout
from scheduler.logging import RequestIdMiddleware
from scheduler.metrics import MetricsMiddleware
from scheduler.security import SecurityHeadersMiddleware


def allowed_methods(app: Litestar) -> dict[str, str]:
    """Each route template's ``Allow`` value, from every handler registered on it."""
    methods: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            methods.setdefault(route.path_format, set()).update(route.methods)
    return {path: ", ".join(sorted(names)) for path, names in methods.items()}


class AllowHeaderMiddleware:
    """Rewrites the ``Allow`` header of the automatic ``OPTIONS`` answers (and of 405s on a
    known path) to the complete list of the route's methods."""

    def __init__(self, app: ASGIApp, allow: dict[str, str]) -> None:
        self.app = app
        self.allow = allow

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") != "OPTIONS":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            allow = self.allow.get(scope.get("path_template") or "")
            if message["type"] == "http.response.start" and allow is not None:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message["headers"] = [*headers, (b"allow", allow.encode())]
            await send(message)

        await self.app(scope, receive, send_with_allow)


class BodyDeadlineMiddleware:
    """The whole request body must arrive within ``seconds`` of its request head; otherwise
    the read fails with ``408 request_timeout`` and the connection is closed, so a client
    trickling a body cannot hold a request (and what it holds) for long."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        body_complete = False

        async def receive_in_time() -> ReceiveMessage:
            nonlocal body_complete
            if body_complete:  # later reads wait for a disconnect, which may take long
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"Send the whole request body within {self.seconds:g} seconds."
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_complete = True
            return message

        await self.app(scope, receive_in_time, send)


def wrap_every_response(app: Litestar, body_timeout_seconds: float) -> None:
    """Put metrics, request id + access log and security headers around everything ``app``
    answers, routed or not (outermost first), and the body deadline inside them."""
    handler: ASGIApp = BodyDeadlineMiddleware(app.asgi_handler, body_timeout_seconds)
    handler = AllowHeaderMiddleware(handler, allowed_methods(app))
    handler = SecurityHeadersMiddleware(handler)
    handler = RequestIdMiddleware(handler)
    app.asgi_handler = MetricsMiddleware(handler)
