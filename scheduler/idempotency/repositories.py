"""Stored responses of requests sent with an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.bookings import IdempotencyKey
from scheduler.db.statements import insert_ignoring_conflicts


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(
        self, owner: str, key: str, request_hash: str, now: datetime, expires_at: datetime
    ) -> bool:
        """Insert a placeholder for the key; False if the key already exists. On PostgreSQL a
        concurrent claim of the same key waits for the first transaction to finish."""
        await self.session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.owner == owner,
                IdempotencyKey.key == key,
                IdempotencyKey.expires_at <= now,
            )
        )
        row = {
            "owner": owner,
            "key": key,
            "request_hash": request_hash,
            "status_code": 0,
            "response": {},
            "created_at": now,
            "expires_at": expires_at,
        }
        return await insert_ignoring_conflicts(self.session, IdempotencyKey.__table__, [row]) == 1  # type: ignore[arg-type]

    async def get(self, owner: str, key: str) -> IdempotencyKey | None:
        query = select(IdempotencyKey).where(
            IdempotencyKey.owner == owner, IdempotencyKey.key == key
        )
        return (await self.session.scalars(query.execution_options(populate_existing=True))).first()

    async def complete(
        self, owner: str, key: str, status_code: int, response: dict[str, Any]
    ) -> None:
        await self.session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
            .values(status_code=status_code, response=response)
            .execution_options(synchronize_session=False)
        )

    async def purge_expired(self, now: datetime) -> int:
        result = await self.session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now)
        )
        return int(getattr(result, "rowcount", 0) or 0)
