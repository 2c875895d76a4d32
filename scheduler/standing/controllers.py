"""HTTP surface of standing orders: subscribe, read the outcome of every occurrence, pause,
resume, end."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from scheduler.core.refusals import ShapeFacts
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.idempotency.services import run_idempotent
from scheduler.openapi import problems
from scheduler.schemas import Limit, Offset, Page
from scheduler.standing import schemas
from scheduler.standing.services import StandingOrderService

IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        description="Retry-safe key (1-200 characters); see docs/standing-orders.md",
    ),
]
StatusFilter = Annotated[Literal["active", "paused", "ended"] | None, QueryParameter(name="status")]


class StandingOrderController(Controller):
    path = "/api/v1/standing-orders"
    tags = ["Standing orders"]

    @post(
        "/",
        operation_id="createStandingOrder",
        status_code=201,
        responses=problems(403, 404, 409, refusals=[ShapeFacts]),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[schemas.StandingOrderCreate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[schemas.StandingOrder]:
        """Subscribe to a recurring pattern: occurrences already released are booked at
        once, each later one the moment it is released."""

        async def work() -> tuple[int, schemas.StandingOrder]:
            return 201, await StandingOrderService(db_session).create(data, principal, now)

        outcome = await run_idempotent(
            db_session,
            owner=principal.sub,
            key=idempotency_key,
            path=request.url.path,
            payload=msgspec.json.encode(data),
            now=now,
            work=work,
        )
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
        return Response(outcome.body, status_code=outcome.status_code, headers=headers)

    @get("/", operation_id="listStandingOrders", responses=problems())
    async def list_orders(
        self,
        db_session: DbSession,
        principal: Caller,
        status: StatusFilter = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[schemas.StandingOrder]:
        """Standing orders you may see, newest first, with counts of occurrences by outcome."""
        items, total = await StandingOrderService(db_session).listing(
            principal, status, limit, offset
        )
        return Page(items=items, total=total, limit=limit, offset=offset)

    @get("/{order_id:str}", operation_id="getStandingOrder", responses=problems(404))
    async def get_order(
        self, order_id: FromPath[str], db_session: DbSession, principal: Caller
    ) -> schemas.StandingOrder:
        """One standing order with every occurrence: pending, booked (with the booking id),
        refused (with the refusal), skipped or ended."""
        return await StandingOrderService(db_session).get(order_id, principal)

    @post(
        "/{order_id:str}/pause",
        operation_id="pauseStandingOrder",
        status_code=200,
        responses=problems(404, 409),
    )
    async def pause(
        self,
        order_id: FromPath[str],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        data: JSONBody[schemas.StandingOrderAction | None] = None,
    ) -> schemas.StandingOrder:
        """Stop booking: occurrences released while paused are skipped."""
        return await StandingOrderService(db_session).act(
            order_id, "pause", data or schemas.StandingOrderAction(), principal, now
        )

    @post(
        "/{order_id:str}/resume",
        operation_id="resumeStandingOrder",
        status_code=200,
        responses=problems(404, 409),
    )
    async def resume(
        self,
        order_id: FromPath[str],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        data: JSONBody[schemas.StandingOrderAction | None] = None,
    ) -> schemas.StandingOrder:
        """Book again from the next release on."""
        return await StandingOrderService(db_session).act(
            order_id, "resume", data or schemas.StandingOrderAction(), principal, now
        )

    @post(
        "/{order_id:str}/end",
        operation_id="endStandingOrder",
        status_code=200,
        responses=problems(404, 409),
    )
    async def end(
        self,
        order_id: FromPath[str],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        data: JSONBody[schemas.StandingOrderAction | None] = None,
    ) -> schemas.StandingOrder:
        """End for good: no further occurrence is booked; bookings already made stay."""
        return await StandingOrderService(db_session).act(
            order_id, "end", data or schemas.StandingOrderAction(), principal, now
        )
