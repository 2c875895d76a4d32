"""Every setting of the service, read once from ``SCHEDULER_*`` environment variables.

Nothing else in the code base reads ``os.environ``; components receive a ``Settings`` value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEMO_JWT_SECRET = "demo-secret-do-not-use-in-production-0123456789abcdef"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(ValueError):
    """A setting has a value the service cannot run with."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"not a boolean: {value!r}")


RATE_UNITS = {"second": 1, "minute": 60, "hour": 3600}


def parse_rate(text: str, name: str) -> tuple[int, int]:
    """``"600/minute"`` -> (600 requests, 60 seconds)."""
    count, _, unit = text.partition("/")
    if not (count.isdigit() and int(count) >= 1 and unit in RATE_UNITS):
        raise SettingsError(
            f"{name} must look like 600/minute (units: {', '.join(RATE_UNITS)}), or be off"
        )
    return int(count), RATE_UNITS[unit]


@dataclass(frozen=True, slots=True)
class Settings:
    """The service's configuration. See docs/configuration.md for each field."""

    data_dir: Path = Path("data")
    database_url: str = ""
    jwt_secret: str = ""
    jwt_public_key: str = ""
    jwt_audience: str = ""
    jwt_issuer: str = ""
    jwt_leeway_seconds: int = 30
    demo: bool = False
    default_timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    log_json: bool = True
    public_url: str = "http://127.0.0.1:8000"
    db_pool_size: int = 10
    db_pool_timeout_seconds: int = 30
    max_body_bytes: int = 1_048_576
    rate_limit: str = "600/minute"
    rate_limit_anonymous: str = "120/minute"
    redis_url: str = ""
    cors_origins: tuple[str, ...] = ()
    run_jobs: bool = True
    jobs_interval_seconds: int = 15
    leader_poll_seconds: int = 2
    # Job scheduler reliability (docs/reliability.md#the-job-scheduler)
    jobs_stale_seconds: int = 120
    sqlite_busy_timeout_seconds: int = 30
    warnings: tuple[str, ...] = field(default=())

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'scheduler.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def load_settings(
    environ: Mapping[str, str] | None = None, *, demo: bool | None = None, needs_secret: bool = True
) -> Settings:
    """Build Settings from the environment (``SCHEDULER_*``), validating every value.
    Commands that verify no tokens (``db``, ``worker``) pass ``needs_secret=False``."""
    env = os.environ if environ is None else environ

    def get(name: str, default: str = "") -> str:
        return env.get(f"SCHEDULER_{name}", default)

    demo_mode = _bool(get("DEMO", "false")) if demo is None else demo
    warnings: list[str] = []
    secret = get("JWT_SECRET")
    public_key = get("JWT_PUBLIC_KEY")
    if not secret and not public_key and needs_secret:
        if not demo_mode:
            raise SettingsError(
                "SCHEDULER_JWT_SECRET is not set. Set it to a long random string "
                "(or run `scheduler demo` for a throw-away demo with a built-in secret)."
            )
        secret = DEMO_JWT_SECRET
        warnings.append(
            "DEMO MODE: using the built-in, publicly known JWT secret. Anyone can mint tokens. "
            "Never expose this instance; set SCHEDULER_JWT_SECRET for real use."
        )
    elif secret and len(secret) < 32:
        raise SettingsError("SCHEDULER_JWT_SECRET must be at least 32 characters long.")

    timezone = get("DEFAULT_TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"SCHEDULER_DEFAULT_TIMEZONE: unknown time zone {timezone!r}") from exc

    log_level = get("LOG_LEVEL", "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise SettingsError(f"SCHEDULER_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")

    def integer(name: str, default: int, minimum: int) -> int:
        raw = get(name, str(default))
        try:
            value = int(raw)
        except ValueError as exc:
            raise SettingsError(f"SCHEDULER_{name} must be an integer, got {raw!r}") from exc
        if value < minimum:
            raise SettingsError(f"SCHEDULER_{name} must be at least {minimum}")
        return value

    for name in ("RATE_LIMIT", "RATE_LIMIT_ANONYMOUS"):
        value = get(name, "600/minute")
        count, _, unit = value.partition("/")
        if value != "off" and not (
            count.isdigit() and int(count) > 0 and unit in ("second", "minute", "hour")
        ):
            raise SettingsError(f"SCHEDULER_{name} must look like 600/minute, or be off")

    # A duty counts as overdue only after missing at least two of its runs.
    stale_seconds = integer("JOBS_STALE_SECONDS", 120, 5)
    if stale_seconds < 2 * integer("JOBS_INTERVAL_SECONDS", 15, 1):
        raise SettingsError(
            "SCHEDULER_JOBS_STALE_SECONDS must be at least twice SCHEDULER_JOBS_INTERVAL_SECONDS"
        )

    return Settings(
        data_dir=Path(get("DATA_DIR", "data")),
        database_url=get("DATABASE_URL"),
        jwt_secret=secret,
        jwt_public_key=public_key,
        jwt_audience=get("JWT_AUDIENCE"),
        jwt_issuer=get("JWT_ISSUER"),
        jwt_leeway_seconds=integer("JWT_LEEWAY_SECONDS", 30, 0),
        demo=demo_mode,
        default_timezone=timezone,
        log_level=log_level,
        log_json=_bool(get("LOG_JSON", "true")),
        public_url=get("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        db_pool_size=integer("DB_POOL_SIZE", 10, 1),
        db_pool_timeout_seconds=integer("DB_POOL_TIMEOUT_SECONDS", 30, 1),
        max_body_bytes=integer("MAX_BODY_BYTES", 1_048_576, 1024),
        rate_limit=get("RATE_LIMIT", "600/minute"),
        rate_limit_anonymous=get("RATE_LIMIT_ANONYMOUS", "120/minute"),
        redis_url=get("REDIS_URL"),
        cors_origins=tuple(o.strip() for o in get("CORS_ORIGINS").split(",") if o.strip()),
        run_jobs=_bool(get("JOBS", "true")),
        jobs_interval_seconds=integer("JOBS_INTERVAL_SECONDS", 15, 1),
        leader_poll_seconds=integer("LEADER_POLL_SECONDS", 2, 1),
        jobs_stale_seconds=stale_seconds,
        sqlite_busy_timeout_seconds=integer("SQLITE_BUSY_TIMEOUT_SECONDS", 30, 1),
        warnings=tuple(warnings),
    )
