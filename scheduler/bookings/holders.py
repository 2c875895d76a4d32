"""Who a booking is for: the caller, or the resident someone books for, and what the rules
need to know about that person (their holdings, suspensions and group use)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.availability.facts import ResourceFacts
from scheduler.bookings import schemas
from scheduler.bookings.repositories import BookingRepository
from scheduler.core.lifecycle import may_book_for
from scheduler.core.people import GroupUsage, PersonUsage, suspended_until
from scheduler.core.rules import Booker
from scheduler.core.timerange import TimeRange
from scheduler.db.catalogue import Resource, User
from scheduler.db.statements import dialect_of
from scheduler.errors import Forbidden, ValidationFailed
from scheduler.groups.services import GroupService
from scheduler.residents.services import ResidentService

LOCK_HOLDER = select(User.id).where(User.id == bindparam("user_id")).with_for_update()


@dataclass(frozen=True, slots=True)
class Holder:
    """The person who will own the booking. ``checked`` is False for a partner's dry run for
    a resident: built from what was sent, never from the registry (partners may not read
    residents' records), so nothing stored about the person is revealed or applied."""

    user: User
    checked: bool = True


@dataclass(frozen=True, slots=True)
class HolderState:
    booker: Booker
    person: PersonUsage
    groups: tuple[GroupUsage, ...]
    # The cached facts' versions, when the holder read returned them (see HolderFacts).
    versions: tuple[int | None, int | None] | None = None


class Holders:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.bookings = BookingRepository(session)
        self.residents = ResidentService(session)
        self.groups = GroupService(session)

    async def resolve(
        self,
        caller: Principal,
        data: schemas.BookingCreate,
        resource: Resource | ResourceFacts,
        now: datetime,
        dry_run: bool,
    ) -> Holder:
        """The caller, or the resident booked for (who must be one the caller may book for)."""
        proxy = data.on_behalf_of
        if proxy is None:
            if data.walk_in:
                raise ValidationFailed.one("on_behalf_of", "a walk-in is recorded for a resident")
            user = await self.session.get(User, caller.sub)
            assert user is not None, "callers are provisioned before services run"
            return Holder(user)
        if dry_run and caller.role == "partner":
            if not may_book_for(caller, proxy.community, resource.partner_id):
                raise _not_yours()
            return Holder(_as_sent(proxy), checked=False)
        found = await self.residents.find(proxy.sub)
        community = found.community if found is not None else proxy.community
        if not may_book_for(caller, community, resource.partner_id):
            raise _not_yours()
        if found is not None:
            return Holder(found)
        if proxy.name is None:
            raise ValidationFailed.one(
                "on_behalf_of.name", "required to record a resident the registry does not know"
            )
        return Holder(
            await self.residents.record_unverified(
                proxy.sub, proxy.name, proxy.community, caller.sub, now
            )
        )

    async def state(
        self,
        holder: Holder,
        caller: Principal,
        resource: Resource | ResourceFacts,
        request: TimeRange,
        now: datetime,
    ) -> HolderState:
        """What the person rules need: holdings, running suspensions, group use. It also
        serializes the person's concurrent requests (a row lock on PostgreSQL)."""
        user = holder.user
        own_tags = set(caller.tags) if user.id == caller.sub else set()
        tags = tuple(sorted(set(user.tags) | own_tags))
        if not holder.checked:
            return HolderState(Booker(user.id, user.role, user.community, tags), PersonUsage(), ())
        if dialect_of(self.session) == "postgresql":
            # Lock first, read after, in two statements: under READ COMMITTED a statement
            # that waited for a row lock still reads everything else (the holder's bookings)
            # as of its own start, so a one-statement lock-and-read let a person's racing
            # requests all see no booking (tests/integration/test_person_races.py).
            await self.session.execute(LOCK_HOLDER, {"user_id": user.id})
        facts = await self.bookings.holder_facts(user.id, resource.id, request, now)
        until = suspended_until(facts.suspensions, resource.id, resource.partner_id, now)
        groups = await self.groups.usage(resource.id, user.id, request) if facts.in_group else ()
        booker = Booker(user.id, user.role, user.community, tags, until)
        return HolderState(booker, facts.person, groups, facts.versions)


def _as_sent(proxy: schemas.OnBehalfOf) -> User:
    return User(
        id=proxy.sub, name=proxy.name or "", role="resident", community=proxy.community, tags=[]
    )


def _not_yours() -> Forbidden:
    return Forbidden(
        "Staff book for anyone; a partner only on its own resources; a neighbourhood worker "
        "only for residents of their communities."
    )
