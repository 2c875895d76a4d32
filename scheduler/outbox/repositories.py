"""The transactional outbox: events are rows written with the change that caused them, so
an event exists if and only if its change committed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.db.bookings import OutboxEvent


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def emit(
        self,
        event_type: str,
        payload: dict[str, Any],
        now: datetime,
        *,
        booking_id: str | None = None,
        resource_id: str | None = None,
        partner_id: str | None = None,
    ) -> None:
        self.session.add(
            OutboxEvent(
                **outbox_row(
                    event_type,
                    payload,
                    now,
                    booking_id=booking_id,
                    resource_id=resource_id,
                    partner_id=partner_id,
                )
            )
        )


def outbox_row(
    event_type: str,
    payload: dict[str, Any],
    now: datetime,
    *,
    booking_id: str | None = None,
    resource_id: str | None = None,
    partner_id: str | None = None,
) -> dict[str, Any]:
    """The column values of one outbox event, for a caller that inserts it itself."""
    return {
        "type": event_type,
        "booking_id": booking_id,
        "resource_id": resource_id,
        "partner_id": partner_id,
        "payload": payload,
        "created_at": now,
    }
