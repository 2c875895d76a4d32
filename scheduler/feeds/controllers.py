"""HTTP surface of calendar feeds (iCalendar, RFC 5545)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, JSONBody, Parameter

from scheduler.auth.middleware import MANAGERS, PUBLIC, STAFF
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.errors import NotFound
from scheduler.feeds import schemas
from scheduler.feeds.services import FeedService
from scheduler.openapi import problems
from scheduler.ratelimit import BY_PATH_CREDENTIAL, charge_client_address
from scheduler.timeparams import FromParam, ToParam

# Litestar adds "; charset=utf-8" to text/* types itself.
CALENDAR_MEDIA_TYPE = "text/calendar"
FeedTokenPath = Annotated[
    str,
    Parameter(
        description="The feed token; `.ics` may follow it (the URL calendar apps subscribe to)",
        max_length=80,
    ),
]
EXAMPLE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n…\r\nBEGIN:VEVENT\r\n"
    "SUMMARY:篮球场 Court 2 — 上南中学\r\n"
    "DTSTART;TZID=Asia/Shanghai:20261201T180000\r\n"
    "UID:bkg_…@zhoujiadu-scheduler\r\nSEQUENCE:2\r\nSTATUS:CONFIRMED\r\n…\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def _calendar_responses(*statuses: int, public: bool = False) -> dict[int, ResponseSpec]:
    """A documented iCalendar 200 plus the problems; a public route never answers 401."""
    documented = problems(*statuses)
    if public:
        documented.pop(401)
    calendar = ResponseSpec(
        data_container=str,
        generate_examples=False,
        description="An iCalendar (RFC 5545) document, UTF-8",
        media_type=CALENDAR_MEDIA_TYPE,
        examples=[Example(summary="One booking", value=EXAMPLE)],
    )
    return {200: calendar, **documented}


def _calendar(body: bytes) -> Response[bytes]:
    return Response(body, media_type=CALENDAR_MEDIA_TYPE)


class FeedController(Controller):
    tags = ["Calendar feeds"]

    @post("/api/v1/feeds", operation_id="createFeedToken", responses=problems())
    async def issue_feed_token(
        self,
        db_session: DbSession,
        state: State,
        now: Now,
        principal: Caller,
        data: JSONBody[schemas.FeedTokenCreate | None] = None,
    ) -> schemas.FeedToken:
        """Issue a secret feed URL for your own bookings. Shown once (only a hash is stored);
        revoke it when leaked. The optional body sets `expires_in_days`."""
        service = FeedService(db_session)
        return await service.issue(principal, state.settings.public_url, now, data)

    @delete(
        "/api/v1/users/{sub:str}/feeds",
        operation_id="revokeUserFeeds",
        guards=[STAFF],
        status_code=200,
        responses=problems(403),
    )
    async def revoke_user_feeds(
        self, sub: FromPath[str], db_session: DbSession, now: Now, principal: Caller
    ) -> schemas.FeedsRevoked:
        """Staff: revoke every feed URL of a person at once; each answers 404 from now on."""
        return await FeedService(db_session).revoke_all(sub, now)

    @get(
        "/api/v1/feeds/{feed_token:str}",
        operation_id="getFeed",
        opt={**PUBLIC, BY_PATH_CREDENTIAL: "feed_token"},
        security=[{}],
        media_type=CALENDAR_MEDIA_TYPE,
        responses=_calendar_responses(404, public=True),
    )
    async def get_feed(
        self,
        feed_token: FromPath[FeedTokenPath],
        db_session: DbSession,
        now: Now,
        request: Request[Any, Any, Any],
    ) -> Response[bytes]:
        """A personal iCalendar feed (no bearer token: the URL is the secret). Bookings from
        30 days ago to 180 days ahead, cancelled ones included as `STATUS:CANCELLED`.
        Rate limited per feed token; an unknown token also counts against the address."""
        try:
            body = await FeedService(db_session).personal_calendar(feed_token, now)
        except NotFound:
            await charge_client_address(request)
            raise
        return _calendar(body)

    @delete(
        "/api/v1/feeds/{feed_token:str}", operation_id="revokeFeedToken", responses=problems(404)
    )
    async def revoke_feed_token(
        self,
        feed_token: FromPath[FeedTokenPath],
        db_session: DbSession,
        now: Now,
        principal: Caller,
    ) -> None:
        """Revoke one of your feed tokens; its URL answers 404 from now on."""
        await FeedService(db_session).revoke(feed_token, principal, now)

    @get(
        "/api/v1/resources/{resource_id:str}/calendar.ics",
        operation_id="getResourceCalendar",
        guards=[MANAGERS],
        media_type=CALENDAR_MEDIA_TYPE,
        responses=_calendar_responses(403, 404),
    )
    async def get_resource_calendar(
        self,
        resource_id: FromPath[str],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        start: FromParam = None,
        end: ToParam = None,
    ) -> Response[bytes]:
        """The resource's bookings with holder names, as iCalendar (its partner, staff, admin).
        Default span: 30 days back to 180 days ahead; `from`/`to` narrow it (at most 366 days)."""
        body = await FeedService(db_session).resource_calendar(
            resource_id, principal, start, end, now
        )
        return _calendar(body)
