"""Checks on the caller a verified token names, before it is provisioned."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.auth.tokens import Principal
from scheduler.errors import Forbidden
from scheduler.partners.repositories import PartnerRepository


async def check_caller(session: AsyncSession, principal: Principal) -> None:
    """A partner token must name a partner that exists: a signed token for a made-up unit
    would otherwise be provisioned as its manager. (Partners are never deleted, so the check
    holds for the rest of the request; the partner stays in the session's identity map.)"""
    if principal.partner is None:
        return
    if await PartnerRepository(session).get(principal.partner) is None:
        raise Forbidden(
            f"The token names partner {principal.partner!r}, which does not exist; "
            "ask staff to register the partner first."
        )
