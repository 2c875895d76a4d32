"""HTTP surface of the resident registry, suspensions and the personal-data log."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from scheduler.auth.middleware import STAFF, roles
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.openapi import problems
from scheduler.residents import schemas
from scheduler.residents.privacy import PrivacyService, entry_view
from scheduler.residents.services import ResidentService, view
from scheduler.residents.suspensions import SuspensionService, suspension_view
from scheduler.schemas import IfMatch, Limit, Offset, Page
from scheduler.timeparams import parse_bound
from scheduler.versioning import etag

REGISTRY = roles("staff", "admin", "worker")
SUSPENDERS = roles("staff", "admin", "partner")
# Optional inside the Annotated: Litestar drops a parameter's constraints from
# ``Annotated[str, QueryParameter(...)] | None`` (the stateful fuzz found a community of control
# characters accepted with 200 against the documented pattern).
SearchText = Annotated[str | None, QueryParameter(min_length=1, max_length=100)]
PhoneQuery = Annotated[str | None, QueryParameter(min_length=1, max_length=40)]
CommunityQuery = Annotated[str | None, QueryParameter(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
SinceQuery = Annotated[str | None, QueryParameter(max_length=40)]


def _respond(resident: schemas.Resident, status_code: int = 200) -> Response[schemas.Resident]:
    return Response(resident, status_code=status_code, headers={"ETag": etag(resident.version)})


class ResidentController(Controller):
    path = "/api/v1/residents"
    tags = ["Residents"]

    @post("/", operation_id="createResident", guards=[REGISTRY], responses=problems(403, 409))
    async def create(
        self,
        data: JSONBody[schemas.ResidentCreate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> Response[schemas.Resident]:
        """Record a resident before any booking (staff; a worker for their communities)."""
        service = ResidentService(db_session)
        user = await service.create(data, principal, now)
        return _respond(view(user), 201)

    @get("/", operation_id="searchResidents", guards=[REGISTRY], responses=problems(403))
    async def search(
        self,
        db_session: DbSession,
        principal: Caller,
        q: FromQuery[SearchText] = None,
        phone: FromQuery[PhoneQuery] = None,
        community: FromQuery[CommunityQuery] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[schemas.Resident]:
        """Find residents by name or id (`q`), phone (the last 4 digits are enough) or
        community. A worker finds only residents of their communities."""
        users, total = await ResidentService(db_session).search(
            principal, text=q, phone=phone, community=community, limit=limit, offset=offset
        )
        return Page(items=[view(user) for user in users], total=total, limit=limit, offset=offset)

    @get("/me", operation_id="getMyRecord", responses=problems(404))
    async def mine(self, db_session: DbSession, now: Now, principal: Caller) -> schemas.MyRecord:
        """Everything stored about you, your running suspensions, and who read your
        personal data (PIPL's right of access)."""
        return await PrivacyService(db_session).mine(principal, now)

    @get(
        "/{resident_id:str}",
        operation_id="getResident",
        guards=[REGISTRY],
        responses=problems(403, 404),
    )
    async def get_resident(
        self, resident_id: FromPath[str], db_session: DbSession, now: Now, principal: Caller
    ) -> Response[schemas.Resident]:
        """One resident (a merged-away id answers with the surviving record)."""
        service = ResidentService(db_session)
        user = await service.visible(resident_id, principal)
        return _respond(await service.viewed(user, now))

    @patch(
        "/{resident_id:str}",
        operation_id="updateResident",
        guards=[REGISTRY],
        responses=problems(403, 404, 409, 412),
    )
    async def update(
        self,
        resident_id: FromPath[str],
        data: JSONBody[schemas.ResidentUpdate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        if_match: IfMatch = None,
    ) -> Response[schemas.Resident]:
        """Correct a record (name, community, tags, phone, identity reference, verified): a
        new community applies at once to audiences and quotas."""
        service = ResidentService(db_session)
        user = await service.update(resident_id, data, principal, if_match, now)
        return _respond(await service.viewed(user, now))

    @get(
        "/{resident_id:str}/personal",
        operation_id="getResidentPersonalData",
        guards=[REGISTRY],
        responses=problems(403, 404),
    )
    async def personal(
        self,
        resident_id: FromPath[str],
        request: Request,  # type: ignore[type-arg]
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> schemas.PersonalData:
        """The full phone and identity reference. Every read is logged (who, when, whose)."""
        return await PrivacyService(db_session).personal(
            resident_id, principal, request.url.path, now
        )

    @post(
        "/{resident_id:str}/merge",
        operation_id="mergeResidents",
        guards=[REGISTRY],
        status_code=200,
        responses=problems(403, 404, 409),
    )
    async def merge(
        self,
        resident_id: FromPath[str],
        data: JSONBody[schemas.MergeRequest],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> schemas.MergeResult:
        """Merge a duplicate record into this one: its bookings and suspensions move here,
        and the duplicate's id resolves to this record from now on."""
        service = ResidentService(db_session)
        survivor, merge = await service.merge(resident_id, data.duplicate_id, principal, now)
        return schemas.MergeResult(
            id=merge.id,
            survivor_id=merge.survivor_id,
            merged_id=merge.merged_id,
            moved_bookings=merge.moved["bookings"],
            moved_suspensions=merge.moved["suspensions"],
            resident=await service.viewed(survivor, now),
        )


class SuspensionController(Controller):
    path = "/api/v1/suspensions"
    tags = ["Residents"]

    @get("/", operation_id="listSuspensions", responses=problems(403))
    async def running(
        self,
        db_session: DbSession,
        now: Now,
        principal: Caller,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[schemas.Suspension]:
        """Running suspensions: who, where, until when and why. Staff see all, a partner
        those on its resources or unit, a worker those of their communities' residents."""
        rows, total = await SuspensionService(db_session).running(principal, now, limit, offset)
        return Page(
            items=[suspension_view(suspension, user) for suspension, user in rows],
            total=total,
            limit=limit,
            offset=offset,
        )

    @post("/", operation_id="createSuspension", guards=[SUSPENDERS], responses=problems(403, 422))
    async def create(
        self,
        data: JSONBody[schemas.SuspensionCreate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> Response[schemas.Suspension]:
        """Suspend a resident by hand: staff in any scope, a partner on its own resources or
        unit only."""
        suspension, user = await SuspensionService(db_session).create(data, principal, now)
        return Response(suspension_view(suspension, user), status_code=201)

    @delete(
        "/{suspension_id:str}",
        operation_id="liftSuspensionById",
        guards=[SUSPENDERS],
        responses=problems(403, 404),
    )
    async def lift(
        self, suspension_id: FromPath[str], db_session: DbSession, now: Now, principal: Caller
    ) -> None:
        """Lift a suspension now (it stays in the record, marked lifted)."""
        await SuspensionService(db_session).lift(suspension_id, principal, now)


class PersonalDataAccessController(Controller):
    path = "/api/v1/personal-data-access"
    tags = ["Residents"]

    @get("/", operation_id="listPersonalDataAccess", guards=[STAFF], responses=problems(403))
    async def log(
        self,
        state: State,
        db_session: DbSession,
        principal: Caller,
        resident_id: FromQuery[str | None] = None,
        actor: FromQuery[str | None] = None,
        since: FromQuery[SinceQuery] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[schemas.AccessEntry]:
        """Who read whose personal data, newest first (staff; for PIPL audits)."""
        moment = (
            parse_bound(since, "since", ZoneInfo(state.settings.default_timezone), is_end=False)
            if since
            else None
        )
        entries, total = await PrivacyService(db_session).accesses(
            resident_id=resident_id, actor_sub=actor, since=moment, limit=limit, offset=offset
        )
        return Page(
            items=[entry_view(entry) for entry in entries], total=total, limit=limit, offset=offset
        )
