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
from scheduler.jobs.health import DutyStatus, duties_report


class Health(msgspec.Struct):
    status: str
    version: str
    jobs: str
    duties_source: str = "disabled"
    overdue: list[str] = msgspec.field(default_factory=list)
    duties: list[DutyStatus] = msgspec.field(default_factory=list)


class Readiness(msgspec.Struct):
    status: str
    database: str
    migration: str | None
    expected_migration: str | None


class OpsController(Controller):
    tags = ["Operations"]
    opt = {**PUBLIC, "unlimited": True}
    security = [{}]

    @get(
        "/health",
        operation_id="health",
        responses={503: ResponseSpec(data_container=Health, description="Duties overdue")},
    )
    async def health(self, state: State) -> Response[Health]:
        """Liveness: the process answers, and if it leads the scheduled jobs, every duty has
        succeeded within its bound (else 503 `duties_overdue`). `jobs` is this process's job
        role: leader, standby, or disabled; `duties` the last run of each duty, from this
        process if it leads, else from the leader's record (docs/operations.md#health)."""
        runner = state.job_runner
        role = runner.role if runner else "disabled"
        report = await duties_report(
            runner, state.settings, state.session_factory, state.started_at
        )
        body = Health(
            status="ok" if report.healthy else "duties_overdue",
            version=__version__,
            jobs=role,
            duties_source=report.source,
            overdue=report.overdue,
            duties=report.duties,
        )
        return Response(body, status_code=200 if report.healthy else 503)

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
