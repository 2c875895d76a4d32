"""HTTP surface of webhooks: endpoints and their delivery log (partners, staff, admins)."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody

from scheduler.auth.middleware import MANAGERS
from scheduler.dependencies import Caller, DbSession, Now
from scheduler.openapi import problems
from scheduler.schemas import Limit, Offset, Page
from scheduler.webhooks import schemas
from scheduler.webhooks.services import WebhookService, to_created, to_schema


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ["Webhooks"]
    guards = [MANAGERS]

    @post("/", operation_id="createWebhook", responses=problems(403))
    async def create(
        self,
        data: JSONBody[schemas.WebhookCreate],
        db_session: DbSession,
        now: Now,
        principal: Caller,
        state: State,
    ) -> Response[schemas.WebhookCreated]:
        """Register an endpoint; the answer holds its signing `secret`, shown only this once.
        A URL on a non-public address, or one endpoint too many, is refused with 422."""
        service = WebhookService(db_session)
        endpoint = await service.register(data, principal, now, state.settings)
        return Response(to_created(endpoint), status_code=201)

    @get("/", operation_id="listWebhooks", responses=problems(403))
    async def list_webhooks(
        self, db_session: DbSession, principal: Caller, limit: Limit = 50, offset: Offset = 0
    ) -> Page[schemas.Webhook]:
        """Your partner unit's endpoints (staff: every endpoint), oldest first."""
        rows, total = await WebhookService(db_session).visible(principal, limit, offset)
        return Page(items=[to_schema(row) for row in rows], total=total, limit=limit, offset=offset)

    @get("/{webhook_id:str}", operation_id="getWebhook", responses=problems(403, 404))
    async def get_webhook(
        self, webhook_id: FromPath[str], db_session: DbSession, principal: Caller
    ) -> schemas.Webhook:
        """One endpoint (without its secret)."""
        return to_schema(await WebhookService(db_session).get(webhook_id, principal))

    @delete("/{webhook_id:str}", operation_id="deleteWebhook", responses=problems(403, 404))
    async def delete_webhook(
        self, webhook_id: FromPath[str], db_session: DbSession, principal: Caller
    ) -> None:
        """Remove an endpoint: nothing more is sent to it, and its delivery log goes too."""
        await WebhookService(db_session).delete(webhook_id, principal)

    @post("/{webhook_id:str}/enable", operation_id="enableWebhook", responses=problems(403, 404))
    async def enable_webhook(
        self, webhook_id: FromPath[str], db_session: DbSession, principal: Caller
    ) -> Response[schemas.Webhook]:
        """Send to an endpoint again after it was disabled for failing (or any time: no-op)."""
        endpoint = await WebhookService(db_session).enable(webhook_id, principal)
        return Response(to_schema(endpoint), status_code=200)

    @post("/{webhook_id:str}/disable", operation_id="disableWebhook", responses=problems(403, 404))
    async def disable_webhook(
        self, webhook_id: FromPath[str], db_session: DbSession, now: Now, principal: Caller
    ) -> Response[schemas.Webhook]:
        """Stop sending to an endpoint without deleting it; its pending deliveries wait until
        it is enabled again, and events meanwhile are not queued for it."""
        endpoint = await WebhookService(db_session).disable(webhook_id, principal, now)
        return Response(to_schema(endpoint), status_code=200)

    @get(
        "/{webhook_id:str}/deliveries",
        operation_id="listWebhookDeliveries",
        responses=problems(403, 404),
    )
    async def list_deliveries(
        self,
        webhook_id: FromPath[str],
        db_session: DbSession,
        principal: Caller,
        status: FromQuery[schemas.DeliveryStatus | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[schemas.Delivery]:
        """The endpoint's deliveries, newest first, each with all its attempts."""
        items, total = await WebhookService(db_session).delivery_log(
            webhook_id, principal, status, limit, offset
        )
        return Page(items=items, total=total, limit=limit, offset=offset)
