"""How ``scheduler serve`` runs uvicorn so that slow or idle clients cannot hold the server.

uvicorn bounds idle keep-alive connections (``timeout_keep_alive``), the size of a request
head (``h11_max_incomplete_event_size``) and the connections and requests a process takes at
once (``limit_concurrency``: beyond it, a plain ``503``), but it has no deadline for a request
head that arrives a byte at a time: such a connection would stay open for ever and count
against the concurrency limit. ``HeaderDeadlineProtocol`` adds that deadline. The deadline
for the body is the application's (``scheduler.edge``), so it can answer a problem document.

The server never rewrites the client address from ``X-Forwarded-For`` (``proxy_headers`` is
off): ``scheduler.proxies`` does that, believing only ``SCHEDULER_TRUSTED_PROXIES``.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from scheduler.settings import Settings, load_settings


@cache
def _header_timeout_seconds() -> float:
    # Each worker process builds its protocol from the environment `serve` validated.
    return float(load_settings(needs_secret=False).header_timeout_seconds)


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection whose request head is not complete
    ``SCHEDULER_HEADER_TIMEOUT_SECONDS`` after the connection opened or the previous
    response was sent."""

    header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_response_complete(self) -> None:
        self._arm_header_deadline()
        super().on_response_complete()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:
            self._disarm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self.header_deadline = self.loop.call_later(
            _header_timeout_seconds(), self._header_deadline_passed
        )

    def _disarm_header_deadline(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _header_deadline_passed(self) -> None:
        self.header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.info("closing a connection whose request head did not arrive in time")
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn settings that bound what slow clients and proxies can do."""
    return {
        "http": HeaderDeadlineProtocol,
        "proxy_headers": False,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "limit_concurrency": settings.max_concurrency,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
    }
