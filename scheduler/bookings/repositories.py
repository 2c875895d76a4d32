"""Every query about bookings, their history and the capacity ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import ACTIVE, Booking, BookingEvent, SlotHolding, UnitHolding
from scheduler.db.catalogue import Partner, Resource, User
from scheduler.db.statements import dialect_of, insert_ignoring_conflicts


class BookingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, booking_id: str) -> Booking | None:
        return await self.session.get(Booking, booking_id)

    async def get_for_update(self, booking_id: str) -> Booking | None:
        """The booking, row-locked until commit so concurrent transitions serialize."""
        query = select(Booking).where(Booking.id == booking_id).with_for_update()
        return (await self.session.scalars(query.execution_options(populate_existing=True))).first()

    def add(self, booking: Booking) -> None:
        self.session.add(booking)

    def record(self, event: BookingEvent) -> None:
        self.session.add(event)

    async def history(self, booking_id: str) -> list[BookingEvent]:
        query = select(BookingEvent).where(BookingEvent.booking_id == booking_id)
        return list(await self.session.scalars(query.order_by(BookingEvent.at, BookingEvent.id)))

    async def lock_holder(self, holder_id: str) -> None:
        """Serialize one person's bookings (quota checks) with a row lock on their user record."""
        if dialect_of(self.session) == "postgresql":
            await self.session.execute(
                select(User.id).where(User.id == holder_id).with_for_update()
            )

    async def counted_between(
        self, resource_id: str, holder_id: str, start: datetime, end: datetime
    ) -> list[Booking]:
        """The holder's bookings that quotas count: active ones and lottery entries."""
        query = select(Booking).where(
            Booking.resource_id == resource_id,
            Booking.holder_id == holder_id,
            Booking.status.in_((*ACTIVE, "entered")),
            Booking.starts_at < end,
            Booking.ends_at > start,
        )
        return list(await self.session.scalars(query))

    async def holder_waiting(self, resource_id: str, holder_id: str, span: TimeRange) -> bool:
        """Whether the holder already has an entry or waitlist place overlapping ``span``."""
        query = select(Booking.id).where(
            Booking.resource_id == resource_id,
            Booking.holder_id == holder_id,
            Booking.status.in_(("entered", "waitlisted")),
            Booking.starts_at < span.end,
            Booking.ends_at > span.start,
        )
        return (await self.session.scalars(query.limit(1))).first() is not None

    async def active_overlapping(
        self, resource_id: str, start: datetime, end: datetime
    ) -> list[Booking]:
        query = select(Booking).where(
            Booking.resource_id == resource_id,
            Booking.status.in_(ACTIVE),
            Booking.starts_at < end,
            Booking.ends_at > start,
        )
        return list(await self.session.scalars(query.order_by(Booking.starts_at, Booking.id)))

    async def has_active_after(self, resource_id: str, moment: datetime) -> bool:
        query = select(Booking.id).where(
            Booking.resource_id == resource_id, Booking.status.in_(ACTIVE), Booking.ends_at > moment
        )
        return (await self.session.scalars(query.limit(1))).first() is not None

    def listing(
        self,
        *,
        holder_id: str | None,
        partner_id: str | None,
        resource_id: str | None,
        zone: str | None,
        statuses: Sequence[str],
        start: datetime | None,
        end: datetime | None,
    ) -> Select[Booking]:
        query = select(Booking).join(Resource, Resource.id == Booking.resource_id)
        if zone:
            query = query.join(Partner, Partner.id == Resource.partner_id).where(
                Partner.zone == zone
            )
        if holder_id:
            query = query.where(Booking.holder_id == holder_id)
        if partner_id:
            query = query.where(Resource.partner_id == partner_id)
        if resource_id:
            query = query.where(Booking.resource_id == resource_id)
        if statuses:
            query = query.where(Booking.status.in_(statuses))
        if start:
            query = query.where(Booking.ends_at > start)
        if end:
            query = query.where(Booking.starts_at < end)
        return query

    async def page(
        self, query: Select[Booking], order: Sequence[object], limit: int, offset: int
    ) -> tuple[list[Booking], int]:
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(query.order_by(*order).limit(limit).offset(offset))  # type: ignore[arg-type]
        return list(rows), int(total or 0)


class HoldingRepository:
    """The capacity ledger: the only place where capacity is taken and given back."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def held(self, resource_id: str, start: datetime, end: datetime) -> dict[datetime, int]:
        query = select(SlotHolding.slot_start, SlotHolding.held).where(
            SlotHolding.resource_id == resource_id,
            SlotHolding.slot_start >= start,
            SlotHolding.slot_start < end,
            SlotHolding.held > 0,
        )
        return {row.slot_start: row.held for row in await self.session.execute(query)}

    async def acquire(
        self, resource_id: str, slots: Sequence[tuple[datetime, int]], quantity: int
    ) -> list[datetime]:
        """Take ``quantity`` in every ``(slot_start, capacity)``, or in none of them; returns the
        slot starts that had no room. The conditional UPDATE row-locks the ledger rows (in
        slot order, so overlapping bookings queue instead of deadlocking) and only increments
        rows with room; on a partial failure the increments made are given back."""
        await insert_ignoring_conflicts(
            self.session,
            SlotHolding.__table__,  # type: ignore[arg-type]
            [
                {"resource_id": resource_id, "slot_start": start, "held": 0, "capacity": cap}
                for start, cap in slots
            ],
        )
        if len(slots) > 1 and dialect_of(self.session) == "postgresql":
            await self.session.execute(
                select(SlotHolding.slot_start)
                .where(
                    SlotHolding.resource_id == resource_id,
                    SlotHolding.slot_start.in_([s for s, _ in slots]),
                )
                .order_by(SlotHolding.slot_start)
                .with_for_update()
            )
        granted: set[datetime] = set()
        by_capacity: dict[int, list[datetime]] = {}
        for start, capacity in slots:
            by_capacity.setdefault(capacity, []).append(start)
        for capacity, starts in sorted(by_capacity.items()):
            statement = (
                update(SlotHolding)
                .where(
                    SlotHolding.resource_id == resource_id,
                    SlotHolding.slot_start.in_(starts),
                    SlotHolding.held + quantity <= capacity,
                )
                .values(held=SlotHolding.held + quantity, capacity=capacity)
                .returning(SlotHolding.slot_start)
                .execution_options(synchronize_session=False)
            )
            granted.update(await self.session.scalars(statement))
        missing = [start for start, _ in slots if start not in granted]
        if missing and granted:
            await self._give_back(resource_id, list(granted), quantity)
        return missing

    async def release(
        self, resource_id: str, starts: Sequence[datetime], quantity: int, booking_id: str
    ) -> None:
        await self._give_back(resource_id, starts, quantity)
        await self.session.execute(delete(UnitHolding).where(UnitHolding.booking_id == booking_id))

    async def _give_back(self, resource_id: str, starts: Sequence[datetime], quantity: int) -> None:
        await self.session.execute(
            update(SlotHolding)
            .where(SlotHolding.resource_id == resource_id, SlotHolding.slot_start.in_(starts))
            .values(held=SlotHolding.held - quantity)
            .execution_options(synchronize_session=False)
        )

    async def taken_units(self, resource_id: str, starts: Sequence[datetime]) -> set[str]:
        query = select(UnitHolding.unit).where(
            UnitHolding.resource_id == resource_id, UnitHolding.slot_start.in_(starts)
        )
        return set(await self.session.scalars(query))

    async def hold_unit(
        self, resource_id: str, unit: str, starts: Sequence[datetime], booking_id: str
    ) -> None:
        self.session.add_all(
            UnitHolding(resource_id=resource_id, unit=unit, slot_start=start, booking_id=booking_id)
            for start in starts
        )
        await self.session.flush()
