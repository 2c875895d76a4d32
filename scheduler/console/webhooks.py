"""Webhook endpoints: list, register with event types (the signing secret is shown once),
disable (pause) and enable again, delete; each endpoint's recent deliveries and failures.

The same ``WebhookService`` as ``/api/v1/webhooks``: staff see and manage every endpoint, a
partner its own unit's; a URL on a non-public address is refused as through the API.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from scheduler.console.auth import MANAGERS, Viewer
from scheduler.console.forms import convert
from scheduler.console.rendering import field_errors, language_of, page, problem_text
from scheduler.dependencies import DbSession, Now
from scheduler.errors import SchedulerError
from scheduler.webhooks.schemas import ALL_EVENTS, EVENT_TYPES, WebhookCreate
from scheduler.webhooks.services import WebhookService

PAGE_SIZE = 100
DELIVERY_STATUSES = ("pending", "delivered", "failed")


async def _webhooks_page(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    viewer: Viewer,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    endpoints, total = await WebhookService(db_session).visible(viewer, PAGE_SIZE, 0)
    return page(
        request,
        "webhooks.html",
        status_code=status_code,
        endpoints=endpoints,
        total=total,
        event_types=EVENT_TYPES,
        all_events=ALL_EVENTS,
        values=extra.pop("values", {"url": "", "events": []}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@get("/webhooks", opt=MANAGERS)
async def webhooks(
    request: Request[Any, Any, Any], db_session: DbSession, viewer: Viewer
) -> Template:
    return await _webhooks_page(request, db_session, viewer)


@post("/webhooks", opt=MANAGERS, status_code=200)
async def register(
    request: Request[Any, Any, Any], db_session: DbSession, now: Now, viewer: Viewer
) -> Template:
    """Register an endpoint; the answer is the only time its signing secret is shown."""
    form = await request.form()
    values = {
        "url": str(form.get("url") or "").strip(),
        "events": [str(value) for value in form.getall("events", [])][: len(EVENT_TYPES) + 1],
    }
    language = language_of(request)
    try:
        data = convert(values, WebhookCreate)
        async with db_session.begin_nested():
            endpoint = await WebhookService(db_session).register(
                data, viewer, now, request.app.state.settings
            )
    except SchedulerError as error:
        errors = field_errors(error, language) or {"url": problem_text(error, language)}
        return await _webhooks_page(
            request, db_session, viewer, error.status, values=values, errors=errors
        )
    return await _webhooks_page(request, db_session, viewer, created=endpoint)


@post("/webhooks/{webhook_id:str}/enable", opt=MANAGERS, status_code=303)
async def enable(db_session: DbSession, viewer: Viewer, webhook_id: FromPath[str]) -> Redirect:
    """Send to an endpoint again after it was disabled for failing."""
    await WebhookService(db_session).enable(webhook_id, viewer)
    return Redirect(f"/console/webhooks/{webhook_id}", status_code=303)


@post("/webhooks/{webhook_id:str}/disable", opt=MANAGERS, status_code=303)
async def disable(
    db_session: DbSession, now: Now, viewer: Viewer, webhook_id: FromPath[str]
) -> Redirect:
    """Pause an endpoint without deleting it (its pending deliveries wait)."""
    await WebhookService(db_session).disable(webhook_id, viewer, now)
    return Redirect(f"/console/webhooks/{webhook_id}", status_code=303)


@post("/webhooks/{webhook_id:str}/delete", opt=MANAGERS, status_code=303)
async def delete(db_session: DbSession, viewer: Viewer, webhook_id: FromPath[str]) -> Redirect:
    """Stop sending at once; the endpoint's delivery log goes with it."""
    await WebhookService(db_session).delete(webhook_id, viewer)
    return Redirect("/console/webhooks", status_code=303)


@get("/webhooks/{webhook_id:str}", opt=MANAGERS)
async def deliveries(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    viewer: Viewer,
    webhook_id: FromPath[str],
) -> Template:
    """The endpoint's recent deliveries, newest first, with every attempt (``status`` =
    pending, delivered or failed narrows the list)."""
    status = request.query_params.get("status")
    status = status if status in DELIVERY_STATUSES else None
    service = WebhookService(db_session)
    endpoint = await service.get(webhook_id, viewer)
    items, total = await service.delivery_log(webhook_id, viewer, status, PAGE_SIZE, 0)
    return page(
        request,
        "webhook.html",
        endpoint=endpoint,
        deliveries=items,
        total=total,
        status=status or "",
        statuses=DELIVERY_STATUSES,
    )


WEBHOOK_HANDLERS = [webhooks, register, enable, disable, delete, deliveries]
