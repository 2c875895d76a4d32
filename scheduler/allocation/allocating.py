"""Use cases of staff after the application period: the side-by-side view of competing
applications, the automatic fair allocation and manual decisions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.allocation import schemas
from scheduler.allocation.repositories import RoundRepository
from scheduler.allocation.services import check_action
from scheduler.allocation.views import contact_of, local_time, to_request, to_slot
from scheduler.auth.tokens import Principal
from scheduler.core import allocation as core
from scheduler.core.lottery import new_seed
from scheduler.db.allocation import AllocationApplication, AllocationRound, AllocationSlot
from scheduler.db.catalogue import Resource
from scheduler.errors import AllocationOverCapacity, NotFound


class Competing:
    """The round's live applications and their slots, loaded once."""

    def __init__(
        self,
        row: AllocationRound,
        applications: list[AllocationApplication],
        slots: list[AllocationSlot],
        resources: dict[str, Resource],
    ) -> None:
        self.round = row
        self.applications = {a.id: a for a in applications if a.status == "submitted"}
        self.slots = [s for s in slots if s.application_id in self.applications]
        self.resources = resources

    def requests(self) -> list[core.SlotRequest]:
        return [to_request(s, self.applications[s.application_id].applicant_id) for s in self.slots]

    def capacities(self) -> dict[str, int]:
        return {resource_id: r.capacity for resource_id, r in self.resources.items()}


class AllocatingService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.rounds = RoundRepository(session)

    async def load(self, round_id: str, lock: bool = False) -> Competing:
        row = await (self.rounds.locked(round_id) if lock else self.rounds.get(round_id))
        if row is None:
            raise NotFound(f"No allocation round {round_id!r}.")
        resource_ids = (await self.rounds.resource_ids([row.id]))[row.id]
        resources = {}
        for resource_id in resource_ids:
            resource = await self.session.get(Resource, resource_id)
            if resource is not None:
                resources[resource_id] = resource
        return Competing(
            row,
            await self.rounds.applications(row.id),
            await self.rounds.slots(row.id),
            resources,
        )

    async def competition(self, round_id: str) -> list[schemas.AllocationCompetition]:
        """Per resource, weekday and overlapping time: the applications competing for it."""
        loaded = await self.load(round_id)
        by_id = {s.id: s for s in loaded.slots}
        found = []
        for group in core.competitions(loaded.requests()):
            resource = loaded.resources[group.resource_id]
            competitors = []
            for request in sorted(group.slots, key=lambda r: (r.priority, r.starts, r.id)):
                slot = by_id[request.id]
                application = loaded.applications[slot.application_id]
                competitors.append(
                    schemas.AllocationCompetitor(
                        slot_id=slot.id,
                        application_id=application.id,
                        organisation=application.organisation,
                        contact=contact_of(application),
                        priority=slot.priority,
                        starts_local=local_time(slot.starts_minute),
                        ends_local=local_time(slot.ends_minute),
                        quantity=slot.quantity,
                        decision=slot.decision,  # type: ignore[arg-type]
                        decided_manually=slot.decided_manually,
                    )
                )
            found.append(
                schemas.AllocationCompetition(
                    resource_id=resource.id,
                    resource_name=resource.name,
                    weekday=core.WEEKDAYS[group.weekday],  # type: ignore[arg-type]
                    starts_local=local_time(group.starts),
                    ends_local=local_time(group.ends),
                    capacity=resource.capacity,
                    requested=group.requested(),
                    oversubscribed=not _all_fit(group, resource.capacity),
                    slots=competitors,
                )
            )
        return found

    async def allocate(
        self, round_id: str, data: schemas.AllocateRequest, now: datetime
    ) -> schemas.AllocationResult:
        """Decide every slot not decided by hand with the fair algorithm (``core.allocation``);
        the seed and the draws are recorded so the result can be replayed."""
        loaded = await self.load(round_id, lock=True)
        check_action(loaded.round, "allocate", now)
        seed = data.seed or new_seed()
        result = core.allocate(loaded.requests(), loaded.capacities(), seed)
        by_id = {s.id: s for s in loaded.slots}
        steps = []
        for verdict in result.verdicts:
            slot = by_id[verdict.slot_id]
            slot.decision, slot.decision_reason = verdict.decision, verdict.reason
            slot.decision_step = verdict.step
            application = loaded.applications[slot.application_id]
            steps.append(
                schemas.AllocationStep(
                    step=verdict.step,
                    slot_id=slot.id,
                    application_id=application.id,
                    organisation=application.organisation,
                    priority=slot.priority,
                    decision=verdict.decision,
                    reason=verdict.reason,
                )
            )
        draws = {str(priority): list(order) for priority, order in result.draws.items()}
        loaded.round.seed, loaded.round.draws = seed, draws
        loaded.round.allocated_at = loaded.round.updated_at = now
        await self.session.flush()
        return schemas.AllocationResult(loaded.round.id, seed, draws, steps)

    async def decide(
        self,
        round_id: str,
        slot_id: str,
        data: schemas.SlotDecision,
        caller: Principal,
        now: datetime,
    ) -> schemas.ApplicationSlot:
        """Grant, decline or reset one slot by hand; a grant must fit beside the others."""
        loaded = await self.load(round_id, lock=True)
        check_action(loaded.round, "decide", now)
        slot = next((s for s in loaded.slots if s.id == slot_id), None)
        if slot is None:
            raise NotFound(f"No slot {slot_id!r} in this round's applications.")
        if data.decision == "granted":
            requests = loaded.requests()
            wanted = next(r for r in requests if r.id == slot.id)
            granted = [r for r in requests if r.decision == "granted" and r.id != slot.id]
            capacity = loaded.capacities().get(slot.resource_id, 0)
            if not core.fits(wanted, granted, capacity):
                rivals = [r.id for r in granted if r.competes_with(wanted)]
                raise AllocationOverCapacity(
                    f"Granting it would exceed the capacity of {capacity} beside the slots "
                    "already granted then; decline one of them first.",
                    capacity=capacity,
                    granted_slot_ids=rivals,
                )
        slot.decision = data.decision
        slot.decided_manually = data.decision != "pending"
        slot.decision_reason = data.reason or f"decided by {caller.sub}"
        slot.decision_step = None
        loaded.round.updated_at = now
        await self.session.flush()
        return to_slot(slot)


def _all_fit(group: core.Competition, capacity: int) -> bool:
    placed: list[core.SlotRequest] = []
    for request in group.slots:
        if not core.fits(request, placed, capacity):
            return False
        placed.append(request)
    return True
