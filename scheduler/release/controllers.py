"""HTTP surface of lottery draws (public record: seed, entries and winners by booking id)."""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.params import FromPath

from scheduler.dependencies import Caller, DbSession
from scheduler.openapi import problems
from scheduler.release import schemas
from scheduler.release.services import DrawRecords
from scheduler.schemas import Limit, Offset


def _out(draw: object) -> schemas.Draw:
    return msgspec.convert(draw, schemas.Draw, from_attributes=True)


class DrawController(Controller):
    path = "/api/v1/resources/{resource_id:str}/draws"
    tags = ["Release and lotteries"]

    @get("/", operation_id="listDraws", responses=problems(404))
    async def list_draws(
        self,
        resource_id: FromPath[str],
        db_session: DbSession,
        principal: Caller,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[schemas.Draw]:
        """The resource's lottery draws, newest release first."""
        draws = await DrawRecords(db_session).for_resource(resource_id, limit, offset)
        return [_out(draw) for draw in draws]

    @get("/{draw_id:str}", operation_id="getDraw", responses=problems(404))
    async def get_draw(
        self,
        resource_id: FromPath[str],
        draw_id: FromPath[str],
        db_session: DbSession,
        principal: Caller,
    ) -> schemas.Draw:
        """One draw: its time, seed, entries and winners, enough to replay it."""
        return _out(await DrawRecords(db_session).get(resource_id, draw_id))
