"""The floor of the stack for bench/bookings.py: a minimal Litestar app whose booking endpoint
inserts one booking row with one asyncpg INSERT, and whose availability endpoint returns one
resource's ledger rows for the next 7 days from one SELECT (no auth, no rules, no ORM).

Served by bench/bookings.py as::

    uvicorn --app-dir bench floor_app:create_app --factory --workers N --port P

with FLOOR_DATABASE_URL=postgresql://… naming a database that has a ``floor_bookings`` table
with the columns (and indexes) of ``bookings``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
from litestar import Litestar, Request, get, post

INSERT = """
INSERT INTO floor_bookings (id, resource_id, holder_id, holder_name, created_by, starts_at,
    ends_at, granularity_minutes, quantity, unit, status, note, series_id, decision_note,
    walk_in, version, created_at, updated_at)
VALUES ($1, $2, $3, $4, $3, $5, $6, 60, $7, NULL, 'confirmed', $8, NULL, NULL, false, 1, $9, $9)
"""


HELD = """
SELECT slot_start, held FROM slot_holdings
WHERE resource_id = $1 AND slot_start >= $2 AND slot_start < $3 AND held > 0
"""


class BookingCreate(msgspec.Struct):
    resource_id: str
    starts_at: datetime
    ends_at: datetime
    quantity: int = 1
    note: str | None = None


class Booked(msgspec.Struct):
    id: str
    resource_id: str
    starts_at: datetime
    ends_at: datetime
    quantity: int
    status: str


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@post("/api/v1/bookings", status_code=201)
async def book(data: BookingCreate, request: Request) -> Booked:  # type: ignore[type-arg]
    pool: asyncpg.Pool = request.app.state.pool
    booking_id = "flr_" + secrets.token_hex(8)
    holder = "floor-holder"
    now = datetime.now(UTC)
    await pool.execute(
        INSERT,
        booking_id,
        data.resource_id,
        holder,
        "Floor holder",
        data.starts_at,
        data.ends_at,
        data.quantity,
        data.note,
        now,
    )
    return Booked(
        booking_id, data.resource_id, data.starts_at, data.ends_at, data.quantity, "confirmed"
    )


class Held(msgspec.Struct):
    starts_at: datetime
    held: int


@get("/api/v1/resources/{resource_id:str}/availability")
async def availability(resource_id: str, request: Request) -> list[Held]:  # type: ignore[type-arg]
    """The floor of an availability read: the ledger rows of the next 7 days, as JSON."""
    pool: asyncpg.Pool = request.app.state.pool
    now = datetime.now(UTC)
    rows = await pool.fetch(HELD, resource_id, now, now + timedelta(days=7))
    return [Held(row["slot_start"], row["held"]) for row in rows]


def create_app() -> Litestar:
    dsn = os.environ["FLOOR_DATABASE_URL"]
    size = int(os.environ.get("FLOOR_POOL_SIZE", "10"))

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=size, max_size=size)
        try:
            yield
        finally:
            await app.state.pool.close()

    return Litestar(route_handlers=[health, book, availability], lifespan=[lifespan], debug=False)
