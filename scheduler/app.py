"""``create_app``: the one place where the service is assembled, top to bottom."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from sqlalchemy.orm.exc import StaleDataError

from scheduler import __version__
from scheduler.allocation.controllers import AllocationRoundController
from scheduler.auth.middleware import require_authentication, require_json_body
from scheduler.auth.tokens import VerifiedTokens
from scheduler.availability.controllers import AvailabilityController
from scheduler.bookings.closures import notify_affected
from scheduler.bookings.controllers import ApprovalController, BookingController
from scheduler.calendar.controllers import CalendarController, TermController
from scheduler.clock import Clock, SystemClock
from scheduler.closures.controllers import ClosureController
from scheduler.closures.services import AffectedNotifier
from scheduler.console import console_routes, docs_plugins, template_config
from scheduler.daylists.controllers import DayListController
from scheduler.db.engine import create_engine, create_session_factory
from scheduler.dependencies import DEPENDENCIES
from scheduler.edge import wrap_every_response
from scheduler.errors import PreconditionFailed
from scheduler.feeds.controllers import FeedController
from scheduler.groups.controllers import GroupController
from scheduler.jobs.runner import JobRunner
from scheduler.logging import configure_logging
from scheduler.metrics import MetricsController
from scheduler.openapi import declare_closed_objects, declare_problem_unions
from scheduler.ops.controllers import OpsController
from scheduler.partners.controllers import PartnerController
from scheduler.permits.controllers import PermitController
from scheduler.problems import exception_handlers, handle_scheduler_error
from scheduler.querycheck import refuse_unknown_query
from scheduler.ratelimit import limiter_for, rate_limit
from scheduler.release.controllers import DrawController
from scheduler.residents.controllers import (
    PersonalDataAccessController,
    ResidentController,
    SuspensionController,
)
from scheduler.resources.controllers import ResourceController
from scheduler.settings import Settings
from scheduler.standing.controllers import StandingOrderController
from scheduler.stats.controllers import StatsController
from scheduler.users.controllers import UserController
from scheduler.users.dependencies import provide_principal
from scheduler.webhooks.controllers import WebhookController
from scheduler.windows.controllers import WindowController
from scheduler.zones.controllers import ZoneController

ROUTE_HANDLERS = [
    OpsController,
    ZoneController,
    PartnerController,
    ResourceController,
    WindowController,
    ClosureController,
    CalendarController,
    TermController,
    AvailabilityController,
    BookingController,
    ApprovalController,
    StandingOrderController,
    PermitController,
    DrawController,
    UserController,
    ResidentController,
    SuspensionController,
    PersonalDataAccessController,
    GroupController,
    AllocationRoundController,
    FeedController,
    WebhookController,
    StatsController,
    DayListController,
    MetricsController,
]

API_DESCRIPTION = """\
Book the shared facilities of Zhoujiadu's five-zone linkage: school sports grounds opened to
residents outside school hours, tidal parking, reused rooms and service stations.
Authenticate with `Authorization: Bearer <JWT>`; every error is RFC 9457 problem+json with a
stable `code` (see docs/errors.md)."""


async def provide_affected_notifier() -> AffectedNotifier:
    """What a new closure calls to tell the bookings it overlaps: closures sit below bookings,
    so the two are wired together here (``closures.services.AffectedNotifier``)."""
    return notify_affected


APP_GUARDS = (rate_limit, require_json_body, require_authentication, refuse_unknown_query)


async def every_request(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The app-wide guards, in order, as one: Litestar copies the route handler for each guard
    it calls, and four copies per request were a measurable share of a booking's CPU."""
    for guard in APP_GUARDS:
        await guard(connection, handler)


def create_app(settings: Settings, clock: Clock | None = None) -> Litestar:
    """Assemble the HTTP application for ``settings`` (and an injectable ``clock`` for tests)."""
    configure_logging(settings)
    engine = create_engine(settings)

    session_factory = create_session_factory(engine)
    the_clock = clock or SystemClock()
    runner = JobRunner(settings, engine, session_factory, the_clock) if settings.run_jobs else None

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        if runner is not None:
            await runner.start()
        try:
            yield
        finally:
            if runner is not None:
                await runner.stop()
            await engine.dispose()

    providers: dict[str, Callable[..., Any]] = {
        **DEPENDENCIES,
        "principal": provide_principal,
        "affected_notifier": provide_affected_notifier,
    }
    app = Litestar(
        route_handlers=[*ROUTE_HANDLERS, *console_routes(settings)],
        template_config=template_config(),
        dependencies={name: Provide(provider) for name, provider in providers.items()},
        guards=[every_request],
        exception_handlers={
            **exception_handlers,
            StaleDataError: lambda request, _: handle_scheduler_error(
                request, PreconditionFailed("The item was changed by someone else; re-read it.")
            ),
        },
        openapi_config=OpenAPIConfig(
            title="Zhoujiadu shared-resource scheduler",
            version=__version__,
            description=API_DESCRIPTION,
            path="/schema",
            render_plugins=docs_plugins(),
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
            security=[{"BearerToken": []}],
        ),
        cors_config=CORSConfig(
            allow_origins=list(settings.cors_origins),
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "Idempotency-Key",
                "X-Request-ID",
            ],
            expose_headers=["ETag", "X-Request-ID", "Retry-After", "Idempotent-Replayed"],
        )
        if settings.cors_origins
        else None,
        request_max_body_size=settings.max_body_bytes,
        lifespan=[lifespan],
        logging_config=None,
        debug=False,
    )
    # Metrics, request id, access log and security headers around routed and unrouted alike.
    wrap_every_response(app, settings.body_timeout_seconds)
    declare_closed_objects(app.openapi_schema)
    declare_problem_unions(app.openapi_schema)
    app.state.settings = settings
    app.state.verified_tokens = VerifiedTokens(settings)
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.clock = the_clock
    app.state.job_runner = runner
    app.state.started_at = datetime.now(UTC)  # /health gives duties their bound from here
    app.state.rate_limiter = limiter_for(
        settings.rate_limit, settings.rate_limit_anonymous, settings.redis_url
    )
    return app
