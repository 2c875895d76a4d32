"""Every setting of the service, read once from ``SCHEDULER_*`` environment variables.

Nothing else in the code base reads ``os.environ``; components receive a ``Settings`` value.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduler.core.limits import (
    DEFAULT_MAX_CLOSURES_PER_RESOURCE,
    DEFAULT_MAX_WINDOWS_PER_RESOURCE,
)
from scheduler.core.reminders import DEFAULT_LEAD_MINUTES, LONGEST_LEAD_MINUTES

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
    # Webhooks (docs/webhooks.md#limits): internal receivers allowed, endpoints per partner,
    # each endpoint's share of a delivery batch, and when a failing endpoint is disabled.
    webhook_allow: tuple[str, ...] = ()
    webhook_max_endpoints: int = 10
    webhook_endpoint_concurrency: int = 4
    webhook_endpoint_budget_seconds: int = 10
    webhook_disable_after_failures: int = 50
    # The operators' console (scheduler/console, docs/console.md).
    console_idle_minutes: int = 30
    console_secret: str = ""
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid profile"
    oidc_role_claim: str = "role"
    oidc_partner_claim: str = "partner"
    # Personal data (docs/operations.md#personal-data): months of inactivity after which a
    # resident's personal data is removed; 0 keeps it.
    retention_months: int = 0
    # Reminders (docs/release.md#reminders): minutes before a booking starts that
    # ``booking.reminder`` is sent, for resources whose policy sets no lead of its own; 0: off.
    reminder_lead_minutes: int = DEFAULT_LEAD_MINUTES
    # Input limits (docs/reliability.md#limits).
    max_windows_per_resource: int = DEFAULT_MAX_WINDOWS_PER_RESOURCE
    max_closures_per_resource: int = DEFAULT_MAX_CLOSURES_PER_RESOURCE
    # Job scheduler reliability (docs/reliability.md#the-job-scheduler)
    jobs_stale_seconds: int = 120
    sqlite_busy_timeout_seconds: int = 30
    warnings: tuple[str, ...] = field(default=())
    # --- the edge: trusted proxies, slow clients (docs/reliability.md#slow-clients) ---
    trusted_proxies: tuple[str, ...] = ()
    header_timeout_seconds: int = 10
    body_timeout_seconds: int = 30
    keep_alive_seconds: int = 5
    max_concurrency: int = 200
    max_header_bytes: int = 16_384
    # --- tokens (docs/configuration.md#tokens-in-production) ---
    env: str = "development"
    jwt_max_age_seconds: int = 0

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

    base = Settings(
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
        webhook_allow=_webhook_allow(get("WEBHOOK_ALLOW")),
        webhook_max_endpoints=integer("WEBHOOK_MAX_ENDPOINTS", 10, 1),
        webhook_endpoint_concurrency=integer("WEBHOOK_ENDPOINT_CONCURRENCY", 4, 1),
        webhook_endpoint_budget_seconds=integer("WEBHOOK_ENDPOINT_BUDGET_SECONDS", 10, 1),
        webhook_disable_after_failures=integer("WEBHOOK_DISABLE_AFTER_FAILURES", 50, 1),
        **_console_settings(get, integer),
        retention_months=integer("RETENTION_MONTHS", 0, 0),
        reminder_lead_minutes=_at_most(
            integer("REMINDER_LEAD_MINUTES", DEFAULT_LEAD_MINUTES, 0),
            LONGEST_LEAD_MINUTES,
            "REMINDER_LEAD_MINUTES",
        ),
        max_windows_per_resource=integer(
            "MAX_WINDOWS_PER_RESOURCE", DEFAULT_MAX_WINDOWS_PER_RESOURCE, 1
        ),
        max_closures_per_resource=integer(
            "MAX_CLOSURES_PER_RESOURCE", DEFAULT_MAX_CLOSURES_PER_RESOURCE, 1
        ),
        jobs_stale_seconds=stale_seconds,
        sqlite_busy_timeout_seconds=integer("SQLITE_BUSY_TIMEOUT_SECONDS", 30, 1),
        warnings=tuple(warnings),
    )
    settings = base.with_overrides(**_edge_settings(get, integer), **_token_settings(get, integer))
    if needs_secret:
        _check_production(settings)
    return settings


def _at_most(value: int, maximum: int, name: str) -> int:
    if value > maximum:
        raise SettingsError(f"SCHEDULER_{name} must be at most {maximum}")
    return value


_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?$")


def _webhook_allow(raw: str) -> tuple[str, ...]:
    """``SCHEDULER_WEBHOOK_ALLOW``: comma-separated CIDRs, addresses or host names."""
    entries = tuple(entry.strip() for entry in raw.split(",") if entry.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            if not _HOST_NAME.match(entry.lower()):
                raise SettingsError(
                    f"SCHEDULER_WEBHOOK_ALLOW: {entry!r} is neither a CIDR, an address "
                    "nor a host name"
                ) from None
    return entries


def _console_settings(get: Callable[..., str], integer: Callable[..., int]) -> dict[str, Any]:
    """The console's settings: idle timeout, form-protection secret, OpenID Connect client."""
    secret = get("CONSOLE_SECRET")
    if secret and len(secret) < 32:
        raise SettingsError("SCHEDULER_CONSOLE_SECRET must be at least 32 characters long.")
    issuer = get("OIDC_ISSUER").rstrip("/")
    if issuer and not get("OIDC_CLIENT_ID"):
        raise SettingsError("SCHEDULER_OIDC_ISSUER is set but SCHEDULER_OIDC_CLIENT_ID is not.")
    return {
        "console_idle_minutes": integer("CONSOLE_IDLE_MINUTES", 30, 1),
        "console_secret": secret,
        "oidc_issuer": issuer,
        "oidc_client_id": get("OIDC_CLIENT_ID"),
        "oidc_client_secret": get("OIDC_CLIENT_SECRET"),
        "oidc_scopes": get("OIDC_SCOPES", "openid profile"),
        "oidc_role_claim": get("OIDC_ROLE_CLAIM", "role"),
        "oidc_partner_claim": get("OIDC_PARTNER_CLAIM", "partner"),
    }


def parse_networks(text: str, name: str) -> tuple[str, ...]:
    """``"10.0.0.0/8, 192.168.1.7"`` -> normalised networks; an address means a /32 (/128)."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError as exc:
            raise SettingsError(f"{name}: {part!r} is not an IP address or CIDR network") from exc
    return tuple(networks)


def _edge_settings(get: Callable[..., str], integer: Callable[..., int]) -> dict[str, object]:
    """Trusted proxies and the limits that keep slow clients from holding the server."""
    return {
        "trusted_proxies": parse_networks(get("TRUSTED_PROXIES"), "SCHEDULER_TRUSTED_PROXIES"),
        "header_timeout_seconds": integer("HEADER_TIMEOUT_SECONDS", 10, 1),
        "body_timeout_seconds": integer("BODY_TIMEOUT_SECONDS", 30, 1),
        "keep_alive_seconds": integer("KEEP_ALIVE_SECONDS", 5, 1),
        "max_concurrency": integer("MAX_CONCURRENCY", 200, 1),
        "max_header_bytes": integer("MAX_HEADER_BYTES", 16_384, 1024),
    }


ENVIRONMENTS = ("development", "staging", "production")


def _token_settings(get: Callable[..., str], integer: Callable[..., int]) -> dict[str, object]:
    env = get("ENV", "development").strip().lower()
    if env not in ENVIRONMENTS:
        raise SettingsError(f"SCHEDULER_ENV must be one of {', '.join(ENVIRONMENTS)}")
    return {"env": env, "jwt_max_age_seconds": integer("JWT_MAX_AGE_SECONDS", 0, 0)}


def _check_production(settings: Settings) -> None:
    """In production a token must be meant for this service (``aud``) by the expected
    issuer (``iss``), and the publicly known demo secret is never accepted."""
    if settings.env != "production":
        return
    missing = [
        f"SCHEDULER_JWT_{name.upper()}"
        for name in ("audience", "issuer")
        if not getattr(settings, f"jwt_{name}")
    ]
    if missing:
        raise SettingsError(
            f"SCHEDULER_ENV=production needs {' and '.join(missing)}: tokens must name this "
            "service and their issuer."
        )
    if settings.jwt_secret == DEMO_JWT_SECRET:
        raise SettingsError("SCHEDULER_ENV=production cannot run with the demo JWT secret.")
