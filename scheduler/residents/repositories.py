"""Every query about residents, their suspensions, merges and the personal-data log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.core.people import NoShow
from scheduler.db.bookings import Booking
from scheduler.db.catalogue import Resource, User
from scheduler.db.people import PersonalDataAccess, ResidentMerge, Suspension

MAX_MERGE_HOPS = 10


class ResidentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, resident_id: str) -> User | None:
        """The record, following merges to the survivor."""
        user = await self.session.get(User, resident_id)
        for _ in range(MAX_MERGE_HOPS):
            if user is None or user.merged_into is None:
                return user
            user = await self.session.get(User, user.merged_into)
        return user

    async def get_exact(self, resident_id: str) -> User | None:
        return await self.session.get(User, resident_id)

    def add(self, user: User) -> None:
        self.session.add(user)

    def search(
        self,
        *,
        text: str | None,
        phone: str | None,
        community: str | None,
        communities: Sequence[str] | None,
    ) -> Select[User]:
        """Residents (never merged-away records) matching every given criterion; a worker's
        ``communities`` restrict the search to those."""
        query = select(User).where(User.role == "resident", User.merged_into.is_(None))
        if text:
            pattern = f"%{text}%"
            query = query.where(or_(User.name.like(pattern), User.id == text))
        if phone:
            query = query.where(User.phone.like(f"%{phone}"))
        if community:
            query = query.where(User.community == community)
        if communities is not None:
            query = query.where(User.community.in_(list(communities)))
        return query

    async def page(self, query: Select[User], limit: int, offset: int) -> tuple[list[User], int]:
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(User.name, User.id).limit(limit).offset(offset)
        )
        return list(rows), int(total or 0)

    async def identity_taken(self, identity_ref: str, other_than: str | None) -> bool:
        query = select(User.id).where(User.identity_ref == identity_ref, User.merged_into.is_(None))
        if other_than is not None:
            query = query.where(User.id != other_than)
        return (await self.session.scalars(query.limit(1))).first() is not None

    async def move_bookings(self, from_id: str, to_id: str, holder_name: str) -> int:
        result = await self.session.execute(
            update(Booking)
            .where(Booking.holder_id == from_id)
            .values(holder_id=to_id, holder_name=holder_name)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def move_suspensions(self, from_id: str, to_id: str) -> int:
        result = await self.session.execute(
            update(Suspension)
            .where(Suspension.user_id == from_id)
            .values(user_id=to_id)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def record_merge(self, merge: ResidentMerge) -> None:
        self.session.add(merge)

    async def inactive_since(self, moment: datetime, limit: int) -> list[User]:
        """Residents not seen and without a booking ending since ``moment``, not yet anonymised."""
        recent = (
            select(Booking.id)
            .where(Booking.holder_id == User.id, Booking.ends_at > moment)
            .exists()
        )
        query = (
            select(User)
            .where(
                User.role == "resident",
                User.anonymised_at.is_(None),
                User.last_seen_at < moment,
                User.created_at < moment,
                ~recent,
            )
            .order_by(User.id)
            .limit(limit)
        )
        return list(await self.session.scalars(query))


class SuspensionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, suspension: Suspension) -> None:
        self.session.add(suspension)

    async def get(self, suspension_id: str) -> Suspension | None:
        return await self.session.get(Suspension, suspension_id)

    def running(
        self,
        now: datetime,
        *,
        user_id: str | None = None,
        partner_id: str | None = None,
        communities: Sequence[str] | None = None,
    ) -> Select[Suspension, User]:
        """Suspensions not lifted and not over; ``partner_id`` keeps those on its resources or
        its whole unit, ``communities`` those of residents of these communities."""
        query = (
            select(Suspension, User)
            .join(User, User.id == Suspension.user_id)
            .where(Suspension.lifted_at.is_(None), Suspension.until > now)
        )
        if user_id is not None:
            query = query.where(Suspension.user_id == user_id)
        if partner_id is not None:
            own = select(Resource.id).where(Resource.partner_id == partner_id)
            query = query.where(
                ((Suspension.scope == "partner") & (Suspension.scope_id == partner_id))
                | ((Suspension.scope == "resource") & Suspension.scope_id.in_(own))
            )
        if communities is not None:
            query = query.where(User.community.in_(list(communities)))
        return query

    async def page(
        self, query: Select[Suspension, User], limit: int, offset: int
    ) -> tuple[list[tuple[Suspension, User]], int]:
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.execute(
            query.order_by(Suspension.until.desc(), Suspension.id).limit(limit).offset(offset)
        )
        return [(row[0], row[1]) for row in rows], int(total or 0)

    async def no_shows_since(self, user_id: str, since: datetime) -> list[NoShow]:
        """The holder's no-shows ending after ``since``, as the suspension rules see them."""
        query = (
            select(Booking.resource_id, Resource.partner_id, Booking.created_by, Booking.excused_at)
            .join(Resource, Resource.id == Booking.resource_id)
            .where(
                Booking.holder_id == user_id,
                Booking.status == "no_show",
                Booking.ends_at > since,
            )
        )
        return [
            NoShow(resource_id, partner_id, created_by == user_id, excused_at is not None)
            for resource_id, partner_id, created_by, excused_at in await self.session.execute(query)
        ]

    async def system_running(
        self, user_id: str, scope: str, scope_id: str | None, now: datetime
    ) -> list[Suspension]:
        """The no-show suspensions (made by the duty) running in one scope."""
        query = select(Suspension).where(
            Suspension.user_id == user_id,
            Suspension.scope == scope,
            Suspension.scope_id.is_(None) if scope_id is None else Suspension.scope_id == scope_id,
            Suspension.lifted_at.is_(None),
            Suspension.until > now,
            Suspension.created_by == "system:jobs",
        )
        return list(await self.session.scalars(query))


class AccessLogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(self, entry: PersonalDataAccess) -> None:
        self.session.add(entry)

    def query(
        self, *, resident_id: str | None, actor_sub: str | None, since: datetime | None
    ) -> Select[PersonalDataAccess]:
        query = select(PersonalDataAccess)
        if resident_id is not None:
            query = query.where(PersonalDataAccess.resident_id == resident_id)
        if actor_sub is not None:
            query = query.where(PersonalDataAccess.actor_sub == actor_sub)
        if since is not None:
            query = query.where(PersonalDataAccess.at >= since)
        return query

    async def page(
        self, query: Select[PersonalDataAccess], limit: int, offset: int
    ) -> tuple[list[PersonalDataAccess], int]:
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(PersonalDataAccess.at.desc(), PersonalDataAccess.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(rows), int(total or 0)
