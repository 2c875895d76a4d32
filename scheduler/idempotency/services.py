"""Idempotent handling of unsafe requests: a retry returns the first response, not a duplicate.

The key is claimed, the work done and the response stored in the request's one transaction,
so either all of it commits or none does (a crash leaves no half-answered key). A refused
request rolls back with the rest and may be retried with the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.errors import IdempotencyKeyReused, ServiceUnavailable, ValidationFailed
from scheduler.idempotency.repositories import IdempotencyRepository

KEY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int
    body: Any
    replayed: bool = False


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def run_idempotent(
    session: AsyncSession,
    *,
    owner: str,
    key: str | None,
    path: str,
    payload: bytes,
    now: datetime,
    work: Callable[[], Awaitable[tuple[int, Any]]],
) -> Outcome:
    """Run ``work`` once per (owner, key); later calls with the same key get the stored outcome.
    The body is always returned as plain JSON values, fresh or replayed."""
    if key is None:
        status_code, body = await work()
        return Outcome(status_code, msgspec.to_builtins(body))
    request_hash = fingerprint("POST", path, "", payload)
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed.one(
            "Idempotency-Key", f"must be 1-{MAX_KEY_LENGTH} visible characters"
        )
    keys = IdempotencyRepository(session)
    if not await keys.claim(owner, key, request_hash, now, now + KEY_TTL):
        stored = await keys.get(owner, key)
        if stored is None or stored.status_code == 0:
            raise ServiceUnavailable(
                "A request with this Idempotency-Key is still in progress.", retry_after=1
            )
        if stored.request_hash != request_hash:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used with a different request."
            )
        return Outcome(stored.status_code, stored.response, replayed=True)
    status_code, body = await work()
    plain = msgspec.to_builtins(body)
    await keys.complete(owner, key, status_code, plain)
    return Outcome(status_code, plain)
