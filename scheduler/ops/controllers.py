"""Liveness and readiness probes."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy.exc import SQLAlchemyError

from scheduler import __version__
from scheduler.auth.middleware import PUBLIC
from scheduler.db.migrate import current_revision, head_revision


class Health(msgspec.Struct):
    status: str
    version: str
    jobs: str


class Readiness(msgspec.Struct):
    status: str
    database: str
    migration: str | None
    expected_migration: str | None


class OpsController(Controller):
    tags = ["Operations"]
    opt = {**PUBLIC, "unlimited": True}
    security = [{}]

    @get("/health", operation_id="health")
    async def health(self, state: State) -> Health:
        """Liveness: the process answers. `jobs` is this process's job role: leader (it runs
        the scheduled jobs), standby, or disabled."""
        runner = state.job_runner
        return Health(status="ok", version=__version__, jobs=runner.role if runner else "disabled")

    @get(
        "/ready",
        operation_id="ready",
        responses={503: ResponseSpec(data_container=Readiness, description="Not ready")},
    )
    async def ready(self, state: State) -> Response[Readiness]:
        """Readiness: the database answers and its schema is at the migration head (else 503)."""
        expected = head_revision()
        try:
            current = await current_revision(state.engine)
        except (SQLAlchemyError, OSError):
            return Response(
                Readiness("unavailable", "unreachable", None, expected), status_code=503
            )
        ready = current == expected
        body = Readiness("ok" if ready else "migrations_pending", "ok", current, expected)
        return Response(body, status_code=200 if ready else 503)
