"""HTTP surface of partners."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from scheduler.auth.middleware import STAFF
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.openapi import problems
from scheduler.partners import schemas
from scheduler.partners.schemas import ZoneKey
from scheduler.partners.services import PartnerService
from scheduler.schemas import IfMatch, Limit, Offset, Page
from scheduler.versioning import etag


def _out(partner: object) -> schemas.Partner:
    return msgspec.convert(partner, schemas.Partner, from_attributes=True)


def _with_etag(partner: schemas.Partner, status_code: int = 200) -> Response[schemas.Partner]:
    return Response(partner, status_code=status_code, headers={"ETag": etag(partner.version)})


class PartnerController(Controller):
    path = "/api/v1/partners"
    tags = ["Catalogue"]

    @post("/", operation_id="createPartner", guards=[STAFF], responses=problems(403, 409))
    async def create(
        self,
        data: JSONBody[schemas.PartnerCreate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> Response[schemas.Partner]:
        """Register a partner unit (staff, admin)."""
        return _with_etag(_out(await PartnerService(db_session).create(data, now)), 201)

    @get("/", operation_id="listPartners", responses=problems())
    async def list_partners(
        self,
        db_session: DbSession,
        principal: Caller,
        zone: FromQuery[ZoneKey | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[schemas.Partner]:
        """List partner units, optionally of one zone."""
        rows, total = await PartnerService(db_session).list(zone=zone, limit=limit, offset=offset)
        return Page(items=[_out(row) for row in rows], total=total, limit=limit, offset=offset)

    @get("/{partner_id:str}", operation_id="getPartner", responses=problems(404))
    async def get_partner(
        self, partner_id: FromPath[str], db_session: DbSession, principal: Caller
    ) -> Response[schemas.Partner]:
        """One partner unit."""
        return _with_etag(_out(await PartnerService(db_session).get(partner_id)))

    @patch(
        "/{partner_id:str}",
        operation_id="updatePartner",
        guards=[STAFF],
        responses=problems(403, 404, 412),
    )
    async def update(
        self,
        partner_id: FromPath[str],
        data: JSONBody[schemas.PartnerUpdate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        if_match: IfMatch = None,
    ) -> Response[schemas.Partner]:
        """Change a partner unit (staff, admin); send If-Match to guard against lost updates."""
        partner = await PartnerService(db_session).update(
            partner_id, data, if_match=if_match, now=now
        )
        return _with_etag(_out(partner))
