"""Use cases for resources: the bookable things partners share."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.core.booking_fields import FieldSpec, declaration_problems
from scheduler.core.policy import Policy, policy_errors
from scheduler.core.resources import capacity_errors, is_known_timezone, resolved_capacity
from scheduler.db.catalogue import Resource
from scheduler.errors import (
    AlreadyExists,
    FieldError,
    Forbidden,
    NotFound,
    ResourceInUse,
    ValidationFailed,
)
from scheduler.ids import new_id
from scheduler.partners.repositories import PartnerRepository
from scheduler.resources import schemas
from scheduler.resources.repositories import ResourceRepository
from scheduler.schemas import convert_input
from scheduler.versioning import check_version


def _raise_if(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise ValidationFailed([FieldError(field, message) for field, message in problems])


def _check_penalty_scope(caller: Principal, policy: Policy) -> None:
    """A suspension that reaches beyond one partner's own resources is staff's to set."""
    if policy.no_show.scope == "everywhere" and not caller.is_staff:
        raise Forbidden(
            "Only staff set a no-show rule that suspends everywhere; a partner's rule covers "
            "this resource or its own unit (policy.no_show.scope)."
        )


def _check_shape(
    resource_timezone: str, capacity: int | None, units: list[str] | None, policy: Policy
) -> None:
    found = capacity_errors(capacity, units) + policy_errors(policy)
    if not is_known_timezone(resource_timezone):
        found.append(("timezone", f"unknown IANA time zone {resource_timezone!r}"))
    _raise_if(found)


def to_schema(resource: Resource, zone: str) -> schemas.Resource:
    fields = {
        column: getattr(resource, column)
        for column in schemas.Resource.__struct_fields__
        if column != "zone"
    }
    fields["policy"] = msgspec.convert(resource.policy, Policy)
    fields["booking_fields"] = declared_fields(resource)
    return schemas.Resource(zone=zone, **fields)


class DeclaresFields(Protocol):
    """A resource row or its cached facts (``availability.facts.ResourceFacts``)."""

    @property
    def booking_fields(self) -> Any: ...


def declared_fields(resource: DeclaresFields) -> list[FieldSpec]:
    """The resource's booking field declarations as values."""
    return msgspec.convert(list(resource.booking_fields or ()), list[FieldSpec])


def _stored_fields(specs: list[FieldSpec]) -> list[dict[str, Any]]:
    """Declarations checked for consistency (422 naming the member), as stored JSON."""
    _raise_if(declaration_problems(specs))
    stored: list[dict[str, Any]] = msgspec.to_builtins(specs)
    return stored


LOADED_RESOURCES = "loaded_resources"


class ResourceService:
    def __init__(self, session: AsyncSession, default_timezone: str = "Asia/Shanghai") -> None:
        self.session = session
        self.resources = ResourceRepository(session)
        self.partners = PartnerRepository(session)
        self.default_timezone = default_timezone

    async def get(self, resource_id: str) -> tuple[Resource, str]:
        found = await self.resources.get_with_zone(resource_id)
        if found is None:
            raise NotFound(f"No resource {resource_id!r}.")
        # The session's identity map holds rows weakly; keeping the resource for the rest of
        # the request lets the booking views read its name and zone without a second SELECT.
        self.session.info.setdefault(LOADED_RESOURCES, {})[resource_id] = found[0]
        return found

    async def get_managed(self, resource_id: str, caller: Principal) -> tuple[Resource, str]:
        """The resource, if ``caller`` may manage it (its own partner, staff, admin)."""
        resource, zone = await self.get(resource_id)
        ensure_manages(caller, resource.partner_id)
        return resource, zone

    async def create(
        self, data: schemas.ResourceCreate, caller: Principal, now: datetime
    ) -> tuple[Resource, str]:
        partner_id = data.partner_id or caller.partner
        if partner_id is None:
            raise ValidationFailed.one("partner_id", "required")
        ensure_manages(caller, partner_id)
        partner = await self.partners.get(partner_id)
        if partner is None:
            raise ValidationFailed.one("partner_id", f"no partner {partner_id!r}")
        policy = data.policy or Policy()
        _check_penalty_scope(caller, policy)
        timezone = data.timezone or self.default_timezone
        _check_shape(timezone, data.capacity, data.units, policy)
        booking_fields = _stored_fields(data.booking_fields or [])
        resource_id = data.id or new_id("res")
        if await self.resources.exists_any(resource_id):
            raise AlreadyExists(f"Resource {resource_id!r} already exists.", id=resource_id)
        resource = Resource(
            id=resource_id,
            partner_id=partner_id,
            name=data.name,
            kind=data.kind,
            capacity=resolved_capacity(data.capacity, data.units),
            units=list(data.units or []),
            timezone=timezone,
            address=data.address,
            latitude=data.latitude,
            longitude=data.longitude,
            description=data.description,
            policy=msgspec.to_builtins(policy),
            booking_fields=booking_fields,
            version=1,
            created_at=now,
            updated_at=now,
        )
        self.resources.add(resource)
        await self.session.flush()
        return resource, partner.zone

    async def update(
        self,
        resource_id: str,
        data: schemas.ResourceUpdate,
        caller: Principal,
        if_match: str | None,
        now: datetime,
    ) -> tuple[Resource, str]:
        resource, zone = await self.get_managed(resource_id, caller)
        check_version(resource.version, if_match)
        changes: dict[str, Any] = {
            key: value
            for key, value in msgspec.structs.asdict(data).items()
            if value is not msgspec.UNSET
        }
        policy_patch = changes.pop("policy", None)
        if "booking_fields" in changes:
            changes["booking_fields"] = _stored_fields(changes["booking_fields"])
        policy = convert_input({**resource.policy, **(policy_patch or {})}, Policy, "policy")
        if policy.no_show != msgspec.convert(resource.policy, Policy).no_show:
            _check_penalty_scope(caller, policy)
        units = changes.get("units", resource.units)
        capacity = changes.get("capacity", None if units else resource.capacity)
        _check_shape(changes.get("timezone", resource.timezone), capacity, units, policy)
        regridded = policy.granularity_minutes != resource.policy.get("granularity_minutes", 60)
        rezoned = changes.get("timezone", resource.timezone) != resource.timezone
        if (regridded or rezoned) and await self._has_future_bookings(resource.id, now):
            raise ResourceInUse(
                "Granularity and time zone cannot change while future bookings exist."
            )
        for key, value in changes.items():
            setattr(resource, key, value)
        resource.capacity = resolved_capacity(capacity, units)
        resource.policy = msgspec.to_builtins(policy)
        resource.updated_at = now
        await self.session.flush()
        return resource, zone

    async def delete(
        self, resource_id: str, caller: Principal, if_match: str | None, now: datetime
    ) -> None:
        resource, _ = await self.get_managed(resource_id, caller)
        check_version(resource.version, if_match)
        if await self._has_future_bookings(resource.id, now):
            raise ResourceInUse(
                "Cancel the resource's active bookings first (or close it instead)."
            )
        resource.deleted_at = now
        await self.session.flush()

    async def _has_future_bookings(self, resource_id: str, now: datetime) -> bool:
        return await self.resources.has_active_bookings_after(resource_id, now)


def ensure_manages(caller: Principal, partner_id: str) -> None:
    """Partners manage only their own partner's things; staff and admin manage all."""
    if caller.is_staff:
        return
    if caller.role == "partner" and caller.partner == partner_id:
        return
    raise Forbidden("Only the owning partner, staff or admin may manage this resource.")
