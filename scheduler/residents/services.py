"""Use cases of the resident registry: record, find, correct and merge residents.

Staff see every resident; a neighbourhood worker only those of their communities (others
are 404, as if they did not exist); partners and residents have no access to the registry
(a resident reads their own record at ``/residents/me``). Personal data (phone, identity
reference) is shown masked; reading it in full goes through ``PrivacyService.personal`` and
is logged.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.core.lifecycle import serves
from scheduler.db.catalogue import User
from scheduler.db.people import ResidentMerge
from scheduler.errors import AlreadyExists, Conflict, Forbidden, NotFound, ValidationFailed
from scheduler.ids import new_id
from scheduler.residents import schemas
from scheduler.residents.repositories import (
    AccessLogRepository,
    ResidentRepository,
    SuspensionRepository,
)
from scheduler.versioning import check_version


def normalized_phone(phone: str) -> str:
    """Digits only, keeping a leading +, so the same number always matches."""
    digits = re.sub(r"[^0-9]", "", phone)
    return ("+" if phone.strip().startswith("+") else "") + digits


def masked(phone: str | None) -> str | None:
    if phone is None:
        return None
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def view(user: User, suspended: bool = False) -> schemas.Resident:
    return schemas.Resident(
        id=user.id,
        name=user.name,
        community=user.community,
        tags=list(user.tags),
        phone_masked=masked(user.phone),
        has_identity_ref=user.identity_ref is not None,
        verified=user.verified,
        suspended=suspended,
        created_by=user.created_by,
        created_at=user.created_at,
        updated_at=user.updated_at,
        anonymised_at=user.anonymised_at,
        version=user.version,
    )


def may_manage(caller: Principal, community: str | None) -> bool:
    """Staff manage every resident; a worker those of their communities."""
    return caller.is_staff or serves(caller, community)


class ResidentService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.residents = ResidentRepository(session)
        self.log = AccessLogRepository(session)

    async def find(self, resident_id: str) -> User | None:
        """The person a booking may be made for, following merges."""
        return await self.residents.get(resident_id)

    async def record_unverified(
        self, resident_id: str, name: str, community: str | None, by: str, now: datetime
    ) -> User:
        """A resident first met through a proxy booking: recorded, flagged unverified."""
        user = User(
            id=resident_id,
            name=name,
            role="resident",
            community=community,
            tags=[],
            verified=False,
            created_by=by,
            created_at=now,
            updated_at=now,
            last_seen_at=now,
            version=1,
        )
        self.residents.add(user)
        await self.session.flush()
        return user

    async def viewed(self, user: User, now: datetime) -> schemas.Resident:
        """``user`` as the registry shows it, with whether a suspension is running."""
        running = SuspensionRepository(self.session).running(now, user_id=user.id)
        rows, _ = await SuspensionRepository(self.session).page(running, 1, 0)
        return view(user, suspended=bool(rows))

    async def visible(self, resident_id: str, caller: Principal) -> User:
        """The resident (after merges) if ``caller`` may manage them; 404 otherwise."""
        user = await self.residents.get(resident_id)
        if user is None or user.role != "resident" or not may_manage(caller, user.community):
            raise NotFound(f"No resident {resident_id!r}.")
        return user

    async def create(self, data: schemas.ResidentCreate, caller: Principal, now: datetime) -> User:
        if not may_manage(caller, data.community):
            raise Forbidden("A worker records residents of their own communities only.")
        resident_id = data.id or new_id("res")
        if await self.residents.get_exact(resident_id) is not None:
            raise AlreadyExists(f"Resident {resident_id!r} already exists.", id=resident_id)
        if data.identity_ref and await self.residents.identity_taken(data.identity_ref, None):
            raise AlreadyExists("Another resident has this identity reference; merge them.")
        user = User(
            id=resident_id,
            name=data.name,
            role="resident",
            community=data.community,
            tags=sorted(set(data.tags)),
            phone=normalized_phone(data.phone) if data.phone else None,
            identity_ref=data.identity_ref,
            verified=True,
            created_by=caller.sub,
            created_at=now,
            updated_at=now,
            last_seen_at=now,
            version=1,
        )
        self.residents.add(user)
        await self.session.flush()
        return user

    async def update(
        self,
        resident_id: str,
        data: schemas.ResidentUpdate,
        caller: Principal,
        if_match: str | None,
        now: datetime,
    ) -> User:
        """Correct a record; a new community applies at once to audiences and quotas."""
        user = await self.visible(resident_id, caller)
        check_version(user.version, if_match)
        if data.community is not None and not may_manage(caller, data.community):
            raise Forbidden("A worker may move a resident only between their own communities.")
        if data.identity_ref and await self.residents.identity_taken(data.identity_ref, user.id):
            raise AlreadyExists("Another resident has this identity reference; merge them.")
        for field in ("name", "community", "identity_ref", "verified"):
            value = getattr(data, field)
            if value is not None:
                setattr(user, field, value)
        if data.tags is not None:
            user.tags = sorted(set(data.tags))
        if data.phone is not None:
            user.phone = normalized_phone(data.phone)
        user.updated_at = now
        user.version += 1
        await self.session.flush()
        return user

    async def merge(
        self, survivor_id: str, duplicate_id: str, caller: Principal, now: datetime
    ) -> tuple[User, ResidentMerge]:
        """Make two records of one person one: the duplicate's bookings (with their history)
        and suspensions move to the survivor, tags are united, missing personal data is
        taken over, and the duplicate points at the survivor from now on."""
        survivor = await self.visible(survivor_id, caller)
        duplicate = await self.visible(duplicate_id, caller)
        if survivor.id == duplicate.id:
            raise Conflict("These are already one record.")
        moved = {
            "bookings": await self.residents.move_bookings(
                duplicate.id, survivor.id, survivor.name
            ),
            "suspensions": await self.residents.move_suspensions(duplicate.id, survivor.id),
        }
        survivor.tags = sorted(set(survivor.tags) | set(duplicate.tags))
        survivor.phone = survivor.phone or duplicate.phone
        survivor.identity_ref = survivor.identity_ref or duplicate.identity_ref
        duplicate.identity_ref = None
        survivor.verified = survivor.verified or duplicate.verified
        survivor.updated_at = now
        survivor.version += 1
        duplicate.merged_into = survivor.id
        duplicate.updated_at = now
        merge = ResidentMerge(
            id=new_id("mrg"),
            survivor_id=survivor.id,
            merged_id=duplicate.id,
            merged_by=caller.sub,
            at=now,
            moved=moved,
        )
        self.residents.record_merge(merge)
        await self.session.flush()
        return survivor, merge

    async def search(
        self,
        caller: Principal,
        *,
        text: str | None,
        phone: str | None,
        community: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[User], int]:
        """Residents by name (or id), phone (a suffix is enough) or community."""
        if phone is not None and len(normalized_phone(phone)) < 4:
            raise ValidationFailed.one("phone", "give at least 4 digits")
        query = self.residents.search(
            text=text,
            phone=normalized_phone(phone) if phone else None,
            community=community,
            communities=None if caller.is_staff else caller.communities,
        )
        return await self.residents.page(query, limit, offset)
