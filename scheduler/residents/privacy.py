"""Personal data under PIPL: every full read is logged, residents see what is stored about
them (and who read it), and long-inactive residents are anonymised."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.db.bookings import Booking
from scheduler.db.people import PersonalDataAccess
from scheduler.db.standing import StandingOrder
from scheduler.errors import NotFound
from scheduler.residents import schemas
from scheduler.residents.repositories import (
    AccessLogRepository,
    ResidentRepository,
    SuspensionRepository,
)
from scheduler.residents.services import ResidentService, view
from scheduler.residents.suspensions import suspension_view

PERSONAL_FIELDS = ["phone", "identity_ref"]
RETENTION_BATCH = 200
# Months counted as 30 days: the retention period is a bound, not a calendar date.
MONTH = timedelta(days=30)


def entry_view(entry: PersonalDataAccess) -> schemas.AccessEntry:
    return schemas.AccessEntry(
        at=entry.at,
        actor_sub=entry.actor_sub,
        actor_role=entry.actor_role,
        resident_id=entry.resident_id,
        fields=list(entry.fields),
        action=entry.action,
        path=entry.path,
    )


class PrivacyService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.residents = ResidentRepository(session)
        self.log = AccessLogRepository(session)
        self.suspensions = SuspensionRepository(session)

    def record(
        self, caller: Principal, resident_ids: list[str], action: str, path: str, now: datetime
    ) -> None:
        """Log that ``caller`` read the personal data of ``resident_ids``."""
        for resident_id in resident_ids:
            self.log.record(
                PersonalDataAccess(
                    at=now,
                    actor_sub=caller.sub,
                    actor_role=caller.role,
                    resident_id=resident_id,
                    fields=PERSONAL_FIELDS,
                    action=action,
                    path=path[:500],
                )
            )

    async def personal(
        self, resident_id: str, caller: Principal, path: str, now: datetime
    ) -> schemas.PersonalData:
        """The full phone and identity reference, for staff and the resident's workers; the
        read is logged in the same transaction, so it cannot happen unlogged."""
        user = await ResidentService(self.session).visible(resident_id, caller)
        self.record(caller, [user.id], "read", path, now)
        await self.session.flush()
        return schemas.PersonalData(user.id, user.phone, user.identity_ref)

    async def accesses(
        self,
        *,
        resident_id: str | None,
        actor_sub: str | None,
        since: datetime | None,
        limit: int,
        offset: int,
    ) -> tuple[list[PersonalDataAccess], int]:
        query = self.log.query(resident_id=resident_id, actor_sub=actor_sub, since=since)
        return await self.log.page(query, limit, offset)

    async def mine(self, caller: Principal, now: datetime) -> schemas.MyRecord:
        """What is stored about the caller, who read it, and their running suspensions."""
        user = await self.residents.get(caller.sub)
        if user is None:
            raise NotFound("Nothing is stored about you.")
        rows, _ = await self.suspensions.page(
            self.suspensions.running(now, user_id=user.id), 100, 0
        )
        accesses, _ = await self.log.page(
            self.log.query(resident_id=user.id, actor_sub=None, since=None), 100, 0
        )
        return schemas.MyRecord(
            resident=view(user, suspended=bool(rows)),
            personal=schemas.PersonalData(user.id, user.phone, user.identity_ref),
            suspensions=[suspension_view(s, u) for s, u in rows],
            accesses=[entry_view(entry) for entry in accesses],
        )

    async def anonymise_inactive(self, now: datetime, months: int) -> int:
        """Remove the personal data of residents with no activity (no sign-in, no booking
        ending) for ``months``: name, phone, identity reference and tags go; the id and
        community stay, so past bookings still count in reports."""
        if months <= 0:
            return 0
        users = await self.residents.inactive_since(now - months * MONTH, RETENTION_BATCH)
        for user in users:
            user.name, user.phone, user.identity_ref, user.tags = "", None, None, []
            user.anonymised_at = user.updated_at = now
            user.version += 1
        if users:
            await self.session.execute(
                update(Booking)
                .where(Booking.holder_id.in_([user.id for user in users]))
                .values(holder_name="")
                .execution_options(synchronize_session=False)
            )
            await self.session.execute(
                update(StandingOrder)
                .where(StandingOrder.holder_id.in_([user.id for user in users]))
                .values(holder_name="")
                .execution_options(synchronize_session=False)
            )
        await self.session.flush()
        return len(users)
