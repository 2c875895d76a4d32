"""The ``scheduler`` command: serve, db, demo, token."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import click
import uvicorn

from scheduler.settings import Settings, SettingsError, load_settings


def _settings(demo: bool | None = None, needs_secret: bool = True) -> Settings:
    try:
        return load_settings(demo=demo, needs_secret=needs_secret)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def _warn(settings: Settings) -> None:
    for warning in settings.warnings:
        click.secho(f"WARNING: {warning}", fg="red", bold=True, err=True)


@click.group()
def main() -> None:
    """Shared-resource scheduling service of Zhoujiadu's five-zone linkage."""


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    from scheduler.serving import uvicorn_options

    click.echo(f"API docs: http://{host}:{port}/schema  (Swagger UI: /schema/swagger)")
    uvicorn.run(
        "scheduler.asgi:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        **uvicorn_options(settings),
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--jobs/--no-jobs",
    default=True,
    show_default=True,
    help="Run the job scheduler embedded (one process leads; the others stand by).",
)
def serve(host: str, port: int, workers: int, jobs: bool) -> None:
    """Serve the HTTP API (run `scheduler db upgrade` first)."""
    if not jobs:
        os.environ["SCHEDULER_JOBS"] = "false"
    settings = _settings()
    _warn(settings)
    _serve(settings, host, port, workers)


@main.command()
def worker() -> None:
    """Run only the job scheduler (no HTTP): pair it with `serve --no-jobs` replicas."""
    from scheduler.clock import SystemClock
    from scheduler.db.engine import create_engine, create_session_factory
    from scheduler.jobs.runner import JobRunner
    from scheduler.logging import configure_logging

    settings = _settings(needs_secret=False)
    _warn(settings)
    configure_logging(settings)

    async def run() -> None:
        engine = create_engine(settings)
        runner = JobRunner(settings, engine, create_session_factory(engine), SystemClock())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await runner.start()
        click.echo("worker started; the job scheduler runs while this process leads")
        await stop.wait()
        await runner.stop()
        await engine.dispose()

    asyncio.run(run())


@main.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database schema to REVISION (default: the newest)."""
    from scheduler.db.migrate import upgrade

    upgrade(_settings(needs_secret=False), revision)
    click.echo(f"database at {revision}")


@db.command("current")
def db_current() -> None:
    """Print the database's migration revision and the newest one."""
    from scheduler.db.engine import create_engine
    from scheduler.db.migrate import current_revision, head_revision

    async def read() -> str | None:
        engine = create_engine(_settings(needs_secret=False))
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    current = asyncio.run(read())
    head = head_revision()
    click.echo(f"current: {current or '(empty database)'}\nhead:    {head}")
    if current != head:
        sys.exit(1)


@main.command()
@click.option("--serve/--no-serve", "then_serve", default=False, help="Start the API afterwards.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def demo(then_serve: bool, host: str, port: int) -> None:
    """Migrate, seed the demo data set (idempotent) and print one token per role."""
    from scheduler.clock import SystemClock
    from scheduler.db.engine import create_engine, create_session_factory
    from scheduler.db.migrate import upgrade
    from scheduler.demo import DEMO_USERS, seed_demo

    settings = _settings(demo=True)
    _warn(settings)
    upgrade(settings)

    async def seed() -> dict[str, int]:
        engine = create_engine(settings)
        try:
            return await seed_demo(
                create_session_factory(engine), SystemClock().now(), settings.default_timezone
            )
        finally:
            await engine.dispose()

    added = asyncio.run(seed())
    click.echo(f"demo data ready on {settings.effective_database_url} (added: {added})")
    from scheduler.auth.tokens import mint_token

    click.echo("Bearer tokens (valid 30 days):")
    for user in DEMO_USERS:
        token = mint_token(
            settings,
            sub=user.sub,
            role=user.role,
            partner=user.partner,
            name=user.name,
            community=user.community,
            communities=list(user.communities),
            ttl_seconds=30 * 86400,
        )
        click.echo(f"  {user.role:<9} {user.sub:<18} {token}")
    base = f"http://{host}:{port}"
    click.echo(
        "Try (with TOKEN set to one of the tokens above):\n"
        f'  curl -H "Authorization: Bearer $TOKEN" "{base}/api/v1/availability?zone=campus"\n'
        f'  curl -H "Authorization: Bearer $TOKEN" "{base}/api/v1/bookings"\n'
        f'  curl -X POST -H "Authorization: Bearer $TOKEN" {base}/api/v1/feeds  # calendar feed\n'
        f"  {base}/metrics (Prometheus), {base}/api/v1/stats/utilization (staff, partners),\n"
        f"  {base}/api/v1/webhooks (partners, staff) - see docs/index.md"
    )
    click.echo(f"Operators' console: {base}/console/  (sign in as a demo user, no token needed)")
    if then_serve:
        os.environ["SCHEDULER_DEMO"] = "true"
        _serve(settings, host, port, 1)


@main.command()
@click.option("--sub", required=True, help="Stable user id.")
@click.option(
    "--role", required=True, type=click.Choice(["resident", "worker", "partner", "staff", "admin"])
)
@click.option("--partner", default=None, help="Partner id (required for role partner).")
@click.option("--name", default=None)
@click.option("--community", default=None, help="Neighbourhood committee code.")
@click.option("--tag", "tags", multiple=True, help="A tag such as 'elderly' (repeatable).")
@click.option(
    "--serves",
    "communities",
    multiple=True,
    help="A community a worker serves (repeatable; required for role worker).",
)
@click.option(
    "--ttl", default=3600, show_default=True, type=click.IntRange(1, 366 * 86400), help="Seconds."
)
def token(
    sub: str,
    role: str,
    partner: str | None,
    name: str | None,
    community: str | None,
    tags: tuple[str, ...],
    communities: tuple[str, ...],
    ttl: int,
) -> None:
    """Mint a bearer token signed with SCHEDULER_JWT_SECRET."""
    from scheduler.auth.tokens import mint_token
    from scheduler.errors import ValidationFailed

    settings = _settings()
    try:
        click.echo(
            mint_token(
                settings,
                sub=sub,
                role=role,
                partner=partner,
                name=name,
                community=community,
                tags=list(tags),
                communities=list(communities),
                ttl_seconds=ttl,
            )
        )
    except ValidationFailed as exc:
        raise click.ClickException(exc.detail) from exc
