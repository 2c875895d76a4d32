"""HTTP surface of seasonal allocation rounds (docs/allocation-rounds.md)."""

from __future__ import annotations

from litestar import Controller, get, post, put
from litestar.params import FromPath, JSONBody

from scheduler.allocation import schemas
from scheduler.allocation.allocating import AllocatingService
from scheduler.allocation.confirmation import ConfirmationService
from scheduler.allocation.services import ApplicationService, RoundService
from scheduler.auth.middleware import STAFF, roles
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.openapi import problems

APPLICANTS = roles("resident")
ROUND = "/{round_id:str}"
APPLICATION = ROUND + "/applications/{application_id:str}"


class AllocationRoundController(Controller):
    path = "/api/v1/allocation-rounds"
    tags = ["Allocation rounds"]

    @post("/", operation_id="createAllocationRound", guards=[STAFF], responses=problems(403))
    async def create(
        self,
        data: JSONBody[schemas.AllocationRoundCreate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> schemas.AllocationRound:
        """A draft round for a set of resources and a season (dates or a school term)."""
        return await RoundService(db_session).create(data, principal, now)

    @get("/", operation_id="listAllocationRounds", responses=problems())
    async def list_rounds(
        self, db_session: DbSession, now: Now, principal: Caller
    ) -> list[schemas.AllocationRound]:
        """Rounds, newest first (drafts for staff only)."""
        return await RoundService(db_session).list(principal, now)

    @get(ROUND, operation_id="getAllocationRound", responses=problems(404))
    async def get_round(
        self, round_id: FromPath[str], db_session: DbSession, now: Now, principal: Caller
    ) -> schemas.AllocationRound:
        """One round and its state."""
        return await RoundService(db_session).get(round_id, principal, now)

    @post(
        ROUND + "/open",
        operation_id="openAllocationRound",
        guards=[STAFF],
        status_code=200,
        responses=problems(403, 404, 409),
    )
    async def open_round(
        self, round_id: FromPath[str], db_session: DbSession, now: Now, principal: Caller
    ) -> schemas.AllocationRound:
        """Draft → open: applications are taken during the application period."""
        return await RoundService(db_session).transition(round_id, "open", principal, now)

    @post(
        ROUND + "/close",
        operation_id="closeAllocationRound",
        guards=[STAFF],
        status_code=200,
        responses=problems(403, 404, 409),
    )
    async def close_round(
        self, round_id: FromPath[str], db_session: DbSession, now: Now, principal: Caller
    ) -> schemas.AllocationRound:
        """Open → closed before the period ends (it closes by itself at its end)."""
        return await RoundService(db_session).transition(round_id, "close", principal, now)

    @post(
        ROUND + "/applications",
        operation_id="applyToAllocationRound",
        guards=[APPLICANTS],
        responses=problems(403, 404, 409),
    )
    async def apply(
        self,
        round_id: FromPath[str],
        data: JSONBody[schemas.AllocationApplicationCreate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> schemas.AllocationApplication:
        """Apply for an organisation: recurring slots, each with its priority."""
        return await ApplicationService(db_session).apply(round_id, data, principal, now)

    @get(
        ROUND + "/applications", operation_id="listAllocationApplications", responses=problems(404)
    )
    async def list_applications(
        self, round_id: FromPath[str], db_session: DbSession, principal: Caller
    ) -> list[schemas.AllocationApplication]:
        """Every application for staff; a resident's own applications for a resident."""
        return await ApplicationService(db_session).list(round_id, principal)

    @get(APPLICATION, operation_id="getAllocationApplication", responses=problems(404))
    async def get_application(
        self,
        round_id: FromPath[str],
        application_id: FromPath[str],
        db_session: DbSession,
        principal: Caller,
    ) -> schemas.AllocationApplication:
        """One application with its slots, decisions and (after confirmation) occurrences."""
        return await ApplicationService(db_session).get(round_id, application_id, principal)

    @post(
        APPLICATION + "/withdraw",
        operation_id="withdrawAllocationApplication",
        status_code=200,
        responses=problems(404, 409),
    )
    async def withdraw(
        self,
        round_id: FromPath[str],
        application_id: FromPath[str],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> schemas.AllocationApplication:
        """Withdraw an application while the round is open."""
        service = ApplicationService(db_session)
        return await service.withdraw(round_id, application_id, principal, now)

    @get(
        ROUND + "/competition",
        operation_id="getAllocationCompetition",
        guards=[STAFF],
        responses=problems(403, 404),
    )
    async def competition(
        self, round_id: FromPath[str], db_session: DbSession, principal: Caller
    ) -> list[schemas.AllocationCompetition]:
        """Competing applications side by side: per resource, weekday and overlapping time."""
        return await AllocatingService(db_session).competition(round_id)

    @post(
        ROUND + "/allocate",
        operation_id="allocateAllocationRound",
        guards=[STAFF],
        status_code=200,
        responses=problems(403, 404, 409),
    )
    async def allocate(
        self,
        round_id: FromPath[str],
        data: JSONBody[schemas.AllocateRequest],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> schemas.AllocationResult:
        """Decide every slot not decided by hand with the documented fair algorithm."""
        return await AllocatingService(db_session).allocate(round_id, data, now)

    @put(
        ROUND + "/slots/{slot_id:str}/decision",
        operation_id="decideAllocationSlot",
        guards=[STAFF],
        responses=problems(403, 404, 409),
    )
    async def decide(
        self,
        round_id: FromPath[str],
        slot_id: FromPath[str],
        data: JSONBody[schemas.SlotDecision],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> schemas.ApplicationSlot:
        """Grant, decline or reset one slot by hand."""
        service = AllocatingService(db_session)
        return await service.decide(round_id, slot_id, data, principal, now)

    @post(
        ROUND + "/confirm",
        operation_id="confirmAllocationRound",
        guards=[STAFF],
        status_code=200,
        responses=problems(403, 404, 409),
    )
    async def confirm(
        self, round_id: FromPath[str], db_session: DbSession, now: Now, principal: Caller
    ) -> schemas.AllocationConfirmation:
        """Book every granted slot's season as a series, and tell every applicant."""
        return await ConfirmationService(db_session).confirm(round_id, principal, now)
