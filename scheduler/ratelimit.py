"""Rate limits per bearer token (per feed token for calendar feeds, per client address for
other anonymous calls; the address behind a trusted proxy, see ``scheduler.proxies``).

A fixed window counter: Redis ``INCR`` + ``EXPIRE`` when ``SCHEDULER_REDIS_URL`` is set, so
the limit holds across every replica; a process-local counter otherwise.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from scheduler.auth.middleware import authenticate
from scheduler.errors import RateLimited, Unauthenticated
from scheduler.proxies import connection_client
from scheduler.settings import parse_rate

log = structlog.get_logger("scheduler.ratelimit")


@dataclass(frozen=True, slots=True)
class Limit:
    count: int
    seconds: int


class Counter(Protocol):
    async def hit(self, key: str, window_seconds: int) -> int: ...


class MemoryCounter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    async def hit(self, key: str, window_seconds: int) -> int:
        if len(self.counts) > 100_000:
            self.counts.clear()
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]


class RedisCounter:
    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self.redis: Any = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    async def hit(self, key: str, window_seconds: int) -> int:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window_seconds + 1)
            count, _ = await pipe.execute()
        return int(count)


def limiter_for(rate_limit: str, anonymous: str, redis_url: str) -> RateLimiter | None:
    """The configured limiter, or None when ``SCHEDULER_RATE_LIMIT=off``."""
    if rate_limit == "off":
        return None
    counter: Counter = RedisCounter(redis_url) if redis_url else MemoryCounter()
    return RateLimiter(
        counter,
        Limit(*parse_rate(rate_limit, "SCHEDULER_RATE_LIMIT")),
        Limit(*parse_rate(anonymous, "SCHEDULER_RATE_LIMIT_ANONYMOUS")),
    )


class RateLimiter:
    def __init__(self, counter: Counter, per_token: Limit, anonymous: Limit) -> None:
        self.counter = counter
        self.per_token = per_token
        self.anonymous = anonymous

    async def check(self, identity: str, limit: Limit) -> None:
        now = time.time()
        window = int(now // limit.seconds)
        key = f"scheduler:rl:{identity}:{limit.seconds}:{window}"
        try:
            count = await self.counter.hit(key, limit.seconds)
        except Exception:  # the limiter must never take the service down with its store
            log.warning("rate_limit_store_unavailable", exc_info=True)
            return
        if count > limit.count:
            retry_after = max(1, int((window + 1) * limit.seconds - now) + 1)
            raise RateLimited(
                f"At most {limit.count} requests per {limit.seconds} s; retry in {retry_after} s.",
                retry_after=retry_after,
            )


# A route whose path parameter of this name is the caller's credential (a feed URL): its
# anonymous budget is per that credential, not per address, since calendar services fetch
# many people's feeds from a few addresses.
BY_PATH_CREDENTIAL = "rate_limit_by_path_credential"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


async def charge_client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Count one anonymous request against the caller's address (e.g. a guessed feed token,
    so guessing is limited like any anonymous call)."""
    limiter: RateLimiter | None = connection.app.state.rate_limiter
    if limiter is not None:
        address = connection_client(connection, connection.app.state.settings.trusted_proxies)
        await limiter.check("ip:" + address, limiter.anonymous)


async def rate_limit(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """App-wide guard: one budget per verified token, per feed token for feed fetches,
    another per client address for the rest."""
    limiter: RateLimiter | None = connection.app.state.rate_limiter
    if limiter is None or handler.opt.get("unlimited"):
        return
    try:
        principal = authenticate(connection) if "authorization" in connection.headers else None
    except Unauthenticated:
        principal = None
    credential = connection.path_params.get(handler.opt.get(BY_PATH_CREDENTIAL) or "")
    if principal is not None:
        await limiter.check("sub:" + _digest(principal.sub), limiter.per_token)
    elif isinstance(credential, str):
        await limiter.check("path:" + _digest(credential.removesuffix(".ics")), limiter.anonymous)
    else:
        await charge_client_address(connection)
