"""Every query about bookings, their history and lottery draws (capacity: ``scheduler.ledger``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, func, insert, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from scheduler.availability.facts import calendar_version, resource_version
from scheduler.core.people import PersonUsage
from scheduler.core.people import Suspension as PersonSuspension
from scheduler.core.timerange import TimeRange
from scheduler.db.bookings import ACTIVE, Booking, BookingEvent, Draw, OutboxEvent
from scheduler.db.catalogue import Partner, Resource, ResourceGroupMember, User
from scheduler.db.people import Suspension
from scheduler.db.statements import dialect_of, insert_ignoring_conflicts

WAITING = ("entered", "waitlisted")
BOOKING_COLUMNS = tuple(attr.key for attr in sa_inspect(Booking).column_attrs)
_NEW_BOOKING_TABLES: tuple[Any, Any, Any] = (
    Booking.__table__,
    BookingEvent.__table__,
    OutboxEvent.__table__,
)
HISTORY_COLUMNS = ("booking_id", "at", "actor", "from_status", "to_status", "reason")
OUTBOX_COLUMNS = ("type", "booking_id", "resource_id", "partner_id", "payload", "created_at")


@cache
def _holder_facts_statement(postgres: bool) -> Select[Any]:
    """The statement of ``holder_facts``, built once per dialect (constructing it was a
    visible share of a booking's CPU): parameters ``holder_id``, ``resource_id``,
    ``span_start``, ``span_end`` and ``now``."""
    holder_id: BindParameter[str] = bindparam("holder_id")
    resource_id: BindParameter[str] = bindparam("resource_id")
    overlapping = (
        Booking.holder_id == holder_id,
        Booking.resource_id == resource_id,
        Booking.starts_at < bindparam("span_end"),
        Booking.ends_at > bindparam("span_start"),
    )
    holding = select(func.count()).where(*overlapping, Booking.status.in_(ACTIVE))
    waiting = select(func.count()).where(*overlapping, Booking.status.in_(WAITING))
    places = select(func.coalesce(func.sum(Booking.quantity), 0)).where(
        *overlapping, Booking.status.in_((*ACTIVE, *WAITING))
    )
    grouped = select(func.count()).where(ResourceGroupMember.resource_id == resource_id)
    query = (
        select(
            holding.scalar_subquery(),
            waiting.scalar_subquery(),
            places.scalar_subquery(),
            grouped.scalar_subquery(),
            Suspension.scope,
            Suspension.scope_id,
            Suspension.until,
            resource_version(resource_id),
            calendar_version(),
        )
        .select_from(User)
        .outerjoin(
            Suspension,
            (Suspension.user_id == User.id)
            & Suspension.lifted_at.is_(None)
            & (Suspension.until > bindparam("now")),
        )
        .where(User.id == holder_id)
    )
    return query.with_for_update(of=User) if postgres else query


@cache
def _new_booking_statement() -> Any:
    """The booking, its history entry and its outbox event as one PostgreSQL statement
    (data-modifying CTEs), built once: parameters ``b_*``, ``e_*`` and ``o_*``."""
    bookings, events, outbox_events = _NEW_BOOKING_TABLES

    def inserting(table: Any, prefix: str, columns: Sequence[str]) -> Any:
        return insert(table).values(
            {name: bindparam(prefix + name, type_=table.c[name].type) for name in columns}
        )

    booking = inserting(bookings, "b_", BOOKING_COLUMNS).returning(bookings.c.id)
    history = inserting(events, "e_", HISTORY_COLUMNS).returning(events.c.id)
    return (
        inserting(outbox_events, "o_", OUTBOX_COLUMNS)
        .add_cte(booking.cte("new_booking"))
        .add_cte(history.cte("new_history"))
    )


@dataclass(frozen=True, slots=True)
class HolderFacts:
    person: PersonUsage
    suspensions: tuple[PersonSuspension, ...]
    in_group: bool
    # (resources.facts_version, calendar_version) read in the same statement, None when the
    # holder has no row (the caller then reads them on their own).
    versions: tuple[int | None, int | None] | None = None


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

    async def insert_new(
        self, booking: Booking, history: dict[str, Any], outbox: dict[str, Any]
    ) -> None:
        """Insert a new booking, its first history entry and its outbox event without the
        ORM's unit of work (the booking hot path): one statement on PostgreSQL (data-modifying
        CTEs), three on SQLite. The booking then joins the session as if it had been loaded,
        so later changes to it in the transaction flush as updates."""
        await self.session.flush()  # rows the booking refers to (a holder recorded just now)
        values = {key: getattr(booking, key) for key in BOOKING_COLUMNS}
        for key, value in values.items():
            setattr(booking, key, value)  # every column loaded: nothing left to lazy-load
        history = {"booking_id": booking.id, **history}
        if dialect_of(self.session) == "postgresql":
            parameters = {f"b_{key}": value for key, value in values.items()}
            parameters |= {f"e_{key}": history[key] for key in HISTORY_COLUMNS}
            parameters |= {f"o_{key}": outbox[key] for key in OUTBOX_COLUMNS}
            await self.session.execute(_new_booking_statement(), parameters)
        else:
            bookings, events, outbox_events = _NEW_BOOKING_TABLES
            for table, row in ((bookings, values), (events, history), (outbox_events, outbox)):
                await self.session.execute(insert(table), row)
        make_transient_to_detached(booking)
        self.session.add(booking)

    async def history(self, booking_id: str) -> list[BookingEvent]:
        query = select(BookingEvent).where(BookingEvent.booking_id == booking_id)
        return list(await self.session.scalars(query.order_by(BookingEvent.at, BookingEvent.id)))

    async def holder_facts(
        self, holder_id: str, resource_id: str, span: TimeRange, now: datetime
    ) -> HolderFacts:
        """In one statement: what the holder already has on the resource overlapping ``span``,
        their running suspensions, whether the resource is in a group, and the versions of
        the cached facts (``scheduler.availability.facts``). On PostgreSQL it
        also row-locks the holder's user record until commit, so one person's concurrent
        requests are decided one after the other (per-person rules, quotas, entries); SQLite
        serializes every writing transaction anyway."""
        query = _holder_facts_statement(dialect_of(self.session) == "postgresql")
        parameters = {
            "holder_id": holder_id,
            "resource_id": resource_id,
            "span_start": span.start,
            "span_end": span.end,
            "now": now,
        }
        rows = list(await self.session.execute(query, parameters))
        first = rows[0] if rows else (0, 0, 0, 0, None, None, None, None, None)
        return HolderFacts(
            PersonUsage(int(first[0]), int(first[1]), int(first[2])),
            tuple(PersonSuspension(row[4], row[5], row[6]) for row in rows if row[4] is not None),
            in_group=bool(first[3]),
            versions=(first[7], first[8]) if rows else None,
        )

    async def live_overlapping(
        self, resource_id: str, start: datetime, end: datetime
    ) -> list[Booking]:
        """The resource's bookings overlapping ``[start, end)`` that still claim their slot:
        holding capacity (active) or waiting for it (entries and waitlist places)."""
        query = select(Booking).where(
            Booking.resource_id == resource_id,
            Booking.status.in_((*ACTIVE, *WAITING)),
            Booking.starts_at < end,
            Booking.ends_at > start,
        )
        return list(await self.session.scalars(query.order_by(Booking.starts_at, Booking.id)))

    async def counted_between(
        self, resource_id: str, holder_id: str, start: datetime, end: datetime
    ) -> list[Booking]:
        """The holder's bookings that quotas count: active ones, lottery entries and waitlist
        places (each could become a booking)."""
        query = select(Booking).where(
            Booking.resource_id == resource_id,
            Booking.holder_id == holder_id,
            Booking.status.in_((*ACTIVE, *WAITING)),
            Booking.starts_at < end,
            Booking.ends_at > start,
        )
        return list(await self.session.scalars(query))

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
        communities: Sequence[str] | None = None,
    ) -> Select[Booking]:
        """Bookings matching every given filter; ``communities`` keeps those whose holder
        lives in one of them now (a neighbourhood worker's view)."""
        query = select(Booking).join(Resource, Resource.id == Booking.resource_id)
        if communities is not None:
            query = query.join(User, User.id == Booking.holder_id).where(
                User.community.in_(list(communities))
            )
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


class DrawRepository:
    """Queries of the lottery draws as they are made (the public record: ``release``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(
        self, draw_id: str, resource_id: str, release_at: datetime, now: datetime, seed: str
    ) -> bool:
        """Insert the draw row; False if this release was already drawn. The unique key
        (resource, release instant) makes each draw happen exactly once, whichever replica
        or request gets there first; a concurrent claim waits for the first to commit."""
        row = {
            "id": draw_id,
            "resource_id": resource_id,
            "release_at": release_at,
            "drawn_at": now,
            "seed": seed,
            "entries": [],
            "winners": [],
        }
        return await insert_ignoring_conflicts(self.session, Draw.__table__, [row]) == 1  # type: ignore[arg-type]

    async def record(
        self, draw_id: str, entries: list[str], winners: list[str], withdrawn: list[str]
    ) -> None:
        await self.session.execute(
            update(Draw)
            .where(Draw.id == draw_id)
            .values(entries=entries, winners=winners, withdrawn=withdrawn)
            .execution_options(synchronize_session=False)
        )

    async def due(
        self, now: datetime, resource_id: str | None = None
    ) -> list[tuple[str, datetime]]:
        """(resource, release instant) pairs with undrawn entries whose release has come."""
        query = select(Booking.resource_id, Booking.draw_at).where(
            Booking.status == "entered", Booking.draw_at.is_not(None), Booking.draw_at <= now
        )
        if resource_id is not None:
            query = query.where(Booking.resource_id == resource_id)
        rows = await self.session.execute(query.distinct().order_by(Booking.draw_at))
        return [(row[0], row[1]) for row in rows if row[1] is not None]

    async def entries(self, resource_id: str, release_at: datetime) -> list[Booking]:
        query = (
            select(Booking)
            .where(
                Booking.resource_id == resource_id,
                Booking.status == "entered",
                Booking.draw_at == release_at,
            )
            .order_by(Booking.id)
            .with_for_update()
        )
        return list(await self.session.scalars(query))

    async def upcoming(self, now: datetime, until: datetime) -> list[tuple[str, datetime]]:
        """(resource, release instant) pairs with entries waiting for a draw before ``until``."""
        query = select(Booking.resource_id, Booking.draw_at).where(
            Booking.status == "entered", Booking.draw_at > now, Booking.draw_at <= until
        )
        rows = await self.session.execute(query.distinct())
        return [(row[0], row[1]) for row in rows if row[1] is not None]
