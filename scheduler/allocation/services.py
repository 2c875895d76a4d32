"""Use cases of allocation rounds: staff create, open and close rounds; applicants apply and
withdraw while a round is open. Allocating and confirming live in ``allocating`` and
``confirmation``."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.allocation import schemas
from scheduler.allocation.repositories import RoundRepository
from scheduler.allocation.views import minutes_of, state_of, to_application, to_round
from scheduler.auth.tokens import Principal
from scheduler.core.allocation import (
    ACTIONS,
    NEXT_STATE,
    WEEKDAYS,
    accepts_applications,
    season_problems,
)
from scheduler.db.allocation import (
    AllocationApplication,
    AllocationRound,
    AllocationRoundResource,
    AllocationSlot,
)
from scheduler.db.schedule import SchoolTerm
from scheduler.errors import (
    FieldError,
    NotFound,
    RoundNotOpen,
    RoundStateConflict,
    ValidationFailed,
)
from scheduler.ids import new_id
from scheduler.outbox.repositories import OutboxRepository
from scheduler.resources.repositories import ResourceRepository


def check_action(row: AllocationRound, action: str, now: datetime) -> None:
    """Refuse (409 ``round_state_conflict``) a staff action the round's state does not allow."""
    state = state_of(row, now)
    allowed = ACTIONS[action]
    if state not in allowed:
        raise RoundStateConflict(
            f"The round is {state}: {action!r} is possible only when it is {' or '.join(allowed)}.",
            state=state,
            action=action,
            allowed_from=list(allowed),
        )


class RoundService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.rounds = RoundRepository(session)
        self.resources = ResourceRepository(session)

    async def _season(self, data: schemas.AllocationRoundCreate) -> tuple[date, date]:
        if data.school_term_id is not None:
            if data.season_starts_on is not None or data.season_ends_on is not None:
                raise ValidationFailed.one(
                    "school_term_id", "give either a school term or season dates, not both"
                )
            term = await self.session.get(SchoolTerm, data.school_term_id)
            if term is None:
                raise ValidationFailed.one("school_term_id", f"no term {data.school_term_id!r}")
            return term.starts_on, term.ends_on
        if data.season_starts_on is None or data.season_ends_on is None:
            raise ValidationFailed.one(
                "season_starts_on", "give season_starts_on and season_ends_on, or school_term_id"
            )
        return data.season_starts_on, data.season_ends_on

    async def create(
        self, data: schemas.AllocationRoundCreate, caller: Principal, now: datetime
    ) -> schemas.AllocationRound:
        """A draft round; nobody but staff sees it until it is opened."""
        starts_on, ends_on = await self._season(data)
        errors = [
            FieldError(field, message)
            for field, message in season_problems(
                starts_on, ends_on, data.applications_open_at, data.applications_close_at
            )
        ]
        for index, resource_id in enumerate(data.resource_ids):
            if await self.resources.get_with_zone(resource_id) is None:
                errors.append(FieldError(f"resource_ids.{index}", f"no resource {resource_id!r}"))
        if errors:
            raise ValidationFailed(errors)
        row = AllocationRound(
            id=new_id("rnd"),
            name=data.name,
            state="draft",
            season_starts_on=starts_on,
            season_ends_on=ends_on,
            school_term_id=data.school_term_id,
            applications_open_at=data.applications_open_at,
            applications_close_at=data.applications_close_at,
            draws={},
            created_by=caller.sub,
            version=1,
            created_at=now,
            updated_at=now,
        )
        self.rounds.add(row)
        await self.session.flush()
        resource_ids = sorted(set(data.resource_ids))
        self.rounds.add(
            *(AllocationRoundResource(round_id=row.id, resource_id=r) for r in resource_ids)
        )
        await self.session.flush()
        return to_round(row, resource_ids, now)

    async def visible(self, round_id: str, caller: Principal) -> AllocationRound:
        """The round; a draft only for staff (404 for others, so ids reveal nothing)."""
        row = await self.rounds.get(round_id)
        if row is None or (row.state == "draft" and not caller.is_staff):
            raise NotFound(f"No allocation round {round_id!r}.")
        return row

    async def get(self, round_id: str, caller: Principal, now: datetime) -> schemas.AllocationRound:
        row = await self.visible(round_id, caller)
        return to_round(row, (await self.rounds.resource_ids([row.id]))[row.id], now)

    async def list(self, caller: Principal, now: datetime) -> list[schemas.AllocationRound]:
        states = None if caller.is_staff else ("open", "closed", "allocated")
        rows = await self.rounds.all(states)
        resources = await self.rounds.resource_ids([row.id for row in rows])
        return [to_round(row, resources[row.id], now) for row in rows]

    async def transition(
        self, round_id: str, action: str, caller: Principal, now: datetime
    ) -> schemas.AllocationRound:
        """Open (draft → open) or close (open → closed) the round."""
        row = await self.rounds.locked(round_id)
        if row is None:
            raise NotFound(f"No allocation round {round_id!r}.")
        check_action(row, action, now)
        row.state = NEXT_STATE[action]
        row.updated_at = now
        resource_ids = (await self.rounds.resource_ids([row.id]))[row.id]
        if action == "open":
            OutboxRepository(self.session).emit(
                "allocation.round_opened",
                {
                    "round_id": row.id,
                    "name": row.name,
                    "resource_ids": resource_ids,
                    "season_starts_on": row.season_starts_on.isoformat(),
                    "season_ends_on": row.season_ends_on.isoformat(),
                    "applications_open_at": row.applications_open_at.isoformat(),
                    "applications_close_at": row.applications_close_at.isoformat(),
                },
                now,
            )
        await self.session.flush()
        return to_round(row, resource_ids, now)


class ApplicationService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.rounds = RoundRepository(session)
        self.round_service = RoundService(session)

    async def _open_round(self, round_id: str, caller: Principal, now: datetime) -> AllocationRound:
        row = await self.round_service.visible(round_id, caller)
        if not accepts_applications(
            state_of(row, now), row.applications_open_at, row.applications_close_at, now
        ):
            state = state_of(row, now)
            opens, closes = (
                row.applications_open_at.isoformat(),
                row.applications_close_at.isoformat(),
            )
            raise RoundNotOpen(
                f"Round {row.name!r} takes applications from {opens} until {closes} while it is "
                f"open; it is {state}.",
                state=state,
                applications_open_at=opens,
                applications_close_at=closes,
            )
        return row

    async def apply(
        self,
        round_id: str,
        data: schemas.AllocationApplicationCreate,
        caller: Principal,
        now: datetime,
    ) -> schemas.AllocationApplication:
        """An application for one organisation with its recurring slots, each priority once."""
        row = await self._open_round(round_id, caller, now)
        resource_ids = set((await self.rounds.resource_ids([row.id]))[row.id])
        errors: list[FieldError] = []
        seen: set[int] = set()
        for index, slot in enumerate(data.slots):
            where = f"slots.{index}"
            if slot.resource_id not in resource_ids:
                errors.append(FieldError(f"{where}.resource_id", "not a resource of this round"))
            if minutes_of(slot.ends_local) <= minutes_of(slot.starts_local):
                errors.append(FieldError(f"{where}.ends_local", "must be after starts_local"))
            if slot.priority in seen:
                errors.append(FieldError(f"{where}.priority", "each priority is given once"))
            seen.add(slot.priority)
        if errors:
            raise ValidationFailed(errors)
        application = AllocationApplication(
            id=new_id("apl"),
            round_id=row.id,
            applicant_id=caller.sub,
            organisation=data.organisation,
            contact_name=data.contact_name,
            contact_phone=data.contact_phone,
            contact_email=data.contact_email,
            purpose=data.purpose,
            status="submitted",
            created_at=now,
            updated_at=now,
        )
        self.rounds.add(application)
        await self.session.flush()
        slots = [
            AllocationSlot(
                id=new_id("als"),
                application_id=application.id,
                round_id=row.id,
                resource_id=slot.resource_id,
                weekday=WEEKDAYS.index(slot.weekday),
                starts_minute=minutes_of(slot.starts_local),
                ends_minute=minutes_of(slot.ends_local),
                quantity=slot.quantity,
                priority=slot.priority,
                decision="pending",
                decided_manually=False,
                occurrences=[],
            )
            for slot in sorted(data.slots, key=lambda s: s.priority)
        ]
        self.rounds.add(*slots)
        await self.session.flush()
        return to_application(application, slots)

    async def _visible(
        self, round_id: str, application_id: str, caller: Principal
    ) -> tuple[AllocationRound, AllocationApplication]:
        """The application for staff and for its applicant; 404 for anyone else."""
        row = await self.round_service.visible(round_id, caller)
        found = await self.rounds.application(round_id, application_id)
        if found is None or not (caller.is_staff or found.applicant_id == caller.sub):
            raise NotFound(f"No application {application_id!r}.")
        return row, found

    async def get(
        self, round_id: str, application_id: str, caller: Principal
    ) -> schemas.AllocationApplication:
        row, found = await self._visible(round_id, application_id, caller)
        slots = await self.rounds.slots(round_id, [found.id])
        return to_application(found, slots, _decided(row, caller))

    async def list(self, round_id: str, caller: Principal) -> list[schemas.AllocationApplication]:
        """Every application for staff; a resident sees only their own (others' contact data
        and choices are not theirs to see)."""
        await self.round_service.visible(round_id, caller)
        mine = None if caller.is_staff else caller.sub
        found = await self.rounds.applications(round_id, mine)
        slots = await self.rounds.slots(round_id, [a.id for a in found])
        return [to_application(a, [s for s in slots if s.application_id == a.id]) for a in found]

    async def withdraw(
        self, round_id: str, application_id: str, caller: Principal, now: datetime
    ) -> schemas.AllocationApplication:
        _, found = await self._visible(round_id, application_id, caller)
        await self._open_round(round_id, caller, now)
        found.status = "withdrawn"
        found.updated_at = now
        await self.session.flush()
        return to_application(found, await self.rounds.slots(round_id, [found.id]))


def _decided(row: AllocationRound, caller: Principal) -> bool:
    """Decisions are shown to applicants once the round is allocated; to staff at once."""
    return caller.is_staff or row.state == "allocated"
