"""HTTP surface of bookings and the approval queue."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from scheduler import metrics
from scheduler.auth.tokens import Principal
from scheduler.bookings import schemas
from scheduler.bookings.lifecycle import BookingLifecycle
from scheduler.bookings.queries import BookingQueries
from scheduler.bookings.series import SeriesService
from scheduler.bookings.series_ops import SeriesOperations
from scheduler.bookings.services import BookingService
from scheduler.bookings.views import view_one, views
from scheduler.core.refusals import FAMILIES, PersonFacts, TimingFacts
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.idempotency.services import run_idempotent
from scheduler.openapi import problems
from scheduler.partners.schemas import ZoneKey
from scheduler.schemas import IfMatch, Limit, Offset, Page
from scheduler.timeparams import FromParam, ToParam
from scheduler.versioning import etag

IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        description="Retry-safe key (1-200 characters); see docs/bookings.md",
    ),
]
DryRun = Annotated[bool, QueryParameter(description="Run every check, write nothing")]
Statuses = Annotated[list[schemas.BookingStatus] | None, QueryParameter(name="status")]


async def _respond(
    session: Any, booking: Any, caller: Principal, status_code: int = 200
) -> Response[schemas.Booking]:
    body = await view_one(session, booking, caller)
    return Response(body, status_code=status_code, headers={"ETag": etag(body.version)})


class BookingController(Controller):
    path = "/api/v1/bookings"
    tags = ["Bookings"]

    @post(
        "/",
        operation_id="createBooking",
        status_code=201,
        responses={
            200: ResponseSpec(
                data_container=schemas.BookingPreview, description="Dry run: what would happen"
            ),
            202: ResponseSpec(
                data_container=schemas.Booking,
                description="A lottery entry (before a lottery release) or a waitlist place",
            ),
            **problems(403, 404, 409, refusals=FAMILIES),
        },
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[schemas.BookingCreate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        dry_run: DryRun = False,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[schemas.Booking]:
        """Book a resource (or, with `dry_run=true`, check every rule and write nothing)."""
        service = BookingService(db_session)
        if dry_run:
            return Response(await service.preview(data, principal, now), status_code=200)  # type: ignore[arg-type]

        async def work() -> tuple[int, schemas.Booking]:
            booking = await view_one(
                db_session, await service.create(data, principal, now), principal
            )
            metrics.count_booking(booking.status)
            return (202 if booking.status in ("entered", "waitlisted") else 201), booking

        outcome = await run_idempotent(
            db_session,
            owner=principal.sub,
            key=idempotency_key,
            path=request.url.path,
            payload=msgspec.json.encode(data),
            now=now,
            work=work,
        )
        headers = {"ETag": etag(outcome.body["version"])}
        if outcome.replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(outcome.body, status_code=outcome.status_code, headers=headers)

    @post(
        "/series",
        operation_id="createBookingSeries",
        status_code=201,
        responses=problems(403, 404, 409),
    )
    async def create_series(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[schemas.SeriesCreate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        dry_run: DryRun = False,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[schemas.Series]:
        """Book a series (every night of December; every Tuesday for 8 weeks), all-or-nothing
        or best-effort, with a result per occurrence. `dry_run=true` writes nothing (200)."""
        if dry_run:
            return Response(
                await SeriesService(db_session).preview(data, principal, now), status_code=200
            )

        async def work() -> tuple[int, schemas.Series]:
            return 201, metrics.count_series(
                await SeriesService(db_session).create(data, principal, now)
            )

        outcome = await run_idempotent(
            db_session,
            owner=principal.sub,
            key=idempotency_key,
            path=request.url.path,
            payload=msgspec.json.encode(data),
            now=now,
            work=work,
        )
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
        return Response(outcome.body, status_code=outcome.status_code, headers=headers)

    @post(
        "/series/{series_id:str}/cancel",
        operation_id="cancelBookingSeries",
        status_code=200,
        responses=problems(404),
    )
    async def cancel_series(
        self,
        series_id: FromPath[str],
        data: JSONBody[schemas.SeriesCancel],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> schemas.BatchResult:
        """Cancel the series' bookings from a local date on (the rest of the month), with a
        result per booking; capacity is given back at once."""
        return await SeriesOperations(db_session).cancel_from(series_id, data, principal, now)

    @get("/", operation_id="listBookings", responses=problems())
    async def list_bookings(
        self,
        db_session: DbSession,
        principal: Caller,
        statuses: Statuses = None,
        resource_id: FromQuery[str | None] = None,
        partner_id: FromQuery[str | None] = None,
        zone: FromQuery[ZoneKey | None] = None,
        series_id: FromQuery[str | None] = None,
        start: FromParam = None,
        end: ToParam = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[schemas.Booking]:
        """Bookings you may see: residents their own, partners their resources', staff all."""
        rows, total = await BookingQueries(db_session).bookings_for(
            principal,
            statuses=statuses or [],
            resource_id=resource_id,
            partner_id=partner_id,
            zone=zone,
            start_text=start,
            end_text=end,
            limit=limit,
            offset=offset,
            series_id=series_id,
        )
        return Page(
            items=await views(db_session, rows, principal), total=total, limit=limit, offset=offset
        )

    @get("/{booking_id:str}", operation_id="getBooking", responses=problems(404))
    async def get_booking(
        self, booking_id: FromPath[str], db_session: DbSession, principal: Caller
    ) -> Response[schemas.Booking]:
        """One booking (404 if it is not yours to see)."""
        return await _respond(
            db_session, await BookingService(db_session).visible(booking_id, principal), principal
        )

    @get("/{booking_id:str}/history", operation_id="getBookingHistory", responses=problems(404))
    async def history(
        self, booking_id: FromPath[str], db_session: DbSession, principal: Caller
    ) -> list[schemas.HistoryEntry]:
        """Every change of a booking: who, when, from which status to which, and why."""
        return await BookingQueries(db_session).history(booking_id, principal)

    @post(
        "/{booking_id:str}/approve",
        operation_id="approveBooking",
        status_code=200,
        responses=problems(403, 404, 409, 412, transition=True),
    )
    async def approve(
        self,
        booking_id: FromPath[str],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        data: JSONBody[schemas.Decision | None] = None,
        if_match: IfMatch = None,
    ) -> Response[schemas.Booking]:
        """Confirm a pending booking (staff; the resource's partner where its policy allows)."""
        note = data.note if data else None
        return await _respond(
            db_session,
            await BookingLifecycle(db_session).decide(
                booking_id, "approve", principal, note, if_match, now
            ),
            principal,
        )

    @post(
        "/{booking_id:str}/reject",
        operation_id="rejectBooking",
        status_code=200,
        responses=problems(403, 404, 409, 412, transition=True),
    )
    async def reject(
        self,
        booking_id: FromPath[str],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        data: JSONBody[schemas.ReasonBody | None] = None,
        if_match: IfMatch = None,
    ) -> Response[schemas.Booking]:
        """Reject a pending booking; its capacity is given back."""
        reason = data.reason if data else None
        return await _respond(
            db_session,
            await BookingLifecycle(db_session).decide(
                booking_id, "reject", principal, reason, if_match, now
            ),
            principal,
        )

    @post(
        "/{booking_id:str}/cancel",
        operation_id="cancelBooking",
        status_code=200,
        responses=problems(404, 409, 412, refusals=[TimingFacts], transition=True),
    )
    async def cancel(
        self,
        booking_id: FromPath[str],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        data: JSONBody[schemas.ReasonBody | None] = None,
        if_match: IfMatch = None,
    ) -> Response[schemas.Booking]:
        """Cancel: the holder before the policy's deadline, the partner and staff at any time."""
        reason = data.reason if data else None
        return await _respond(
            db_session,
            await BookingLifecycle(db_session).cancel(booking_id, principal, reason, if_match, now),
            principal,
        )

    @post(
        "/{booking_id:str}/accept",
        operation_id="acceptOffer",
        status_code=200,
        responses=problems(403, 404, 409, 412, refusals=[PersonFacts], transition=True),
    )
    async def accept(
        self,
        booking_id: FromPath[str],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        if_match: IfMatch = None,
    ) -> Response[schemas.Booking]:
        """Take up a waitlist offer before `offer_expires_at` (refused `suspended` or
        `not_eligible` if the holder may no longer book here)."""
        return await _respond(
            db_session,
            await BookingLifecycle(db_session).accept(booking_id, principal, if_match, now),
            principal,
        )

    @post(
        "/{booking_id:str}/check-in",
        operation_id="checkInBooking",
        status_code=200,
        responses=problems(404, 409, 412, refusals=[TimingFacts], transition=True),
    )
    async def check_in(
        self,
        booking_id: FromPath[str],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        if_match: IfMatch = None,
    ) -> Response[schemas.Booking]:
        """Check in at the gate: the holder around the start, the partner or staff until the end."""
        return await _respond(
            db_session,
            await BookingLifecycle(db_session).check_in(booking_id, principal, if_match, now),
            principal,
        )

    @post(
        "/{booking_id:str}/excuse",
        operation_id="excuseNoShow",
        status_code=200,
        responses=problems(403, 404, 409, 412, transition=True),
    )
    async def excuse(
        self,
        booking_id: FromPath[str],
        data: JSONBody[schemas.ExcuseBody],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        if_match: IfMatch = None,
    ) -> Response[schemas.Booking]:
        """Excuse a no-show (staff, the resource's partner): it stops counting toward
        suspensions, and a suspension it caused is lifted if the rest stay under the limit."""
        return await _respond(
            db_session,
            await BookingLifecycle(db_session).excuse(
                booking_id, principal, data.reason, if_match, now
            ),
            principal,
        )


class ApprovalController(Controller):
    path = "/api/v1/approvals"
    tags = ["Bookings"]

    @get("/", operation_id="listApprovals", responses=problems(403))
    async def queue(
        self,
        db_session: DbSession,
        principal: Caller,
        state: State,
        zone: FromQuery[ZoneKey | None] = None,
        partner_id: FromQuery[str | None] = None,
        resource_id: FromQuery[str | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[schemas.Booking]:
        """Pending bookings, oldest first (staff: all; partners: their resources)."""
        rows, total = await BookingQueries(db_session).approvals(
            principal,
            zone=zone,
            partner_id=partner_id,
            resource_id=resource_id,
            limit=limit,
            offset=offset,
        )
        return Page(
            items=await views(db_session, rows, principal), total=total, limit=limit, offset=offset
        )

    @post(
        "/batch",
        operation_id="decideBookings",
        status_code=200,
        responses=problems(403, 404),
    )
    async def batch(
        self,
        data: JSONBody[schemas.BatchDecision],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> schemas.BatchResult:
        """Approve or reject a whole series (its pending bookings) or the bookings named, with
        a result per booking; one refused booking does not stop the others."""
        return await SeriesOperations(db_session).decide(data, principal, now)
