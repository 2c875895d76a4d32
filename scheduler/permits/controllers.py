"""HTTP surface of permits: apply for a month of nights, read one, cancel from a date."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from scheduler.core.refusals import PersonFacts, TimingFacts
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.openapi import problems
from scheduler.permits import schemas
from scheduler.permits.services import PermitService
from scheduler.versioning import etag


class PermitController(Controller):
    path = "/api/v1/permits"
    tags = ["Permits"]

    @post(
        "/",
        operation_id="applyForPermit",
        status_code=201,
        responses={
            202: ResponseSpec(
                data_container=schemas.Permit,
                description="Recorded before the month's permit release (state applied)",
            ),
            **problems(403, 404, 409, refusals=[PersonFacts, TimingFacts]),
        },
    )
    async def apply(
        self,
        data: JSONBody[schemas.PermitCreate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> Response[schemas.Permit]:
        """Apply for every night of a month: before the month's permit release the
        application is recorded (`applied`, 202) and decided at the release with the others;
        after it the permit is booked at once on one unit free every night (`confirmed`,
        201) or refused with nothing written (409 `series_refused`)."""
        permit = await PermitService(db_session).apply(data, principal, now)
        status = 202 if permit.state == "applied" else 201
        return Response(permit, status_code=status, headers={"ETag": etag(permit.version)})

    @get("/{permit_id:str}", operation_id="getPermit", responses=problems(404))
    async def get_permit(
        self, permit_id: FromPath[str], db_session: DbSession, now: Now, principal: Caller
    ) -> Response[schemas.Permit]:
        """The permit with its state, unit, plate and every night (a booking each)."""
        permit = await PermitService(db_session).get(permit_id, principal, now)
        return Response(permit, headers={"ETag": etag(permit.version)})

    @post(
        "/{permit_id:str}/cancel",
        operation_id="cancelPermit",
        status_code=200,
        responses=problems(404),
    )
    async def cancel(
        self,
        permit_id: FromPath[str],
        data: JSONBody[schemas.PermitCancel],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> schemas.PermitCancelled:
        """Cancel the nights from a local date on (the rest of the month), capacity given back
        at once, with a result per night; an undecided application is withdrawn."""
        return await PermitService(db_session).cancel_from(permit_id, data, principal, now)
