"""Prometheus metrics: definitions, the request-latency middleware and ``GET /metrics``.

Metrics live in prometheus_client's process registry. Under several worker processes, set
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's own variable, read when it is imported) to
an empty directory shared by the workers of one host: each process then writes its samples
there and any worker's ``/metrics`` reports the sum of all of them (docs/observability.md).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar

import structlog
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError

from scheduler.auth.middleware import PUBLIC
from scheduler.errors import BookingRefused, SchedulerError, SeriesRefused
from scheduler.stats.repositories import StatsRepository


class _Problem(Protocol):
    @property
    def code(self) -> str: ...


class _Booked(Protocol):
    @property
    def status(self) -> str: ...


class _Occurrence(Protocol):
    @property
    def booking(self) -> _Booked | None: ...
    @property
    def problem(self) -> _Problem | None: ...


class _Series(Protocol):
    @property
    def occurrences(self) -> Sequence[_Occurrence]: ...


SeriesT = TypeVar("SeriesT", bound=_Series)

log = structlog.get_logger("scheduler.metrics")
# Litestar adds "; charset=utf-8" to every text/* media type.
EXPOSITION_MEDIA_TYPE = "text/plain; version=0.0.4"
MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "unmatched"
BACKLOG_TIMEOUT_SECONDS = 2.0
BOOKING_OPERATIONS = frozenset({"createBooking", "createBookingSeries"})

# ``*_created`` timestamp series would double the series count and, for
# scheduler_bookings_total, read like the outcome "created".
disable_created_metrics()  # type: ignore[no-untyped-call]

REQUEST_SECONDS = Histogram(
    "scheduler_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
REQUESTS = Counter(
    "scheduler_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
BOOKINGS = Counter(
    "scheduler_bookings",
    "Booking requests by outcome: created (with the new booking's status) or refused (with "
    "the refusal code). Dry runs and idempotent replays are not counted.",
    ["outcome", "status", "code"],
)
LOTTERY_DRAWS = Counter("scheduler_lottery_draws", "Lottery draws made.")
JOB_RUNS = Counter("scheduler_job_runs", "Runs of scheduled jobs, by job.", ["job"])
JOB_FAILURES = Counter("scheduler_job_failures", "Scheduled job runs that raised.", ["job"])


class MetricsMiddleware:
    """Times every routed HTTP request under its route *template*
    (``/api/v1/bookings/{booking_id}``), never the raw path, so ids cannot explode the number
    of series. It wraps the router (``scheduler.edge``), so the template is read once the
    request was answered; a path that matches no route counts as ``unmatched``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("path_template") or UNMATCHED_ROUTE
            REQUEST_SECONDS.labels(method, route).observe(time.perf_counter() - started)
            REQUESTS.labels(method, route, str(status)).inc()


def count_booking(status: str) -> None:
    """A booking was made (its status: confirmed, pending, entered, waitlisted)."""
    BOOKINGS.labels("created", status, "").inc()


def count_series(series: SeriesT) -> SeriesT:
    """Each occurrence of a series that was accepted: booked or refused, by its code."""
    for occurrence in series.occurrences:
        if occurrence.booking is not None:
            count_booking(occurrence.booking.status)
        elif occurrence.problem is not None:
            BOOKINGS.labels("refused", "", occurrence.problem.code).inc()
    return series


def count_draw() -> None:
    LOTTERY_DRAWS.inc()


def count_job_run(job: str) -> None:
    JOB_RUNS.labels(job).inc()


def count_job_failure(job: str) -> None:
    JOB_FAILURES.labels(job).inc()


def _is_dry_run(request: Request[Any, Any, Any]) -> bool:
    return str(request.query_params.get("dry_run", "")).lower() in ("true", "1")


def count_refusal(request: Request[Any, Any, Any], error: SchedulerError) -> None:
    """A booking request refused by a rule (called for every error; counts only those).
    A series refused whole counts each of its refused occurrences."""
    handler = request.scope.get("route_handler")
    if getattr(handler, "operation_id", None) not in BOOKING_OPERATIONS or _is_dry_run(request):
        return
    if isinstance(error, BookingRefused):
        BOOKINGS.labels("refused", "", error.code).inc()
    elif isinstance(error, SeriesRefused):
        for occurrence in error.extensions.get("occurrences", []):
            problem = occurrence.get("problem") or {}
            if occurrence.get("outcome") == "refused" and problem.get("code"):
                BOOKINGS.labels("refused", "", problem["code"]).inc()


class _Backlog:
    """A one-off collector: the outbox backlog as measured for this scrape."""

    def __init__(self, value: int) -> None:
        self.value = value

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "scheduler_outbox_backlog",
            "Outbox events not yet dispatched plus webhook deliveries still pending.",
            value=self.value,
        )


def _process_metrics() -> bytes:
    directory = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    if not directory:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def exposition(backlog: int | None) -> bytes:
    """Every metric in the Prometheus text format; the backlog is left out when unknown."""
    body = _process_metrics()
    if backlog is not None:
        scrape = CollectorRegistry()
        scrape.register(_Backlog(backlog))
        body += generate_latest(scrape)
    return body


async def measure_backlog(state: State) -> int | None:
    """The backlog now, or None when the database does not answer in time (the scrape still
    works, and Prometheus's own scrape timeout is not spent waiting for a pool connection)."""
    try:
        async with asyncio.timeout(BACKLOG_TIMEOUT_SECONDS), state.session_factory() as session:
            return await StatsRepository(session).outbox_backlog()
    except (SQLAlchemyError, OSError, TimeoutError) as error:
        log.warning("metrics_backlog_unavailable", error_type=type(error).__name__)
        return None


class MetricsController(Controller):
    tags = ["Operations"]
    opt = {**PUBLIC, "unlimited": True}
    security = [{}]

    @get("/metrics", operation_id="metrics", media_type=EXPOSITION_MEDIA_TYPE)
    async def metrics(self, state: State) -> Response[bytes]:
        """Prometheus metrics (text format 0.0.4). No token: expose it on the internal
        network only (docs/observability.md)."""
        body = exposition(await measure_backlog(state))
        return Response(body, media_type=EXPOSITION_MEDIA_TYPE)


# Webhooks (docs/webhooks.md#failing-endpoints-are-disabled)
WEBHOOKS_DISABLED = Counter(
    "scheduler_webhooks_disabled", "Webhook endpoints disabled after failing attempts in a row."
)


def count_webhook_disabled() -> None:
    WEBHOOKS_DISABLED.inc()
