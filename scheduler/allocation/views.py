"""Rows of allocation rounds as response bodies, and the core's view of a slot."""

from __future__ import annotations

from datetime import datetime

import msgspec

from scheduler.allocation import schemas
from scheduler.core.allocation import WEEKDAYS, RoundState, SlotRequest, effective_state
from scheduler.db.allocation import AllocationApplication, AllocationRound, AllocationSlot


def local_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def minutes_of(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def state_of(row: AllocationRound, now: datetime) -> RoundState:
    stored: RoundState = row.state  # type: ignore[assignment]
    return effective_state(stored, row.applications_close_at, now)


def to_round(
    row: AllocationRound, resource_ids: list[str], now: datetime
) -> schemas.AllocationRound:
    return schemas.AllocationRound(
        id=row.id,
        name=row.name,
        state=state_of(row, now),
        resource_ids=resource_ids,
        season_starts_on=row.season_starts_on,
        season_ends_on=row.season_ends_on,
        school_term_id=row.school_term_id,
        applications_open_at=row.applications_open_at,
        applications_close_at=row.applications_close_at,
        seed=row.seed,
        allocated_at=row.allocated_at,
        confirmed_at=row.confirmed_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def to_slot(row: AllocationSlot) -> schemas.ApplicationSlot:
    occurrences = [msgspec.convert(o, schemas.AllocatedOccurrence) for o in row.occurrences or []]
    booked = sum(1 for o in occurrences if o.outcome == "booked")
    return schemas.ApplicationSlot(
        id=row.id,
        resource_id=row.resource_id,
        weekday=WEEKDAYS[row.weekday],  # type: ignore[arg-type]
        starts_local=local_time(row.starts_minute),
        ends_local=local_time(row.ends_minute),
        quantity=row.quantity,
        priority=row.priority,
        decision=row.decision,  # type: ignore[arg-type]
        decided_manually=row.decided_manually,
        decision_reason=row.decision_reason,
        series_id=row.series_id,
        booked=booked,
        refused=len(occurrences) - booked,
        occurrences=occurrences,
    )


def contact_of(row: AllocationApplication) -> schemas.ApplicantContact:
    return schemas.ApplicantContact(row.contact_name, row.contact_phone, row.contact_email)


def provisional(slot: schemas.ApplicationSlot) -> schemas.ApplicationSlot:
    """A slot as its applicant sees it before the round is allocated: staff may still change
    the decision, so it is not shown until confirmation."""
    return msgspec.structs.replace(
        slot, decision="pending", decided_manually=False, decision_reason=None
    )


def to_application(
    row: AllocationApplication, slots: list[AllocationSlot], decided: bool = True
) -> schemas.AllocationApplication:
    return schemas.AllocationApplication(
        id=row.id,
        round_id=row.round_id,
        applicant=row.applicant_id,
        organisation=row.organisation,
        contact=contact_of(row),
        purpose=row.purpose,
        status=row.status,  # type: ignore[arg-type]
        slots=[to_slot(s) if decided else provisional(to_slot(s)) for s in slots],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def to_request(row: AllocationSlot, applicant: str) -> SlotRequest:
    return SlotRequest(
        id=row.id,
        applicant=applicant,
        resource_id=row.resource_id,
        weekday=row.weekday,
        starts=row.starts_minute,
        ends=row.ends_minute,
        quantity=row.quantity,
        priority=row.priority,
        decision=row.decision,  # type: ignore[arg-type]
        manual=row.decided_manually,
    )
